/**
 * Metric files: append-only, one whole line per point, never an identical (timestamp, value,
 * step) line twice, never an empty file. The first lines of a new file appear through a link, so
 * a crash leaves either no file or a complete one; later lines go in one append-mode write.
 *
 * Duplicates are refused in bounded memory. Points almost always arrive in (timestamp, step)
 * order, so for each file we keep only its highest (timestamp, step) and the values logged
 * there: a point above it cannot be in the file, one at it is looked up among those values. A
 * point below it (a clock set back, a step logged again, a batch sent twice) is looked up in
 * the file itself, in the stretches whose timestamps can hold it (`Stretch`, one per MiB or
 * so). Lines other processes append are read before each write, so the check covers every line
 * the file holds when the batch is written.
 *
 * Synchronous, as run-folder.ts is: a handful of system calls per key, cheaper than the promise
 * API's round trips, and the tracker writes metric points where it cannot wait for the event
 * loop (a training loop that never awaits, process.exit()).
 */
import { closeSync, fstatSync, openSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { createFileSync, isMissing } from "../../atomic.ts";
import type { Metric } from "../../entities.ts";
import { numberText, pyFloatRepr } from "../../py-format.ts";
import { WrittenBlocks } from "./history-blocks.ts";
import { prepareKeyFile } from "./key-files.ts";
import { lastLineIsPoint } from "./last-line.ts";
import { formatMetricLine } from "./metric-lines.ts";
import { readPoints } from "./metric-read.ts";

/**
 * A point's identity in its file: timestamp, step and the value as written. -0.0 counts as 0.0,
 * since the SQL key a tree migrates into cannot hold both.
 */
export function pointId(timestamp: number, step: number, valueText: string): string {
  return `${numberText(timestamp)} ${numberText(step)} ${valueText === "-0.0" ? "0.0" : valueText}`;
}

/** A stretch of the file (whole lines, from `start` to the next stretch) and its timestamps. */
interface Stretch {
  start: number;
  minTimestamp: number;
  maxTimestamp: number;
}

interface FileState {
  /** How many bytes of the file are accounted for (always a whole number of lines). */
  size: number;
  exists: boolean;
  /** Bytes after the last whole line, and when the file last changed. */
  tail: number;
  mtimeMs: number;
  /** The highest (timestamp, step) of any line, and the values (as written) of its lines. */
  topTimestamp: number;
  topStep: number;
  topValue: string | undefined;
  moreAtTop: Set<string> | undefined;
  stretches: Stretch[];
  /** The file's summary as its lines go by (history-summary.ts); undefined once it cannot be. */
  written: WrittenBlocks | undefined;
}

/** A stretch grows to about this many bytes before the next one starts. */
const STRETCH_BYTES = 1 << 20;
const normalized = (valueText: string) => (valueText === "-0.0" ? "0.0" : valueText);

function emptyState(path: string, exists: boolean, mtimeMs: number): FileState {
  return {
    written: new WrittenBlocks(path),
    size: 0,
    exists,
    tail: 0,
    mtimeMs,
    topTimestamp: Number.NEGATIVE_INFINITY,
    topStep: Number.NEGATIVE_INFINITY,
    topValue: undefined,
    moreAtTop: undefined,
    stretches: [],
  };
}

/**
 * Records a point now in the file; returns false when an identical one is there already. Only
 * for points at or above the top: those below are checked with `#lookUp`.
 */
function raiseTop(state: FileState, timestamp: number, step: number, value: string): boolean {
  if (
    timestamp > state.topTimestamp ||
    (timestamp === state.topTimestamp && step > state.topStep)
  ) {
    state.topTimestamp = timestamp;
    state.topStep = step;
    state.topValue = value;
    state.moreAtTop = undefined;
    return true;
  }
  if (state.topValue === value || state.moreAtTop?.has(value)) return false;
  state.moreAtTop ??= new Set();
  state.moreAtTop.add(value);
  return true;
}

const belowTop = (state: FileState, timestamp: number, step: number) =>
  timestamp < state.topTimestamp || (timestamp === state.topTimestamp && step < state.topStep);

/** Accounts for `bytes` more of the file, holding timestamps from `min` to `max`. */
function extend(state: FileState, bytes: number, min: number, max: number): void {
  const last = state.stretches.at(-1);
  if (last !== undefined && state.size - last.start < STRETCH_BYTES) {
    if (min < last.minTimestamp) last.minTimestamp = min;
    if (max > last.maxTimestamp) last.maxTimestamp = max;
  } else state.stretches.push({ start: state.size, minTimestamp: min, maxTimestamp: max });
  state.size += bytes;
}

/**
 * Adds the lines just written at byte `at` (`text`, one line a point of `lines`) to the file's
 * summary, and stores what it can.
 */
function summarize(state: FileState, at: number, lines: readonly Metric[], text: string): void {
  const { written } = state;
  if (written === undefined) return;
  if (written.blocks.end !== at) {
    state.written = undefined;
    return;
  }
  let from = 0;
  for (const { step, timestamp, value } of lines) {
    const next = text.indexOf("\n", from) + 1;
    written.blocks.add(step, timestamp, value, next - from); // bytes: a metric line is ASCII
    from = next;
  }
  written.store();
}

export class MetricFiles {
  readonly #files = new Map<string, FileState>();

  /**
   * Checks every key of `metrics` against the run's `metrics/` folder (a key beside a folder of
   * the same name is refused) and makes the folders they need; returns the write, to be called
   * once everything else in the batch is checked too.
   */
  prepare(runDir: string, metrics: readonly Metric[]): () => void {
    const byKey = new Map<string, Metric[]>();
    for (const metric of metrics) {
      const points = byKey.get(metric.key);
      if (points) points.push(metric);
      else byKey.set(metric.key, [metric]);
    }
    const files = [...byKey].map(([key, points]) => ({
      key,
      points,
      file: prepareKeyFile(join(runDir, "metrics"), "metric", key),
    }));
    return () => {
      for (const { file, key, points } of files) this.append(file, key, runDir, points);
    };
  }

  /** Appends the points not already in the file; returns how many were written. */
  append(path: string, key: string, tempDir: string, metrics: readonly Metric[]): number {
    const state = this.#catchUp(path, key);
    let text = "";
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    const behind: number[] = [];
    const atTop: number[] = [];
    for (let i = 0; i < metrics.length; i++) {
      const metric = metrics[i] as Metric;
      const { timestamp, step } = metric;
      const valueText = pyFloatRepr(metric.value);
      if (belowTop(state, timestamp, step)) behind.push(i);
      else if (!raiseTop(state, timestamp, step, normalized(valueText))) atTop.push(i);
      else {
        text += formatMetricLine(metric, valueText);
        if (timestamp < min) min = timestamp;
        if (timestamp > max) max = timestamp;
      }
    }
    // The points written, in the order of their lines (for the file's summary).
    let lines: readonly Metric[] = metrics;
    if (behind.length > 0) {
      // Rare: the batch is written again in its own order, without what the file holds.
      const left = new Set([...atTop, ...this.#present(path, state, metrics, behind)]);
      lines = metrics.filter((_, i) => !left.has(i));
      text = "";
      for (const metric of lines) {
        text += formatMetricLine(metric);
        min = Math.min(min, metric.timestamp);
        max = Math.max(max, metric.timestamp);
      }
    } else if (atTop.length > 0) {
      const left = new Set(atTop);
      lines = metrics.filter((_, i) => !left.has(i));
    }
    const count = lines.length;
    if (count === 0) return 0;
    if (state.size === 0 && !state.exists) {
      if (createFileSync(path, text, tempDir)) {
        extend(state, Buffer.byteLength(text), min, max);
        state.exists = true;
        summarize(state, 0, lines, text);
        return count;
      }
      // Another process created it just now: learn its lines, then append ours.
      this.#files.delete(path);
      return this.append(path, key, tempDir, metrics);
    }
    // A last line readers take for a point (a crash's leftover): end it, so ours stay whole.
    // (A line being written right now by another process is finished within milliseconds.)
    const torn = state.tail > 0 && lastLineIsPoint(state.mtimeMs);
    const data = torn ? `\n${text}` : text;
    // One append-mode write of whole lines: concurrent writers' lines never interleave.
    const expected = state.size + state.tail;
    const fd = openSync(path, "a");
    try {
      const written = writeSync(fd, data);
      const { size } = fstatSync(fd);
      // Only when nobody else wrote meanwhile do we know the file without reading it again.
      if (size === expected + written) {
        // Lines joined to a torn one, or one ending it, are not what the summary would hold.
        if (state.tail > 0) state.written = undefined;
        state.size += state.tail;
        state.tail = 0;
        summarize(state, state.size, lines, text);
        extend(state, written, min, max);
      }
    } finally {
      closeSync(fd);
    }
    return count;
  }

  /**
   * Which of the points `behind` (below the file's top) are there already: in the file, or
   * earlier in the batch. Only the file's stretches that can hold their timestamps are read.
   */
  #present(path: string, state: FileState, metrics: readonly Metric[], behind: number[]): number[] {
    const wanted = new Map<string, number>();
    const timestamps = new Set<number>();
    const present: number[] = [];
    for (const i of behind) {
      const { timestamp, step, value } = metrics[i] as Metric;
      timestamps.add(timestamp);
      const id = pointId(timestamp, step, pyFloatRepr(value));
      if (wanted.has(id)) present.push(i);
      else wanted.set(id, i);
    }
    for (let i = 0; i < metrics.length; i++) {
      const { timestamp, step, value } = metrics[i] as Metric;
      if (!timestamps.has(timestamp)) continue;
      // A point of the batch before one below the top: written now, or already in the file.
      const id = pointId(timestamp, step, pyFloatRepr(value));
      const at = wanted.get(id);
      if (at !== undefined && at > i) {
        present.push(at);
        wanted.delete(id);
      }
    }
    const ranges = state.stretches.flatMap((stretch, index) => {
      const end = state.stretches[index + 1]?.start ?? state.size;
      for (const t of timestamps) {
        if (t >= stretch.minTimestamp && t <= stretch.maxTimestamp) return [[stretch.start, end]];
      }
      return [];
    });
    if (ranges.length === 0 || wanted.size === 0) return present;
    const fd = openSync(path, "r");
    try {
      for (const [start, end] of ranges as [number, number][]) {
        readPoints(fd, start, end, "", (point) => {
          if (typeof point === "string" || !timestamps.has(point.timestamp)) return;
          const id = pointId(point.timestamp, point.step, pyFloatRepr(point.value));
          const at = wanted.get(id);
          if (at === undefined) return;
          present.push(at);
          wanted.delete(id);
        });
      }
    } finally {
      closeSync(fd);
    }
    return present;
  }

  /**
   * Brings the state up to date with lines other writers appended since we last looked. Only
   * whole lines count: a line still being written is read next time.
   */
  #catchUp(path: string, key: string): FileState {
    let state = this.#files.get(path);
    let size = 0;
    let mtimeMs = 0;
    let exists = true;
    try {
      ({ size, mtimeMs } = statSync(path));
    } catch (error) {
      if (!isMissing(error)) throw error;
      exists = false;
    }
    if (state === undefined || size < state.size) {
      state = emptyState(path, exists, mtimeMs);
      this.#files.set(path, state);
    }
    state.exists = exists;
    state.mtimeMs = mtimeMs;
    if (size > state.size) {
      const fd = openSync(path, "r");
      try {
        const known = state;
        const end = readPoints(fd, state.size, size, key, (point, bytes) => {
          if (typeof point === "string") {
            // A broken line (MLflow would refuse the file) takes up bytes, and holds no point.
            extend(known, bytes, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY);
            known.written = undefined;
            return;
          }
          raiseTop(known, point.timestamp, point.step, normalized(pyFloatRepr(point.value)));
          known.written?.blocks.add(point.step, point.timestamp, point.value, bytes);
          extend(known, bytes, point.timestamp, point.timestamp);
        });
        state.tail = size - end;
      } finally {
        closeSync(fd);
      }
    }
    return state;
  }
}
