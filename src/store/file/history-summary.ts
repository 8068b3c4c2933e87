/**
 * A derived summary of one metric file, so that a chart of a history of millions of points is
 * sampled without reading it: per block of BLOCK consecutive lines, where it starts in the file
 * and its first, last, lowest and highest point. Kept outside the tree (a cache folder), never
 * trusted blindly: it names the file's inode and how many bytes it covers, with digests of the
 * first and last 4 KiB of them and of its own records, so a file replaced or rewritten, and a
 * summary damaged, are noticed and the summary is built again. A file that grew since is only
 * read from where the summary ends (metric files are append-only).
 *
 * Blocks stand in for their points only when the file is in (step, timestamp) order, which is
 * how training loops log; otherwise the history is sampled as any store does (metric-sampling).
 */
import { createHash } from "node:crypto";
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, readSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { replaceFileSync } from "../../atomic.ts";
import type { Metric } from "../../entities.ts";
import {
  type Piece,
  pointPiece,
  type SampleOptions,
  sampleHistory,
  samplePieces,
} from "../../metric-sampling.ts";
import { readLines } from "./metric-files.ts";
import { parseMetricLine } from "./metric-lines.ts";
import { TreeError } from "./problems.ts";

/** Points per block. */
const BLOCK = 256;
/** Smaller files are read whole: it costs less than keeping a summary. */
export const SUMMARY_FROM_BYTES = 4 << 20;
const FIELDS = 16;
const VERSION = 1;
const PROBE = 4096;

// Field offsets in a block's record.
const START = 0;
const COUNT = 1;
const FIRST = 2; // step, timestamp, value
const LAST = 5;
const MIN = 8; // value, step, timestamp, index in the block
const MAX = 12;

export interface Summary {
  ino: number;
  /** Bytes of the file the blocks cover (whole lines). */
  size: number;
  /** Whether every line is at or after the one before in (step, timestamp) order. */
  inOrder: boolean;
  blocks: number;
  records: Float64Array;
}

interface Header {
  v: number;
  ino: number;
  size: number;
  inOrder: boolean;
  blocks: number;
  head: string;
  tail: string;
  records: string;
}

const digest = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** Digests of the first and last 4 KiB of the file's first `size` bytes. */
export function probes(fd: number, size: number): { head: string; tail: string } {
  const read = (from: number) => {
    const buffer = Buffer.alloc(Math.min(PROBE, size - from));
    readSync(fd, buffer, 0, buffer.length, from);
    return digest(buffer);
  };
  return { head: read(0), tail: read(Math.max(0, size - PROBE)) };
}

/**
 * The summary of `path` kept in `cacheFile`, if it still describes the file's first `size`
 * bytes (else undefined). `fd` is the metric file, open.
 */
function load(cacheFile: string, fd: number, size: number): Summary | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(cacheFile);
  } catch {
    return undefined;
  }
  const newline = bytes.indexOf(0x0a);
  if (newline < 0) return undefined;
  let header: Header;
  try {
    header = JSON.parse(bytes.toString("utf8", 0, newline)) as Header;
  } catch {
    return undefined;
  }
  const body = bytes.subarray(newline + 1);
  const { ino } = fstatSync(fd);
  if (
    header.v !== VERSION ||
    header.ino !== ino ||
    !(header.size <= size) ||
    body.length !== header.blocks * FIELDS * 8 ||
    digest(body) !== header.records
  ) {
    return undefined;
  }
  const now = probes(fd, header.size);
  if (now.head !== header.head || now.tail !== header.tail) return undefined;
  const records = new Float64Array(header.blocks * FIELDS);
  Buffer.from(records.buffer).set(body);
  return { ino, size: header.size, inOrder: header.inOrder, blocks: header.blocks, records };
}

