/**
 * The blocks of a metric file's summary (history-summary.ts) and the file that keeps them in the
 * user's cache folder. A block is BLOCK consecutive lines: where they are in the metric file,
 * their first, last, lowest and highest point, and whether every line up to its end is in
 * (step, timestamp) order.
 *
 * The cache file is a header naming the metric file's inode, then one fixed-size record per
 * whole block, each with a checksum of its own fields and one of the metric file's bytes it
 * covers. Metric files are append-only and a block's record follows from the file's bytes alone,
 * so records are only ever added at the end, in place: the writer of a run adds the blocks it
 * logs (a few at a time, never rewriting what is there), any reader adds what it had to read,
 * and two of them writing the same record write the same bytes. A reader keeps the records from
 * the first up to the first one that does not check, and trusts them only when the bytes of the
 * first and the last one kept still match the file: a torn, damaged or stale record costs
 * reading the file from there, never a wrong chart.
 */
import { createHash } from "node:crypto";
import {
  accessSync,
  closeSync,
  constants,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  writeSync,
} from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { crc32 } from "node:zlib";
import { isMissing, replaceFileSync } from "../../atomic.ts";

/** Points per block. */
export const BLOCK = 256;
/** Smaller metric files are read whole: it costs less than keeping a summary. */
export const SUMMARY_FROM_BYTES = 4 << 20;

// Fields of a block's record (float64 each).
export const START = 0; // byte offset of its first line
export const END = 1; // and of the line after its last
export const COUNT = 2;
export const FIRST = 3; // step, timestamp, value
export const LAST = 6;
export const MIN = 9; // value, step, timestamp, index in the block
export const MAX = 13;
const ORDER = 17; // 1 when every line up to the block's end is in order
const DIGEST = 18; // crc32 of the metric file's bytes from START to END, once written
const CHECK = 19; // crc32 of the fields before it
export const FIELDS = 20;
const RECORD = FIELDS * 8;

// The header: MAGIC, VERSION, BLOCK, FIELDS, the metric file's inode, a crc32 of those.
const MAGIC = 0x6d6c7275; // "mlru"
const VERSION = 2;
const HEADER = 6 * 8;

/** The 32-bit words of `fields`, for `checksum`. */
const wordsOf = (fields: Float64Array) =>
  new Uint32Array(fields.buffer, fields.byteOffset, fields.length * 2);

/**
 * A 32-bit checksum of `count` fields from field `from` (FNV-1a over their 32-bit words), in
 * plain JavaScript: a native call per record would cost more than reading the record.
 */
function checksum(words: Uint32Array, from: number, count: number): number {
  let hash = 0x811c9dc5;
  for (let i = from * 2; i < (from + count) * 2; i++) {
    hash = Math.imul(hash ^ (words[i] as number), 0x01000193);
  }
  return hash >>> 0;
}

/** Whether `header` is this version's, for the metric file of inode `ino`. */
const headerOf = (header: Float64Array, ino: number) =>
  [MAGIC, VERSION, BLOCK, FIELDS, ino].every((value, i) => header[i] === value) &&
  header[5] === checksum(wordsOf(header), 0, 5);

/**
 * Blocks from block `base` of a file on: every one whole but maybe the last. Lines are added in
 * file order, each right after the one before.
 */
export class Blocks {
  records: Float64Array = new Float64Array(FIELDS);
  /** Blocks held, the last maybe partial. */
  count = 0;
  inOrder = true;
  #prevStep = Number.NEGATIVE_INFINITY;
  #prevTime = Number.NEGATIVE_INFINITY;

  /** The index of the first block held. */
  base = 0;
  /** Where the last line ends in the file. */
  end = 0;
  /** The file's inode, where known. */
  ino = -1;

  /** Blocks from the first; `records` holds `count` whole blocks, which end at byte `end`. */
  constructor(records?: Float64Array, count = 0, end = 0, ino = -1) {
    this.ino = ino;
    if (records === undefined || count === 0) return;
    this.end = end;
    this.records = records;
    this.count = count;
    const last = (count - 1) * FIELDS;
    this.inOrder = records[last + ORDER] === 1;
    this.#prevStep = records[last + LAST] as number;
    this.#prevTime = records[last + LAST + 1] as number;
  }

  /** Blocks with all their lines (all but a partial last one). */
  get whole(): number {
    return this.count > 0 && this.records[(this.count - 1) * FIELDS + COUNT] !== BLOCK
      ? this.count - 1
      : this.count;
  }

