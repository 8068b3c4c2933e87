/**
 * What a folder of a tree holds right now, for an export: its folders and files, each file's
 * size and SHA-256. A metric file is taken up to its last whole line (a line being appended is
 * left for the next export), and, when the base bundle saw its first bytes, the part appended
 * since is hashed on its own so that only that part need travel.
 *
 * Folders are listed and files up to 1 MiB read synchronously: a tree holds thousands of small
 * files, and a thread-pool round trip per call (open, stat, read, close) costs far more than the
 * calls themselves, most of all on a busy machine. Larger files are read in chunks, asynchronously.
 */
import { createHash, type Hash } from "node:crypto";
import { closeSync, promises as fs, fstatSync, openSync, readdirSync, readSync } from "node:fs";
import { join } from "node:path";

/** Files this small are kept in memory from the first look, so a rewrite during export is moot. */
const KEEP = 16 * 1024;
/** Files up to this size are read in one synchronous call. */
export const SMALL_FILE = 1 << 20;

export interface FileSnapshot {
  /** Where it is read from. */
  abs: string;
  /** The bytes taken (a metric file: up to its last line break). */
  size: number;
  sha256: string;
  /** The content, for small files. */
  data?: Buffer;
  /**
   * When the file's first `from` bytes are those the base bundle had (SHA-256 `base`): the
   * SHA-256 of the rest.
   */
  tail?: { from: number; base: string; sha256: string };
  mtimeMs: number;
}

export interface Folder {
  /** Relative folders, `/`-separated, parents first. */
  dirs: string[];
  /** Relative file path → absolute path. */
  files: Map<string, string>;
  /** What is neither a file nor a folder (links, sockets): never exported. */
  skipped: string[];
}

/** Every folder and regular file under `dir`, except what `skip(relative path)` leaves out. */
export function walk(dir: string, skip: (rel: string) => boolean = () => false): Folder {
  const folder: Folder = { dirs: [], files: new Map(), skipped: [] };
  const visit = (abs: string, prefix: string): void => {
    const entries = readdirSync(abs, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const rel = `${prefix}${entry.name}`;
      if (skip(rel)) continue;
      if (entry.isDirectory()) {
        folder.dirs.push(rel);
        visit(join(abs, entry.name), `${rel}/`);
      } else if (entry.isFile()) folder.files.set(rel, join(abs, entry.name));
      else folder.skipped.push(rel);
    }
  };
  visit(dir, "");
  return folder;
}

/** Bytes `[from, from + length)` of a file, read synchronously (small files). */
export function readRange(path: string, from: number, length: number): Buffer {
  const fd = openSync(path, "r");
  try {
    const buffer = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const n = readSync(fd, buffer, got, length - got, from + got);
      if (n === 0) break;
      got += n;
    }
    return buffer.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/** Hashes what is committed to it; the split at the base's size is hashed on both sides. */
class Hasher {
  readonly full = createHash("sha256");
  tail: Hash | undefined;
  committed = 0;
  readonly #base: [number, string] | undefined;

  constructor(base: [number, string] | undefined) {
    this.#base = base;
    if (base?.[0] === 0 && base[1] === this.full.copy().digest("hex"))
      this.tail = createHash("sha256");
  }

  commit(bytes: Buffer): void {
    const [baseSize, baseSha] = this.#base ?? [-1, ""];
    if (this.committed < baseSize && baseSize <= this.committed + bytes.length) {
      const split = baseSize - this.committed;
      this.full.update(bytes.subarray(0, split));
      if (this.full.copy().digest("hex") === baseSha) this.tail = createHash("sha256");
      this.tail?.update(bytes.subarray(split));
      this.full.update(bytes.subarray(split));
    } else {
      this.full.update(bytes);
      this.tail?.update(bytes);
    }
    this.committed += bytes.length;
  }
}

/**
 * Reads and hashes a file. `lines`: only whole lines count. `base`: the size and SHA-256 the base
 * bundle recorded; when this file starts with exactly those bytes, `tail` hashes the rest.
 */
export async function snapshotFile(
  abs: string,
  options: { lines?: boolean; base?: [number, string] | undefined } = {},
): Promise<FileSnapshot> {
  const hasher = new Hasher(options.base);
  let mtimeMs: number;
  let kept: Buffer | undefined;
  let large = false;
  const fd = openSync(abs, "r");
  try {
    const stat = fstatSync(fd);
    mtimeMs = stat.mtimeMs;
    large = stat.size > SMALL_FILE;
    if (!large) {
      const buffer = Buffer.allocUnsafe(stat.size);
      let got = 0;
      while (got < stat.size) {
        const n = readSync(fd, buffer, got, stat.size - got, got);
        if (n === 0) break;
        got += n;
      }
      const end = options.lines ? buffer.lastIndexOf(0x0a, got - 1) + 1 : got;
      const bytes = buffer.subarray(0, end);
      hasher.commit(bytes);
      if (stat.size <= KEEP) kept = bytes;
    }
  } finally {
    closeSync(fd);
  }
  if (large) await hashLarge(abs, hasher, options.lines ?? false);
  const snapshot: FileSnapshot = {
    abs,
    size: hasher.committed,
    sha256: hasher.full.digest("hex"),
    mtimeMs,
  };
  if (kept !== undefined) snapshot.data = kept;
  const [from, base] = options.base ?? [0, ""];
  if (hasher.tail !== undefined && hasher.committed > from) {
    snapshot.tail = { from, base, sha256: hasher.tail.digest("hex") };
  }
  return snapshot;
}

/** A large file in chunks; with `lines`, the bytes after the last line break are left out. */
async function hashLarge(abs: string, hasher: Hasher, lines: boolean): Promise<void> {
  const handle = await fs.open(abs, "r");
  try {
    const { size } = await handle.stat();
    let carry = Buffer.alloc(0);
    for (let at = 0; at < size; ) {
      const buffer = Buffer.allocUnsafe(Math.min(SMALL_FILE, size - at));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, at);
      if (bytesRead === 0) break;
      at += bytesRead;
      const chunk = buffer.subarray(0, bytesRead);
      if (!lines) {
        hasher.commit(chunk);
        continue;
      }
      const joined = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
      const end = joined.lastIndexOf(0x0a) + 1;
      if (end > 0) hasher.commit(joined.subarray(0, end));
      carry = Buffer.from(joined.subarray(end));
    }
  } finally {
    await handle.close();
  }
}

/** A snapshot of bytes made here (a rewritten meta.yaml, an origin tag). */
export function snapshotOf(data: Buffer, mtimeMs = 0): FileSnapshot {
  return {
    abs: "",
    size: data.length,
    sha256: createHash("sha256").update(data).digest("hex"),
    data,
    mtimeMs,
  };
}
