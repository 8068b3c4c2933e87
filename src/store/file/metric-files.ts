/**
 * Metric files: append-only, one whole line per point, never an identical (timestamp, value,
 * step) line twice, never an empty file. The first lines of a new file appear through a link, so
 * a crash leaves either no file or a complete one; later lines go in one append-mode write.
 *
 * Synchronous, as run-folder.ts is: a handful of system calls per key, cheaper than the promise
 * API's round trips, and the tracker writes metric points where it cannot wait for the event
 * loop (a training loop that never awaits, process.exit()).
 */
import { closeSync, fstatSync, openSync, readSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { Metric } from "../../entities.ts";
import { createFileSync, isMissing } from "./atomic.ts";
import { prepareKeyFile } from "./key-files.ts";
import { pyFloatRepr } from "../../py-format.ts";
import { formatMetricLine, parseMetricLine } from "./metric-lines.ts";
import type { TreeProblem } from "./problems.ts";

/**
 * A point's identity in its file: timestamp, step and the value as written. -0.0 counts as 0.0,
 * since the SQL key a tree migrates into cannot hold both.
 */
export function pointId(timestamp: number, step: number, valueText: string): string {
  return `${timestamp} ${step} ${valueText === "-0.0" ? "0.0" : valueText}`;
}

interface FileState {
  /** How many bytes of the file `seen` covers (always a whole number of lines). */
  size: number;
  exists: boolean;
  /** Bytes after the last whole line, and when the file last changed. */
  tail: number;
  mtimeMs: number;
  seen: Set<string>;
}

export interface ParsedHistory {
  points: Metric[];
  problems: TreeProblem[];
}

/** Parses a whole metric file; bad lines become problems naming the file and line. */
export function parseMetricFile(path: string, key: string, text: string): ParsedHistory {
  const points: Metric[] = [];
  const problems: TreeProblem[] = [];
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  if (lines.length === 0) problems.push({ path, message: "metric file is empty" });
  lines.forEach((line, index) => {
    const parsed = parseMetricLine(key, line);
    if (typeof parsed === "string") problems.push({ path, line: index + 1, message: parsed });
    else points.push(parsed);
  });
  return { points, problems };
}

const TORN_AFTER_MS = 5000;

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
  append(path: string, key: string, tempDir: string, metrics: Metric[]): number {
    const state = this.#catchUp(path, key);
    const fresh: Metric[] = [];
    const ids: string[] = [];
    let text = "";
    for (const metric of metrics) {
      const valueText = pyFloatRepr(metric.value);
      const id = pointId(metric.timestamp, metric.step, valueText);
      if (state.seen.has(id)) continue;
      state.seen.add(id);
      ids.push(id);
      fresh.push(metric);
      text += formatMetricLine(metric, valueText);
    }
    if (fresh.length === 0) return 0;
    if (state.size === 0 && !state.exists) {
      if (createFileSync(path, text, tempDir)) {
        state.size = Buffer.byteLength(text);
        state.exists = true;
        return fresh.length;
      }
      // Another process created it just now: learn its lines, then append ours.
      for (const id of ids) state.seen.delete(id);
      return this.append(path, key, tempDir, fresh);
    }
    // A last line left unfinished long ago is a crash's leftover: end it, so ours stay whole.
    // (A line being written right now by another process is finished within milliseconds.)
    const torn = state.tail > 0 && Date.now() - state.mtimeMs > TORN_AFTER_MS;
    const data = torn ? `\n${text}` : text;
    // One append-mode write of whole lines: concurrent writers' lines never interleave.
    const fd = openSync(path, "a");
    try {
      const before = state.size + state.tail;
      const bytes = Buffer.from(data);
      writeSync(fd, bytes);
      const { size } = fstatSync(fd);
      // Only when nobody else wrote meanwhile do we know the file without reading it again.
      if (size === before + bytes.length) {
        state.size = size;
        state.tail = 0;
      }
    } finally {
      closeSync(fd);
    }
    return fresh.length;
  }

  /**
   * Brings `seen` up to date with lines other writers appended since we last looked. Only whole
   * lines count: a line still being written is read next time.
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
      state = { size: 0, exists, seen: new Set(), tail: 0, mtimeMs };
      this.#files.set(path, state);
    }
    Object.assign(state, { exists, mtimeMs });
    if (size > state.size) {
      const fd = openSync(path, "r");
      try {
        const buffer = Buffer.alloc(size - state.size);
        const bytesRead = readSync(fd, buffer, 0, buffer.length, state.size);
        const complete = buffer.subarray(0, buffer.lastIndexOf(0x0a, bytesRead - 1) + 1);
        for (const line of complete.toString("utf8").split("\n")) {
          const point = parseMetricLine(key, line);
          if (typeof point !== "string") {
            state.seen.add(pointId(point.timestamp, point.step, pyFloatRepr(point.value)));
          }
        }
        state.size += complete.length;
        state.tail = bytesRead - complete.length;
      } finally {
        closeSync(fd);
      }
    }
    return state;
  }
}
