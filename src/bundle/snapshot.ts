/**
 * What a folder of a tree holds right now, for an export: its folders and files, each file's
 * size and SHA-256. A metric file is taken up to its last whole line (a line being appended is
 * left for the next export), and, when the base bundle saw its first bytes, the part appended
 * since is hashed on its own so that only that part need travel.
 */
import { createHash, type Hash } from "node:crypto";
import { promises as fs } from "node:fs";
import { join } from "node:path";

/** Files this small are kept in memory from the first look, so a rewrite during export is moot. */
const SMALL = 16 * 1024;
const CHUNK = 1 << 20;

export interface FileSnapshot {
  /** Where it is read from. */
  abs: string;
  /** The bytes taken (a metric file: up to its last line break). */
  size: number;
  sha256: string;
  /** The content, for small files. */
  data?: Buffer;
  /** When the file's first `from` bytes are those the base bundle had: the SHA-256 of the rest. */
  tail?: { from: number; sha256: string };
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
export async function walk(
  dir: string,
  skip: (rel: string) => boolean = () => false,
): Promise<Folder> {
  const folder: Folder = { dirs: [], files: new Map(), skipped: [] };
  const visit = async (abs: string, prefix: string): Promise<void> => {
    const entries = await fs.readdir(abs, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const rel = `${prefix}${entry.name}`;
      if (skip(rel)) continue;
      if (entry.isDirectory()) {
        folder.dirs.push(rel);
        await visit(join(abs, entry.name), `${rel}/`);
      } else if (entry.isFile()) folder.files.set(rel, join(abs, entry.name));
      else folder.skipped.push(rel);
    }
  };
  await visit(dir, "");
  return folder;
}

/**
 * Reads and hashes a file. `lines`: only whole lines count. `base`: the size and SHA-256 the base
 * bundle recorded; when this file starts with exactly those bytes, `tail` hashes the rest.
 */
export async function snapshotFile(
  abs: string,
  options: { lines?: boolean; base?: [number, string] | undefined } = {},
): Promise<FileSnapshot> {
  const handle = await fs.open(abs, "r");
  try {
    const { size: seen, mtimeMs } = await handle.stat();
    const full = createHash("sha256");
    const [baseSize, baseSha] = options.base ?? [-1, ""];
    let tail: Hash | undefined;
    let committed = 0;
    const kept: Buffer[] = [];
    const commit = (bytes: Buffer) => {
      if (committed <= baseSize && baseSize <= committed + bytes.length) {
        const split = baseSize - committed;
        full.update(bytes.subarray(0, split));
        if (full.copy().digest("hex") === baseSha) tail = createHash("sha256");
        tail?.update(bytes.subarray(split));
        full.update(bytes.subarray(split));
      } else {
        full.update(bytes);
        tail?.update(bytes);
      }
      committed += bytes.length;
      if (seen <= SMALL) kept.push(bytes);
    };
    let carry = Buffer.alloc(0);
    for (let at = 0; at < seen; ) {
      const buffer = Buffer.allocUnsafe(Math.min(CHUNK, seen - at));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, at);
      if (bytesRead === 0) break;
      at += bytesRead;
      const chunk = buffer.subarray(0, bytesRead);
      if (!options.lines) {
        commit(chunk);
        continue;
      }
      const joined = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
      const end = joined.lastIndexOf(0x0a) + 1;
      if (end > 0) commit(joined.subarray(0, end));
      carry = Buffer.from(joined.subarray(end));
    }
    if (committed === 0 && baseSize === 0 && baseSha === full.copy().digest("hex")) {
      tail = createHash("sha256");
    }
    const snapshot: FileSnapshot = {
      abs,
      size: committed,
      sha256: full.digest("hex"),
      mtimeMs,
    };
    if (seen <= SMALL) snapshot.data = Buffer.concat(kept);
    if (tail !== undefined && committed > baseSize) {
      snapshot.tail = { from: baseSize, sha256: tail.digest("hex") };
    }
    return snapshot;
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
