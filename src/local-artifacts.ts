/**
 * What `logArtifact(runId, localPath, artifactPath)` is to write, worked out once for every store:
 * a local file lands at `<artifactPath>/<basename>`, a local directory's tree under
 * `<artifactPath>/<dirname>/` (as `MlflowClient.log_artifact` does). Every target path is
 * validated before the caller writes anything.
 */
import { readdir, realpath, stat } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { invalid, MlflowError } from "./errors.ts";
import { validateArtifactPath } from "./validation.ts";

export interface LocalArtifactFile {
  /** Target path relative to the run's artifact root, `/`-separated. */
  path: string;
  /** Absolute path of the local file to copy. */
  localPath: string;
  size: number;
}

export interface LocalArtifacts {
  /** Every file to copy, sorted by target path. */
  files: LocalArtifactFile[];
  /** Every directory to create (including empty ones), sorted, parents before children. */
  dirs: string[];
}

/** Joins artifact path parts, skipping empty ones. */
export function joinArtifactPath(...parts: (string | undefined)[]): string {
  return parts.filter((p): p is string => p !== undefined && p !== "").join("/");
}

export async function collectLocalArtifacts(
  localPath: string,
  artifactPath?: string,
): Promise<LocalArtifacts> {
  if (artifactPath !== undefined && artifactPath !== "") validateArtifactPath(artifactPath);
  const absolute = resolve(localPath);
  const info = await stat(absolute).catch((cause: unknown) => {
    throw new MlflowError(
      "INVALID_PARAMETER_VALUE",
      `Cannot log artifact '${localPath}': no such file or directory`,
      { cause },
    );
  });
  const name = basename(absolute);
  const top = joinArtifactPath(artifactPath, name);
  const result: LocalArtifacts = { files: [], dirs: [] };
  if (info.isFile()) {
    validateArtifactPath(top);
    result.files.push({ path: top, localPath: absolute, size: info.size });
    return result;
  }
  if (!info.isDirectory())
    throw invalid(`Cannot log artifact '${localPath}': not a file or directory`);
  const visited = new Set<string>();
  const walk = async (dir: string, target: string): Promise<void> => {
    const real = await realpath(dir);
    if (visited.has(real))
      throw invalid(`Cannot log artifact '${localPath}': symlink loop at '${dir}'`);
    visited.add(real);
    validateArtifactPath(target);
    result.dirs.push(target);
    const entries = (await readdir(dir)).sort();
    for (const entry of entries) {
      const child = join(dir, entry);
      const childTarget = `${target}/${entry}`;
      const childInfo = await stat(child);
      if (childInfo.isDirectory()) await walk(child, childTarget);
      else if (childInfo.isFile()) {
        validateArtifactPath(childTarget);
        result.files.push({ path: childTarget, localPath: child, size: childInfo.size });
      }
    }
    visited.delete(real);
  };
  await walk(absolute, top);
  result.files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return result;
}
