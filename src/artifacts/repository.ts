/**
 * Artifact repositories: where a run's files live, behind one small streaming interface. Local
 * folders, MLflow's artifact proxy, S3 (and S3-compatible stores), Google Cloud Storage and Azure
 * Blob Storage implement it; `open.ts` picks one by URI scheme.
 */

import type { ArtifactData, ArtifactStream, FileInfo } from "../entities.ts";
import type { LocalArtifactFile } from "../local-artifacts.ts";
import { eachConcurrently, partSizeFrom } from "./parts.ts";

export interface PutOptions {
  /** Called with each number of bytes sent; parts an earlier, killed upload left are not sent. */
  onProgress?: (bytes: number) => void;
}

export interface ArtifactRepository {
  /** The root URI, without credentials: safe to print. */
  readonly uri: string;
  /** The direct children of `path` (the root when absent), sorted; paths are relative to the root. */
  list(path?: string): Promise<FileInfo[]>;
  /** Writes one file; it becomes visible whole, or not at all. */
  put(path: string, data: ArtifactData, options?: PutOptions): Promise<void>;
  /** One file, streamed, with its size. A missing file is RESOURCE_DOES_NOT_EXIST. */
  get(path: string): Promise<ArtifactStream>;
  /** Removes one file, or every file under a folder (all of them when `path` is absent). */
  delete(path?: string): Promise<void>;
}

/** Where a repository finds its credentials and settings: MLflow's variables, as its client reads them. */
export type Env = Readonly<Record<string, string | undefined>>;

/** The whole of a file, for small artifacts. */
export async function readAll(repository: ArtifactRepository, path: string): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of (await repository.get(path)).stream) chunks.push(chunk);
  return new Uint8Array(Buffer.concat(chunks));
}

/**
 * Uploads local files (as `collectLocalArtifacts` lists them): small ones four at a time, large
 * ones one after another, each sending its own parts in parallel, so memory stays bounded.
 */
export async function putFiles(
  repository: ArtifactRepository,
  files: readonly LocalArtifactFile[],
): Promise<void> {
  const large = partSizeFrom(process.env);
  await eachConcurrently(
    files.filter((f) => f.size <= large),
    4,
    (f) => repository.put(f.path, { file: f.localPath }),
  );
  for (const f of files.filter((file) => file.size > large))
    await repository.put(f.path, { file: f.localPath });
}

/** `prefix/path` without doubled or leading slashes. */
export function joinKey(prefix: string, path: string | undefined): string {
  return [prefix, path ?? ""]
    .map((part) => part.replace(/^\/+|\/+$/g, ""))
    .filter((part) => part !== "")
    .join("/");
}
