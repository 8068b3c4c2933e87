/**
 * A derived summary of one metric file, so that a chart of a history of millions of points is
 * sampled without reading it: per block of BLOCK consecutive lines, where they are in the file
 * and their first, last, lowest and highest point (history-blocks.ts). The writer that logs the
 * points keeps it as it goes (metric-files.ts); a file another program wrote is summed up by the
 * first reader. Either way a reader reads only the lines after the blocks kept, and keeps what it
 * read, and trusts no block that does not check against the file.
 *
 * Blocks stand in for their points only when the file is in (step, timestamp) order, which is
 * how training loops log; otherwise the history is sampled as any store does (metric-sampling).
 */
import { closeSync, fstatSync, openSync, statSync } from "node:fs";
import type { Metric } from "../../entities.ts";
import {
  type Piece,
  pointPiece,
  type SampleOptions,
  sampleHistory,
  samplePieces,
} from "../../metric-sampling.ts";
import {
  BLOCK,
  Blocks,
  COUNT,
  cacheFileOf,
  digestWhole,
  END,
  FIELDS,
  FIRST,
  LAST,
  loadBlocks,
  MAX,
  MIN,
  START,
  stillDescribes,
  storeBlocks,
} from "./history-blocks.ts";
import { unendedPoint } from "./last-line.ts";
import { readPoints } from "./metric-read.ts";

export { cacheFileOf, SUMMARY_FROM_BYTES } from "./history-blocks.ts";

import { isTreeError, TreeError } from "./problems.ts";

/** Adds the whole lines of the file after the last one `blocks` holds, up to byte `to`. */
function extend(fd: number, path: string, key: string, blocks: Blocks, to: number): void {
  readPoints(fd, blocks.end, to, key, (point, bytes) => {
    if (typeof point === "string") throw new TreeError({ path, message: point });
    blocks.add(point.step, point.timestamp, point.value, bytes);
  });
}

/**
 * Summaries read lately, by cache file, with the cache file's stamp then: a chart asked again
 * reads neither, until another process changes the cache file. Up to RECENT_BYTES of records.
 */
const recent = new Map<string, { blocks: Blocks; stamp: string }>();
const RECENT_BYTES = 32 << 20;
let recentBytes = 0;

function stampOf(file: string): string {
  try {
    const { ino, size, mtimeMs } = statSync(file);
    return `${ino} ${size} ${mtimeMs}`;
  } catch {
    return "";
  }
}

function remember(cacheFile: string, blocks: Blocks): void {
  const bytes = (held: { blocks: Blocks }) => held.blocks.records.byteLength;
  const before = recent.get(cacheFile);
  if (before !== undefined) recentBytes -= bytes(before);
  recent.delete(cacheFile);
  const entry = { blocks, stamp: stampOf(cacheFile) };
  recent.set(cacheFile, entry);
  recentBytes += bytes(entry);
  for (const [oldest, held] of recent) {
    if (recentBytes <= RECENT_BYTES || oldest === cacheFile) break;
    recent.delete(oldest);
    recentBytes -= bytes(held);
  }
}

/** A summary being read: its blocks so far, and what its cache file holds of them. */
interface Reading {
  cacheFile: string;
  blocks: Blocks;
  /** Whole blocks the cache file holds. */
  stored: number;
  /** Whether the cache file is to be written anew (records there do not check, or none). */
  replace: boolean;
}

/**
 * Where the summary of the open metric file `fd`, up to byte `size`, starts: the blocks read
 * last time in this process, or else the ones kept in the cache folder (by its writer, or by an
 * earlier reader), or none.
 */
function startReading(fd: number, path: string, size: number): Reading {
  const cacheFile = cacheFileOf(path);
  const known = recent.get(cacheFile);
  const fresh =
    known !== undefined &&
    known.blocks.end <= size &&
    known.stamp === stampOf(cacheFile) &&
    stillDescribes(fd, known.blocks);
  const kept = fresh ? undefined : loadBlocks(cacheFile, fd, size);
  const blocks =
    (fresh ? known.blocks : kept?.blocks) ?? new Blocks(undefined, 0, 0, fstatSync(fd).ino);
  // Records past the ones that check are damaged or stale: the file is written anew.
  return { cacheFile, blocks, stored: blocks.whole, replace: !fresh && !(kept?.damaged === false) };
}

