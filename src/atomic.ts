/**
 * Crash-safe file writes, the one way every part of mlruns writes a file whole (the store, verify,
 * bundles, the server's files). A reader, or MLflow, never sees a half-written file: content goes
 * to a temp file, is flushed to the disk, and appears under its real name in one rename or link.
 * Temp files are plain files named `.tmp-*` in a run or experiment folder, where MLflow ignores
 * them; callers never place them inside metrics/, params/ or tags/, where every file is a key.
 */
import { randomBytes } from "node:crypto";
import {
  closeSync,
  constants,
  type Dirent,
  promises as fs,
  fsyncSync,
  linkSync,
  openSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";

/** Temp files of these writes (a crash leaves them behind; `mlruns verify --fix` removes them). */
export const TEMP_PREFIX = ".tmp-";

/** What a file is written from: text, bytes, or chunks read once, in order (bounded memory). */
export type FileContent = string | Uint8Array | AsyncIterable<Uint8Array>;

const tempPath = (tempDir: string) =>
  join(tempDir, `${TEMP_PREFIX}${randomBytes(8).toString("hex")}`);
const errorCode = (error: unknown) => (error as NodeJS.ErrnoException | undefined)?.code;
/** A filesystem without hard links (some network and FUSE mounts). */
const cannotLink = (error: unknown) =>
  ["EPERM", "ENOTSUP", "EOPNOTSUPP"].includes(`${errorCode(error)}`);

/** A temp file in `tempDir` holding `data`, on the disk; removed again when writing fails. */
async function writeTemp(tempDir: string, data: FileContent): Promise<string> {
  const temp = tempPath(tempDir);
  const handle = await fs.open(temp, "wx");
  try {
    if (typeof data === "string" || data instanceof Uint8Array) await handle.writeFile(data);
    else for await (const chunk of data) await handle.write(chunk);
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => {});
    await fs.rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  return temp;
}

/** Moves a finished temp file onto `target`, or removes it when that fails. */
async function commit(temp: string, target: string): Promise<void> {
  try {
    await fs.rename(temp, target);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
}

/** Replaces `target` whole with `data`; the temp file lives in `tempDir` (same filesystem). */
export async function replaceFile(
  target: string,
  data: FileContent,
  tempDir = dirname(target),
): Promise<void> {
  await commit(await writeTemp(tempDir, data), target);
}

/**
 * Copies the file `source` onto `target`, which appears whole (the copy is the filesystem's own,
 * which may clone; then flushed to the disk and renamed into place).
 */
export async function copyFileWhole(
  source: string,
  target: string,
  tempDir = dirname(target),
): Promise<void> {
  const temp = tempPath(tempDir);
  try {
    await fs.copyFile(source, temp, constants.COPYFILE_EXCL);
    const handle = await fs.open(temp, "r+");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
  await commit(temp, target);
}

/**
 * Creates `target` with `data` unless it exists, atomically across processes: the content is
 * complete before the name appears, and of two racing writers exactly one wins.
 * Returns false when the file already existed.
 */
export async function createFile(
  target: string,
  data: string | Uint8Array,
  tempDir = dirname(target),
): Promise<boolean> {
  const temp = await writeTemp(tempDir, data);
  try {
    await fs.link(temp, target);
    return true;
  } catch (error) {
    if (errorCode(error) === "EEXIST") return false;
    if (cannotLink(error)) return createWithoutLinks(target, data);
    throw error;
  } finally {
    await fs.rm(temp, { force: true });
  }
}

/** For filesystems without hard links: exclusive create, then one write. */
async function createWithoutLinks(target: string, data: string | Uint8Array): Promise<boolean> {
  try {
    await fs.writeFile(target, data, { flag: "wx" });
    return true;
  } catch (error) {
    if (errorCode(error) === "EEXIST") return false;
    throw error;
  }
}

// The same writes, done when they return: for what must not wait for the event loop (metric
// points from a training loop that never awaits, a run's end on process.exit()).

function writeTempSync(tempDir: string, data: string | Uint8Array): string {
  const temp = tempPath(tempDir);
  const fd = openSync(temp, "wx");
  try {
    writeFileSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return temp;
}

/** replaceFile, synchronously. */
export function replaceFileSync(
  target: string,
  data: string | Uint8Array,
  tempDir = dirname(target),
): void {
  const temp = writeTempSync(tempDir, data);
  try {
    renameSync(temp, target);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

/** createFile, synchronously. */
export function createFileSync(
  target: string,
  data: string | Uint8Array,
  tempDir = dirname(target),
): boolean {
  const temp = writeTempSync(tempDir, data);
  try {
    linkSync(temp, target);
    return true;
  } catch (error) {
    if (errorCode(error) === "EEXIST") return false;
    if (!cannotLink(error)) throw error;
    try {
      writeFileSync(target, data, { flag: "wx" });
      return true;
    } catch (again) {
      if (errorCode(again) === "EEXIST") return false;
      throw again;
    }
  } finally {
    rmSync(temp, { force: true });
  }
}

/** The file's text, or `undefined` when it does not exist. */
export async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await fs.readFile(path, "utf8");
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

/** The entries of a folder; none when it is missing. */
export async function readDirIfExists(dir: string): Promise<Dirent[]> {
  try {
    return await fs.readdir(dir, { withFileTypes: true });
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
}

/** A path that leads nowhere: missing, under a file, or a symbolic link loop. */
export function isMissing(error: unknown): boolean {
  const code = errorCode(error);
  return code === "ENOENT" || code === "ENOTDIR" || code === "ELOOP";
}

export async function exists(path: string): Promise<boolean> {
  try {
    await fs.stat(path);
    return true;
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
  }
}
