/**
 * A metric file's latest point (metric-latest.ts: the greatest (step, timestamp, value), as
 * MLflow's FileStore picks it with Python's `max`) without reading the whole history wherever
 * something proves that a shorter read gives the same answer:
 *
 * - A file this process read before: only the lines appended since are read, when the file is
 *   still the one read (the same inode, and the same first and last 4 KiB of the bytes read:
 *   metric files are append-only). Lines in any order.
 * - A long file in (step, timestamp) order, by its history summary (history-summary.ts, kept
 *   across processes): only the lines from the first block holding its greatest (step,
 *   timestamp) on.
 * - Anything else: every line.
 *
 * `max` is a left fold, so folding the lines appended onto the latest point of the lines before
 * gives exactly the latest point of the whole file, NaN values and ties included.
 */
import { createHash } from "node:crypto";
import { readSync, type Stats } from "node:fs";
import type { Metric } from "../../entities.ts";
import { isLaterPoint } from "../../metric-latest.ts";
import { latestFrom, SUMMARY_FROM_BYTES } from "./history-summary.ts";
import { unendedPoint } from "./last-line.ts";
import { parseLine, readPoints } from "./metric-read.ts";
import { isTreeError, TreeError } from "./problems.ts";

/** Smaller files are read whole: about as cheap as proving a kept fold still holds. */
const KEEP_FROM_BYTES = 256 << 10;
/** Folds kept, the least recently used dropped first. */
const KEEP_AT_MOST = 4096;

/** A fold over the first `at` bytes (`line` whole lines) of a file. */
interface Fold {
  at: number;
  line: number;
  latest: Metric | undefined;
}

interface Kept extends Fold {
  ino: number;
  head: string;
  tail: string;
}

const kept = new Map<string, Kept>();

const PROBE = 4096;

/** Digests of the first and last 4 KiB of the file's first `size` bytes. */
function probes(fd: number, size: number): { head: string; tail: string } {
  const read = (from: number) => {
    const buffer = Buffer.alloc(Math.min(PROBE, size - from));
    readSync(fd, buffer, 0, buffer.length, from);
    return createHash("sha256").update(buffer).digest("hex");
  };
  return { head: read(0), tail: read(Math.max(0, size - PROBE)) };
}

/**
 * Folds the lines of `fd` from `from.at` to byte `stat.size`: the fold over the whole lines, and
 * the latest point with a last line without its newline taken too when it is a point
 * (last-line.ts).
 */
function fold(
  fd: number,
  from: Fold,
  stat: Stats,
  path: string,
  key: string,
): { whole: Fold; latest: Metric | undefined } {
  const { size } = stat;
  let { line, latest } = from;
  const take = (parsed: Metric | string) => {
    line++;
    if (typeof parsed === "string") throw new TreeError({ path, line, message: parsed });
    if (latest === undefined || isLaterPoint(parsed, latest)) latest = parsed;
  };
  const at = readPoints(fd, from.at, size, key, take);
  const whole = { at, line, latest };
  const unended = unendedPoint(fd, at, stat);
  if (unended !== undefined) take(parseLine(key, unended));
  return { whole, latest };
}

/** Where a fold of the file may start: a kept fold that still holds, a summary, or its start. */
function start(fd: number, stat: Stats, path: string, key: string): Fold {
  const fold = kept.get(path);
  if (fold !== undefined && fold.ino === stat.ino && fold.at <= stat.size) {
    const now = probes(fd, fold.at);
    if (now.head === fold.head && now.tail === fold.tail) return fold;
  }
  if (stat.size >= SUMMARY_FROM_BYTES) {
    try {
      const from = latestFrom(fd, path, key, stat.size);
      if (from !== undefined) return { ...from, latest: undefined };
    } catch (error) {
      // A broken line: reading every line names it with its line number.
      if (!isTreeError(error)) throw error;
    }
  }
  return { at: 0, line: 0, latest: undefined };
}

/**
 * The latest point of the metric file open as `fd`, of its first `stat.size` bytes (`stat` from
 * `fd`); the first malformed line met (or an empty file) throws, naming the file and line.
 */
export function latestInMetricFile(
  fd: number,
  stat: Stats,
  path: string,
  key: string,
): Metric | undefined {
  if (stat.size === 0) throw new TreeError({ path, message: "metric file is empty" });
  const from = start(fd, stat, path, key);
  kept.delete(path); // kept again below, as the most recently used
  const { whole, latest } = fold(fd, from, stat, path, key);
  if (stat.size >= KEEP_FROM_BYTES) {
    kept.set(path, { ...whole, ino: stat.ino, ...probes(fd, whole.at) });
    if (kept.size > KEEP_AT_MOST) kept.delete(kept.keys().next().value as string);
  }
  return latest && { ...latest }; // the kept one is never handed out
}