/** Keeps the blocks read that the cache file does not hold yet. */
function store(fd: number, reading: Reading): void {
  if (reading.blocks.whole <= reading.stored) return;
  storeBlocks(reading.cacheFile, fd, reading.blocks, reading.replace);
  reading.stored = reading.blocks.whole;
  reading.replace = false;
}

/** Ends a reading: what is new is stored, and the summary is held for the next look. */
function finish(fd: number, path: string, reading: Reading): Blocks {
  const { blocks, cacheFile } = reading;
  if (blocks.end === 0) throw new TreeError({ path, message: "metric file is empty" });
  store(fd, reading);
  digestWhole(fd, blocks);
  if (blocks.whole > 0) remember(cacheFile, blocks);
  return blocks;
}

/**
 * The summary of the open metric file `fd` up to byte `size` (its whole lines): where
 * `startReading` finds it, extended over the lines after, which are kept in turn.
 */
function summaryAt(fd: number, path: string, key: string, size: number): Blocks {
  const reading = startReading(fd, path, size);
  extend(fd, path, key, reading.blocks, size);
  return finish(fd, path, reading);
}

/** Bytes of a metric file read between two turns of the event loop (about 13,000 lines). */
const SLICE_BYTES = 1 << 19;
/** Whole blocks read before they are stored, while a summary is built ahead. */
const STORE_EVERY = 64;

/**
 * Builds the summary of the metric file `path` ahead of a chart, exactly as a chart's first
 * read would, SLICE_BYTES at a time: each slice waits for `turn()` (false: stop), and the blocks
 * read are stored every STORE_EVERY blocks, so a chart asked meanwhile reads only the rest. A
 * broken line stops it quietly (the chart names it).
 */
export async function summarizeInSlices(
  path: string,
  key: string,
  turn: () => Promise<boolean>,
): Promise<void> {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    const reading = startReading(fd, path, size);
    const { blocks } = reading;
    while (blocks.end < size) {
      if (!(await turn())) return;
      const at = blocks.end;
      extend(fd, path, key, blocks, Math.min(size, at + SLICE_BYTES));
      // A line longer than a slice is read whole; an unfinished last line is left.
      if (blocks.end === at) extend(fd, path, key, blocks, size);
      if (blocks.end === at) break;
      if (blocks.whole - reading.stored >= STORE_EVERY) store(fd, reading);
    }
    finish(fd, path, reading);
  } catch (error) {
    if (!isTreeError(error)) throw error;
  } finally {
    closeSync(fd);
  }
}

/**
 * The current summary of a metric file, and whether the file ends in a last line without its
 * newline that is a point (last-line.ts), which no block holds.
 */