  /** Adds the line after the last one: `bytes` long, newline included. */
  add(step: number, timestamp: number, value: number, bytes: number): void {
    const records = this.#room();
    if (step < this.#prevStep || (step === this.#prevStep && timestamp < this.#prevTime)) {
      this.inOrder = false;
    }
    this.#prevStep = step;
    this.#prevTime = timestamp;
    let at = (this.count - 1) * FIELDS;
    if (this.count === 0 || records[at + COUNT] === BLOCK) {
      at = this.count * FIELDS;
      this.count++;
      records.fill(Number.NaN, at, at + FIELDS);
      records[at + START] = this.end;
      records[at + COUNT] = 0;
      records[at + FIRST] = step;
      records[at + FIRST + 1] = timestamp;
      records[at + FIRST + 2] = value;
    }
    const index = records[at + COUNT] as number;
    this.end += bytes;
    records[at + END] = this.end;
    records[at + COUNT] = index + 1;
    records[at + LAST] = step;
    records[at + LAST + 1] = timestamp;
    records[at + LAST + 2] = value;
    records[at + ORDER] = this.inOrder ? 1 : 0;
    if (Number.isNaN(value)) return;
    const min = records[at + MIN] as number;
    const max = records[at + MAX] as number;
    // Field by field, not `records.set([…])`: an array a line is most of the cost.
    if (Number.isNaN(min) || value < min) {
      records[at + MIN] = value;
      records[at + MIN + 1] = step;
      records[at + MIN + 2] = timestamp;
      records[at + MIN + 3] = index;
    }
    if (Number.isNaN(max) || value > max) {
      records[at + MAX] = value;
      records[at + MAX + 1] = step;
      records[at + MAX + 2] = timestamp;
      records[at + MAX + 3] = index;
    }
  }

  /** Forgets the first `n` blocks (kept in the cache file): `base` moves on by `n`. */
  drop(n: number): void {
    this.records.copyWithin(0, n * FIELDS, this.count * FIELDS);
    this.count -= n;
    this.base += n;
  }

  /** The records array, with room for one more block. */
  #room(): Float64Array {
    if ((this.count + 1) * FIELDS > this.records.length) {
      const wider = new Float64Array(this.records.length * 2);
      wider.set(this.records);
      this.records = wider;
    }
    return this.records;
  }
}

/** Where the summary of the metric file `path` is kept: the user's cache folder. */
export function cacheFileOf(path: string): string {
  const cache = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  const name = createHash("sha256").update(resolve(path)).digest("hex").slice(0, 32);
  return join(cache, "mlruns", "history", `${name}.summary`);
}

/** Whether summaries can be kept in the cache folder (made when missing, as a first read would). */
export function cacheWritable(): boolean {
  const dir = dirname(cacheFileOf("."));
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** crc32 of the metric file's bytes from `start` to `end`. */
function bytesDigest(fd: number, start: number, end: number): number {
  const buffer = Buffer.allocUnsafe(end - start);
  return readSync(fd, buffer, 0, buffer.length, start) === buffer.length
    ? crc32(buffer)
    : Number.NaN;
}

/** What a cache file holds for a metric file: its whole blocks that check. */
export interface Kept {
  blocks: Blocks;
  /** Whether records after them do not check (torn, damaged): the file is to be written anew. */
  damaged: boolean;
}

/**
 * The blocks kept in `cacheFile` that still describe the metric file open as `fd`, up to byte
 * `size` of it.
 */
export function loadBlocks(
  cacheFile: string,
  fd: number,
  size = fstatSync(fd).size,
): Kept | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(cacheFile);
  } catch {
    return undefined;
  }
  if (bytes.length < HEADER) return undefined;
  const { ino } = fstatSync(fd);
  const stored = Math.floor((bytes.length - HEADER) / RECORD);
  // A copy: the file's bytes need not be aligned for a Float64Array.
  const fields = new Float64Array(6 + Math.max(1, stored) * FIELDS);
  new Uint8Array(fields.buffer).set(bytes.subarray(0, HEADER + stored * RECORD));
  if (!headerOf(fields, ino)) return undefined;
  const records = fields.subarray(6);
  const words = wordsOf(records);
  let count = 0;
  let end = 0;
  let damaged = false;
  for (; count < stored; count++) {
    const at = count * FIELDS;
    damaged =
      records[at + CHECK] !== checksum(words, at, CHECK) ||
      records[at + START] !== end ||
      records[at + COUNT] !== BLOCK;
    if (damaged || (records[at + END] as number) > size) break;
    end = records[at + END] as number;
  }
  const blocks = new Blocks(records, count, end, ino);
  if (count > 0 && !stillDescribes(fd, blocks)) return undefined;
  return { blocks, damaged };
}

