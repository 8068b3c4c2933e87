/**
 * FileStore's artifacts: a local folder (artifacts.ts) or, when the run's experiment keeps them
 * in a bucket (`s3://…`, `gs://…`, `wasbs://…`, `abfss://…`), that bucket's repository; and the
 * run's stamp, which covers its artifacts wherever they are.
 */

import {
  copyIntoArtifacts,
  deleteArtifactPath,
  listArtifactDir,
  openArtifactFile,
  readArtifactFile,
  writeArtifactFile,
} from "../../artifacts/folder.ts";
import { isRemoteUri, openRepository } from "../../artifacts/open.ts";
import { type ArtifactRepository, putFiles, readAll } from "../../artifacts/repository.ts";
import type { ArtifactData, ArtifactStream, FileInfo, RunInfo } from "../../entities.ts";
import { collectLocalArtifacts } from "../../local-artifacts.ts";
import { artifactDirOf } from "./artifacts.ts";
import { stampFolder } from "./stamp.ts";
import type { TreeHandle } from "./tree-handle.ts";

/** How long after a search its summary of a run may be trusted for the run's artifact URI. */
const STAMP_REUSE_MS = 10_000;

function localDirOf(tree: TreeHandle, runDir: string, info: RunInfo): Promise<string> {
  const { experimentId, runId, artifactUri: uri } = info;
  return artifactDirOf(tree.root, { runDir, experimentId, runId, uri });
}

/** The local folder of a run's artifacts (artifacts.ts `artifactDirOf`). */
async function localDir(tree: TreeHandle, runId: string): Promise<string> {
  const runDir = await tree.runDir(runId);
  return localDirOf(tree, runDir, tree.runs.readMeta(runDir).info);
}

/** The run's bucket when its artifacts are kept in one, else undefined: a local folder. */
async function bucketOf(
  tree: TreeHandle,
  runId: string,
  info?: RunInfo,
): Promise<ArtifactRepository | undefined> {
  const uri = (info ?? tree.runs.readMeta(await tree.runDir(runId)).info).artifactUri;
  return isRemoteUri(uri) ? openRepository(uri) : undefined;
}

export async function logArtifact(
  tree: TreeHandle,
  runId: string,
  localPath: string,
  artifactPath?: string,
): Promise<void> {
  const { runDir, run } = await tree.activeRun(runId);
  const bucket = await bucketOf(tree, runId, run.info);
  if (bucket !== undefined) {
    await putFiles(bucket, (await collectLocalArtifacts(localPath, artifactPath)).files);
    return;
  }
  await copyIntoArtifacts(await localDirOf(tree, runDir, run.info), localPath, artifactPath);
}

export async function listArtifacts(
  tree: TreeHandle,
  runId: string,
  path?: string,
): Promise<FileInfo[]> {
  const bucket = await bucketOf(tree, runId);
  if (bucket === undefined) return listArtifactDir(await localDir(tree, runId), path);
  return bucket.list(path);
}

export async function readArtifact(
  tree: TreeHandle,
  runId: string,
  path: string,
): Promise<Uint8Array> {
  const bucket = await bucketOf(tree, runId);
  if (bucket === undefined) return readArtifactFile(await localDir(tree, runId), path);
  return readAll(bucket, path);
}

/** As MLflow's artifact proxy, whatever the run's lifecycle stage. */
export async function putArtifact(
  tree: TreeHandle,
  runId: string,
  path: string,
  data: ArtifactData,
): Promise<void> {
  const bucket = await bucketOf(tree, runId);
  if (bucket !== undefined) await bucket.put(path, data);
  else await writeArtifactFile(await localDir(tree, runId), path, data);
}

export async function openArtifact(
  tree: TreeHandle,
  runId: string,
  path: string,
): Promise<ArtifactStream> {
  const bucket = await bucketOf(tree, runId);
  if (bucket !== undefined) return bucket.get(path);
  return openArtifactFile(await localDir(tree, runId), path);
}

export async function deleteArtifact(tree: TreeHandle, runId: string, path: string): Promise<void> {
  const bucket = await bucketOf(tree, runId);
  if (bucket !== undefined) await bucket.delete(path || undefined);
  else await deleteArtifactPath(await localDir(tree, runId), path);
}

/**
 * FileStore's `runStamp`. The artifact URI comes from the summary a search just proved
 * current, when there is one, sparing a meta.yaml read per run (sync searches, then stamps
 * every run).
 */
export async function runStamp(tree: TreeHandle, runId: string): Promise<string> {
  const runDir = await tree.runDir(runId);
  const proven = tree.index.proven(runDir, STAMP_REUSE_MS);
  const info = proven?.info ?? tree.runs.readMeta(runDir).info;
  const artifacts = await localDirOf(tree, runDir, info).catch(() => runDir);
  const outside = !artifacts.startsWith(`${runDir}/`) && artifacts !== runDir;
  return outside ? `${stampFolder(runDir)}+${stampFolder(artifacts)}` : stampFolder(runDir);
}