function summaryOf(path: string, key: string): { summary: Blocks; unended: boolean } {
  const fd = openSync(path, "r");
  try {
    const stat = fstatSync(fd);
    const summary = summaryAt(fd, path, key, stat.size);
    return { summary, unended: unendedPoint(fd, summary.end, stat) !== undefined };
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
  if (!summary.inOrder || summary.count === 0) return undefined;
  const r = summary.records;
  const lastOf = (b: number) => [r[b * FIELDS + LAST], r[b * FIELDS + LAST + 1]];
  const [step, timestamp] = lastOf(summary.count - 1);
  let b = summary.count - 1;
  while (b > 0 && lastOf(b - 1)[0] === step && lastOf(b - 1)[1] === timestamp) b--;
  // Every block before the last holds BLOCK lines.
  return { at: r[b * FIELDS + START] as number, line: b * BLOCK };
}

/** The points of block `b`, read from the file. */
function blockPoints(path: string, key: string, summary: Blocks, b: number): Metric[] {
  const start = summary.records[b * FIELDS + START] as number;
  const end = summary.records[b * FIELDS + END] as number;
  const points: Metric[] = [];
  const fd = openSync(path, "r");
  try {
    readPoints(fd, start, end, key, (point) => {
      if (typeof point === "string") throw new TreeError({ path, message: point });
      points.push(point);
    });
  } finally {
    closeSync(fd);
  }
  return points;
}

/** Block `b` of a summary as a piece for sampling (metric-sampling.ts `samplePieces`). */
class BlockPiece implements Piece {
  readonly #key: string;
  readonly #r: Float64Array;
  readonly #o: number;

  constructor(key: string, summary: Blocks, b: number) {
    this.#key = key;
    this.#r = summary.records;
    this.#o = b * FIELDS;
  }
  get count() {
    return this.#r[this.#o + COUNT] as number;
  }
  get first() {
    return this.#point(FIRST, 0, 1, 2);
  }
  get last() {
    return this.#point(LAST, 0, 1, 2);
  }
  get low() {
    return this.#r[this.#o + MIN] as number;
  }
  get high() {
    return this.#r[this.#o + MAX] as number;
  }
  min() {
    return { point: this.#point(MIN, 1, 2, 0), index: this.#r[this.#o + MIN + 3] as number };
  }
  max() {
    return { point: this.#point(MAX, 1, 2, 0), index: this.#r[this.#o + MAX + 3] as number };
  }
  /** The point at field `at`, its step, timestamp and value `step`, `time`, `value` after it. */
  #point(at: number, step: number, time: number, value: number): Metric {
    const field = (i: number) => this.#r[this.#o + at + i] as number;
    return { key: this.#key, step: field(step), timestamp: field(time), value: field(value) };
  }
}

/**
 * The points of the metric file `path` that sampling keeps (`sampleHistory`, metric-sampling.ts),
 * read from its summary: whole blocks stand in for their points, and only the blocks cut by the
 * step range are read, or all blocks in range when they hold few points or are longer than the
 * stretches asked for (fewer than BLOCK points a stretch). Undefined for a file not in step
 * order, or ending in a point no block holds, which only its whole history can sample.
 */
export function sampleMetricFile(
  path: string,
  key: string,
  options: SampleOptions,
): Metric[] | undefined {
  const { summary, unended } = summaryOf(path, key);
  // A crash's unended last line is rare and soon ended by the next write: read every line then.
  if (!summary.inOrder || unended) return undefined;
  const { maxPoints, startStep = -Infinity, endStep = Infinity } = options;
  const pieces: Piece[] = [];
  // What each piece is: a whole block (its index), or a point of a block cut by the range.
  const sources: (number | Metric)[] = [];
  const pointsOf = (i: number) => {
    const source = sources[i] as number | Metric;
    return typeof source === "number" ? blockPoints(path, key, summary, source) : [source];
  };
  const inRange = (point: Metric) => point.step >= startStep && point.step <= endStep;
  const r = summary.records;
  let total = 0;
  for (let b = 0; b < summary.count; b++) {
    const first = r[b * FIELDS + FIRST] as number;
    const last = r[b * FIELDS + LAST] as number;
    if (last < startStep) continue;
    if (first > endStep) break;
    if (first >= startStep && last <= endStep) {
      pieces.push(new BlockPiece(key, summary, b));
      sources.push(b);
      total += r[b * FIELDS + COUNT] as number;
      continue;
    }
    for (const point of blockPoints(path, key, summary, b).filter(inRange)) {
      pieces.push(pointPiece(point));
      sources.push(point);
      total++;
    }
  }
  const stretches = Math.max(1, Math.floor((maxPoints - 2) / 2));
  if (total <= maxPoints || total < stretches * BLOCK) {
    // Few points in range, or more stretches than blocks: sample the points themselves.
    return sampleHistory(
      pieces.flatMap((_, i) => pointsOf(i)),
      options,
    );
  }
  return samplePieces(pieces, maxPoints, pointsOf);
}
