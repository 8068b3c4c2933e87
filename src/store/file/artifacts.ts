/**
 * A run's artifacts as plain files under its artifact folder. Each file is copied to a temp file
 * in the run folder, then renamed into place, so a listed artifact is always complete.
 */
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import { dirname, join } from "node:path";
import type { FileInfo } from "../../entities.ts";
import { notFound } from "../../errors.ts";
import { collectLocalArtifacts } from "../../local-artifacts.ts";
import { validateArtifactPath } from "../../validation.ts";
import { isMissing, TEMP_PREFIX } from "./atomic.ts";

function inside(artifactDir: string, path: string | undefined): string {
  if (path === undefined || path === "") return artifactDir;
  validateArtifactPath(path);
  return join(artifactDir, ...path.split("/"));
}

async function copyFileAtomic(source: string, target: string, tempDir: string): Promise<void> {
  const temp = join(tempDir, `${TEMP_PREFIX}${randomBytes(8).toString("hex")}`);
  try {
    await fs.copyFile(source, temp);
    await fs.rename(temp, target);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
}

/**
 * Copies a file to `<artifactPath>/<basename>`, or a directory to `<artifactPath>/<dirname>/`.
 * `tempDir` is the run folder: on the same filesystem, and ignored by MLflow.
 */
export async function copyIntoArtifacts(
  artifactDir: string,
  tempDir: string,
  localPath: string,
  artifactPath?: string,
): Promise<void> {
  const { files, dirs } = await collectLocalArtifacts(localPath, artifactPath);
  const target = (path: string) => join(artifactDir, ...path.split("/"));
  for (const dir of dirs) await fs.mkdir(target(dir), { recursive: true });
  for (const file of files) {
    await fs.mkdir(dirname(target(file.path)), { recursive: true });
    await copyFileAtomic(file.localPath, target(file.path), tempDir);
  }
}

export async function listArtifactDir(artifactDir: string, path?: string): Promise<FileInfo[]> {
  const folder = inside(artifactDir, path);
  let entries: import("node:fs").Dirent[];
  try {
    entries = await fs.readdir(folder, { withFileTypes: true });
  } catch (error) {
    // MLflow lists a missing folder (or a file) as empty.
    if (isMissing(error) || (error as NodeJS.ErrnoException).code === "ENOTDIR") return [];
    throw error;
  }
  const prefix = path === undefined || path === "" ? "" : `${path}/`;
  const infos = await Promise.all(
    entries
      .filter((entry) => entry.isDirectory() || entry.isFile())
      .map(async (entry): Promise<FileInfo> => {
        const relative = `${prefix}${entry.name}`;
        if (entry.isDirectory()) return { path: relative, isDir: true };
        const { size } = await fs.stat(join(folder, entry.name));
        return { path: relative, isDir: false, fileSize: size };
      }),
  );
  return infos.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export async function readArtifactFile(artifactDir: string, path: string): Promise<Uint8Array> {
  const file = inside(artifactDir, path);
  try {
    return new Uint8Array(await fs.readFile(file));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (isMissing(error) || code === "EISDIR") {
      throw notFound(`No artifact file '${path}' in this run`, "List them with listArtifacts");
    }
    throw error;
  }
}