function save(cacheFile: string, fd: number, summary: Summary): void {
  const body = Buffer.from(
    summary.records.buffer,
    summary.records.byteOffset,
    summary.blocks * FIELDS * 8,
  );
  const header: Header = {
    v: VERSION,
    ino: summary.ino,
    size: summary.size,
    inOrder: summary.inOrder,
    blocks: summary.blocks,
    ...probes(fd, summary.size),
    records: digest(body),
  };
  try {
    mkdirSync(dirname(cacheFile), { recursive: true });
    replaceFileSync(cacheFile, Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`), body]));
  } catch {
    // A cache that cannot be written (read-only home) costs speed, not correctness.
  }
}

/** `[+-]?digits`, as the metric line codec's integers. */
function isInteger(text: string, from: number, to: number): boolean {
  let i = from;
  const sign = text.charCodeAt(i);
  if (sign === 43 || sign === 45) i++; // + -
  if (i >= to) return false;
  for (; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Only digits, `.`, `e`/`E` and signs: then Number() reads exactly what Python's float() does. */
function isPlainDecimal(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || c === 46 || c === 101 || c === 69 || c === 43 || c === 45)) {
      return false;
    }
  }
  return text.length > 0;
}

/**
 * The common line, `<timestamp> <value> <step>` in plain decimals, read without the codec's
 * general parser (two thirds of the time a summary takes to build); any other line, valid or
 * not, is left to it (undefined).
 */
function plainLine(text: string): { step: number; timestamp: number; value: number } | undefined {
  const a = text.indexOf(" ");
  const b = text.indexOf(" ", a + 1);
  if (a <= 0 || b < 0 || text.indexOf(" ", b + 1) >= 0) return undefined;
  if (!isInteger(text, 0, a) || !isInteger(text, b + 1, text.length)) return undefined;
  const valueText = text.slice(a + 1, b);
  const value = isPlainDecimal(valueText) ? Number(valueText) : Number.NaN;
  if (Number.isNaN(value)) return undefined; // not a number to Number(); "nan" goes the long way
  return { timestamp: Number(text.slice(0, a)), value, step: Number(text.slice(b + 1)) };
}

/**
 * Extends `summary` (or starts one) over the lines of the file from where it ends to byte
 * `size`: its last block, which may be partial, is summed up again with what follows.
 */
function extend(
  fd: number,
  path: string,
  key: string,
  summary: Summary | undefined,
  size: number,
): Summary {
  const { ino } = fstatSync(fd);
  let blocks = summary?.blocks ?? 0;
  let from = 0;
  let inOrder = summary?.inOrder ?? true;
  let records = summary?.records ?? new Float64Array(FIELDS * 64);
  let prevStep = Number.NEGATIVE_INFINITY;
  let prevTime = Number.NEGATIVE_INFINITY;
  if (blocks > 0) {
    blocks--;
    from = records[blocks * FIELDS + START] as number;
    if (blocks > 0) {
      prevStep = records[(blocks - 1) * FIELDS + LAST] as number;
      prevTime = records[(blocks - 1) * FIELDS + LAST + 1] as number;
    }
  }
  let at = -1; // record offset of the block being filled
  let line = 0;
  let position = from;
  const end = readLines(fd, from, size, (text, bytes) => {
    line++;
    const point = plainLine(text) ?? parseMetricLine(key, text);
    if (typeof point === "string") throw new TreeError({ path, message: point });
    const { step, timestamp, value } = point;
    if (step < prevStep || (step === prevStep && timestamp < prevTime)) inOrder = false;
    prevStep = step;
    prevTime = timestamp;
    if (at < 0 || (records[at + COUNT] as number) === BLOCK) {
      if ((blocks + 1) * FIELDS > records.length) {
        const wider = new Float64Array(records.length * 2);
        wider.set(records);
        records = wider;
      }
      at = blocks * FIELDS;
      blocks++;
      records.fill(Number.NaN, at, at + FIELDS);
      records[at + START] = position;
      records[at + COUNT] = 0;
      records[at + FIRST] = step;
      records[at + FIRST + 1] = timestamp;
      records[at + FIRST + 2] = value;
    }
    const index = records[at + COUNT] as number;
    records[at + COUNT] = index + 1;
    records[at + LAST] = step;
    records[at + LAST + 1] = timestamp;
    records[at + LAST + 2] = value;
    if (!Number.isNaN(value)) {
      // Not `records.set([…])`: an array a line is most of the cost where the curve falls.
      const extreme = (o: number) => {
        records[o] = value;
        records[o + 1] = step;
        records[o + 2] = timestamp;
        records[o + 3] = index;
      };
      const min = records[at + MIN] as number;
      const max = records[at + MAX] as number;
      if (Number.isNaN(min) || value < min) extreme(at + MIN);
      if (Number.isNaN(max) || value > max) extreme(at + MAX);
    }
    position += bytes;
  });
  if (line === 0 && from === 0) throw new TreeError({ path, message: "metric file is empty" });
  return { ino, size: end, inOrder, blocks, records };
}

/**
 * The summary of the open metric file `fd` up to byte `size` (its whole lines): loaded,
 * extended or built, and kept in its cache file.
 */
function summaryAt(fd: number, path: string, key: string, size: number): Summary {
  const cacheFile = cacheFileOf(path);
  const loaded = load(cacheFile, fd, size);
  if (loaded !== undefined && loaded.size === size) return loaded;
  const summary = extend(fd, path, key, loaded, size);
  // Only a torn last line more (a line being written): nothing new to keep.
  if (summary.size !== loaded?.size) save(cacheFile, fd, summary);
  return summary;
}

/** The current summary of a metric file. */
function summaryOf(path: string, key: string): Summary {
  const fd = openSync(path, "r");
  try {
    return summaryAt(fd, path, key, fstatSync(fd).size);
  } finally {
    closeSync(fd);
  }
}

/**
 * Where the lines that decide the latest point of the open metric file `fd` (up to byte `size`)
 * begin, by its summary, and how many lines come before: the first block holding the file's
 * greatest (step, timestamp). In a file in (step, timestamp) order those lines are all at the
 * end, and every line before them has a lower (step, timestamp), so folding from there gives
 * the latest of the whole file. Undefined for a file not in order.
 */
export function latestFrom(
  fd: number,
  path: string,
  key: string,
  size: number,
): { at: number; line: number } | undefined {
  const summary = summaryAt(fd, path, key, size);
  if (!summary.inOrder || summary.blocks === 0) return undefined;
  const r = summary.records;
  const lastOf = (b: number) => [r[b * FIELDS + LAST], r[b * FIELDS + LAST + 1]];
  const [step, timestamp] = lastOf(summary.blocks - 1);
  let b = summary.blocks - 1;
  while (b > 0 && lastOf(b - 1)[0] === step && lastOf(b - 1)[1] === timestamp) b--;
  // Every block before the last holds BLOCK lines.
  return { at: r[b * FIELDS + START] as number, line: b * BLOCK };
}

/** Where the summary of the metric file `path` is kept: the user's cache folder. */
export function cacheFileOf(path: string): string {
  const cache = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  const name = createHash("sha256").update(resolve(path)).digest("hex").slice(0, 32);
  return join(cache, "mlruns", "history", `${name}.summary`);
}

/** The points of block `b`, read from the file. */
function blockPoints(path: string, key: string, summary: Summary, b: number): Metric[] {
  const start = summary.records[b * FIELDS + START] as number;
  const end =
    b + 1 < summary.blocks ? (summary.records[(b + 1) * FIELDS + START] as number) : summary.size;
  const points: Metric[] = [];
  const fd = openSync(path, "r");
  try {
    readLines(fd, start, end, (text) => {
      const point = parseMetricLine(key, text);
      if (typeof point === "string") throw new TreeError({ path, message: point });
      points.push(point);
    });
  } finally {
    closeSync(fd);
  }
  return points;
}

/** Block `b` as a piece for sampling (see metric-sampling.ts `samplePieces`). */
function blockPiece(key: string, summary: Summary, b: number): Piece {
  const r = summary.records;
  const o = b * FIELDS;
  const point = (at: number): Metric => ({
    key,
    step: r[o + at] as number,
    timestamp: r[o + at + 1] as number,
    value: r[o + at + 2] as number,
  });
  const extreme = (at: number) =>
    Number.isNaN(r[o + at] as number)
      ? undefined
      : {
          point: {
            key,
            value: r[o + at] as number,
            step: r[o + at + 1] as number,
            timestamp: r[o + at + 2] as number,
          },
          index: r[o + at + 3] as number,
        };
  return {
    count: r[o + COUNT] as number,
    first: point(FIRST),
    last: point(LAST),
    min: extreme(MIN),
    max: extreme(MAX),
  };
}

/**
 * The points of the metric file `path` that sampling keeps (`sampleHistory`, metric-sampling.ts),
 * read from its summary: whole blocks stand in for their points, and only the blocks cut by the
 * step range are read, or all blocks in range when they hold few points or are longer than the
 * stretches asked for (fewer than BLOCK points a stretch). Undefined for a file not in step
 * order, which only its whole history can sample.
 */
export function sampleMetricFile(
  path: string,
  key: string,
  options: SampleOptions,
): Metric[] | undefined {
  const summary = summaryOf(path, key);
  if (!summary.inOrder) return undefined;
  const { maxPoints, startStep = -Infinity, endStep = Infinity } = options;
  const pieces: Piece[] = [];
  const readers: (() => Metric[])[] = [];
  const inRange = (point: Metric) => point.step >= startStep && point.step <= endStep;
  let total = 0;
  for (let b = 0; b < summary.blocks; b++) {
    const piece = blockPiece(key, summary, b);
    if (piece.last.step < startStep) continue;
    if (piece.first.step > endStep) break;
    if (inRange(piece.first) && inRange(piece.last)) {
      pieces.push(piece);
      readers.push(() => blockPoints(path, key, summary, b));
      total += piece.count;
      continue;
    }
    for (const point of blockPoints(path, key, summary, b).filter(inRange)) {
      pieces.push(pointPiece(point));
      readers.push(() => [point]);
      total++;
    }
  }
  const stretches = Math.max(1, Math.floor((maxPoints - 2) / 2));
  if (total <= maxPoints || total < stretches * BLOCK) {
    // Few points in range, or more stretches than blocks: sample the points themselves.
    return sampleHistory(
      readers.flatMap((read) => read()),
      options,
    );
  }
  return samplePieces(pieces, maxPoints, (i) => (readers[i] as () => Metric[])());
}
