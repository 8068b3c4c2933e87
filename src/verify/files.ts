/**
 * Reading a tree as MLflow's Python reader does: a path that cannot be stat'ed (missing, a
 * dangling link, a link loop) is missing; links are followed; text is UTF-8, strictly (Python's
 * `codecs.open(..., encoding="utf-8")` raises on a bad byte where Node would put U+FFFD).
 */
import type { Dirent } from "node:fs";
import { promises as fs } from "node:fs";

export type Entry =
  | { kind: "missing" }
  | { kind: "folder" }
  | { kind: "text"; text: string }
  | { kind: "binary" }
  /** Not a regular file (a FIFO, a socket), or an error reading it (permissions, I/O). */
  | { kind: "unreadable"; why: string };

const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const GONE = new Set(["ENOENT", "ENOTDIR", "ELOOP", "ENAMETOOLONG"]);

const code = (error: unknown) => (error as NodeJS.ErrnoException).code ?? "";

/** What `path` holds, following links; never throws for what a tree may contain. */
export async function readEntry(path: string): Promise<Entry> {
  try {
    const stat = await fs.stat(path);
    if (stat.isDirectory()) return { kind: "folder" };
    if (!stat.isFile()) return { kind: "unreadable", why: "not a regular file" };
    const bytes = await fs.readFile(path);
    try {
      return { kind: "text", text: UTF8.decode(bytes) };
    } catch {
      return { kind: "binary" };
    }
  } catch (error) {
    if (GONE.has(code(error))) return { kind: "missing" };
    return { kind: "unreadable", why: (error as Error).message };
  }
}

/** A folder's entries sorted by name (none when it is missing or not a folder). */
export async function entries(dir: string): Promise<Dirent[]> {
  try {
    return (await fs.readdir(dir, { withFileTypes: true })).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
  } catch (error) {
    if (GONE.has(code(error)) || code(error) === "EACCES") return [];
    throw error;
  }
}

/** True for a folder, or a link to one. */
export async function isDir(path: string): Promise<boolean> {
  return fs.stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

/** True when something (a file, a folder, a link) is at `path`, even a dangling link. */
export async function exists(path: string): Promise<boolean> {
  return fs.lstat(path).then(
    () => true,
    () => false,
  );
}