/** Sets the digest of each whole block that has none yet, from the file's bytes. */
export function digestWhole(fd: number, blocks: Blocks): void {
  const { records } = blocks;
  for (
    let at = (blocks.whole - 1) * FIELDS;
    at >= 0 && Number.isNaN(records[at + DIGEST]);
    at -= FIELDS
  ) {
    records[at + DIGEST] = bytesDigest(
      fd,
      records[at + START] as number,
      records[at + END] as number,
    );
  }
}

/**
 * Whether `blocks` (from the first, with digests) still describe the metric file open as `fd`:
 * the same inode, and the bytes of its first and last whole block as they were.
 */
export function stillDescribes(fd: number, blocks: Blocks): boolean {
  const { records } = blocks;
  const matches = (b: number) =>
    bytesDigest(fd, records[b * FIELDS + START] as number, records[b * FIELDS + END] as number) ===
    records[b * FIELDS + DIGEST];
  const { ino, size } = fstatSync(fd);
  return ino === blocks.ino && blocks.end <= size && matches(0) && matches(blocks.whole - 1);
}

/** The whole blocks of `blocks` from block `from` on, as records to store. */
function recordsFrom(fd: number, blocks: Blocks, from: number): Buffer {
  digestWhole(fd, blocks);
  const out = new Float64Array((blocks.whole - (from - blocks.base)) * FIELDS);
  out.set(blocks.records.subarray((from - blocks.base) * FIELDS, blocks.whole * FIELDS));
  const words = wordsOf(out);
  for (let at = 0; at < out.length; at += FIELDS) out[at + CHECK] = checksum(words, at, CHECK);
  return Buffer.from(out.buffer);
}

/**
 * Stores the whole blocks of `blocks` (of the metric file open as `fd`) in `cacheFile`, after
 * the records there, or as a new cache file when `blocks` starts at the first block and the
 * one there is of another file or `replace` says so (the reader found records there that do not
 * check). Returns how many of `blocks`' whole blocks the cache file holds now (the ones before
 * may be dropped), or 0 when it could not add them: the records before `blocks` are missing.
 */
export function storeBlocks(
  cacheFile: string,
  fd: number,
  blocks: Blocks,
  replace = false,
): number {
  const ino = fstatSync(fd).ino;
  const create = () => {
    const header = new Float64Array([MAGIC, VERSION, BLOCK, FIELDS, ino, 0]);
    header[5] = checksum(wordsOf(header), 0, 5);
    mkdirSync(dirname(cacheFile), { recursive: true });
    replaceFileSync(
      cacheFile,
      Buffer.concat([Buffer.from(header.buffer), recordsFrom(fd, blocks, 0)]),
    );
    return blocks.whole;
  };
  try {
    if (replace && blocks.base === 0) return create();
    let out: number;
    try {
      out = openSync(cacheFile, "r+");
    } catch (error) {
      if (isMissing(error) && blocks.base === 0) return create();
      return 0;
    }
    try {
      const header = new Float64Array(6);
      const { size } = fstatSync(out);
      readSync(out, header, 0, HEADER, 0);
      if (!headerOf(header, ino)) return blocks.base === 0 ? create() : 0;
      const stored = Math.floor((size - HEADER) / RECORD);
      if (stored < blocks.base) return 0;
      if (stored < blocks.base + blocks.whole) {
        const data = recordsFrom(fd, blocks, stored);
        writeSync(out, data, 0, data.length, HEADER + stored * RECORD);
      }
      return blocks.whole;
    } finally {
      closeSync(out);
    }
  } catch {
    // A cache that cannot be written (read-only home) costs speed, not correctness.
    return 0;
  }
}

/** Whole blocks a writer holds before it stores them: a reader reads at most these again. */
const STORE_EVERY = 8;

/**
 * The blocks of a metric file that its writer keeps as it logs, stored in the cache folder a
 * few at a time once the file is long enough to be read from its summary.
 */
export class WrittenBlocks {
  readonly blocks = new Blocks();
  readonly path: string;
  #cacheFile: string | undefined;

  constructor(path: string) {
    this.path = path;
  }

  /** Stores the whole blocks held, when enough of them wait; forgets them either way. */
  store(): void {
    const { blocks } = this;
    if (blocks.whole < STORE_EVERY || blocks.end < SUMMARY_FROM_BYTES) return;
    this.#cacheFile ??= cacheFileOf(this.path);
    try {
      const fd = openSync(this.path, "r");
      try {
        storeBlocks(this.#cacheFile, fd, blocks);
      } finally {
        closeSync(fd);
      }
    } catch {
      // As storeBlocks: the summary is a cache, and readers build what is missing.
    }
    blocks.drop(blocks.whole);
  }
}
