/**
 * Metric files: append-only, one whole line per point, never an identical (timestamp, value,
 * step) line twice, never an empty file. The first lines of a new file appear through a link, so
 * a crash leaves either no file or a complete one; later lines go in one append-mode write.
 */
import { promises as fs } from "node:fs";
import type { Metric } from "../../entities.ts";
import { createFile, isMissing } from "./atomic.ts";
import { pyFloatRepr } from "../../py-format.ts";
import { formatMetricLine, parseMetricLine } from "./metric-lines.ts";
import type { TreeProblem } from "./problems.ts";

/**
 * A point's identity in its file: timestamp, step and the value as written. -0.0 counts as 0.0,
 * since the SQL key a tree migrates into cannot hold both.
 */
function pointId(timestamp: number, step: number, valueText: string): string {
  return `${timestamp} ${step} ${valueText === "-0.0" ? "0.0" : valueText}`;
}

interface FileState {
  /** How many bytes of the file `seen` covers. */
  size: number;
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

export class MetricFiles {
  readonly #files = new Map<string, FileState>();

  /** Appends the points not already in the file; returns how many were written. */
  async append(path: string, key: string, tempDir: string, metrics: Metric[]): Promise<number> {
    const state = await this.#catchUp(path, key);
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
    if (state.size === 0 && (await createFile(path, text, tempDir))) {
      state.size = Buffer.byteLength(text);
      return fresh.length;
    }
    // The file exists (maybe another process just created it): re-read, then append.
    if (state.size === 0) {
      for (const id of ids) state.seen.delete(id);
      return this.append(path, key, tempDir, fresh);
    }
    const handle = await fs.open(path, "a+");
    try {
      const data = (await this.#endsWithNewline(handle, state.size)) ? text : `\n${text}`;
      await handle.write(data);
      state.size += Buffer.byteLength(data);
    } finally {
      await handle.close();
    }
    return fresh.length;
  }

  /** Brings `seen` up to date with lines other writers appended since we last looked. */
  async #catchUp(path: string, key: string): Promise<FileState> {
    let state = this.#files.get(path);
    let size = 0;
    try {
      size = (await fs.stat(path)).size;
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
    if (state === undefined || size < state.size) {
      state = { size: 0, seen: new Set() };
      this.#files.set(path, state);
    }
    if (size > state.size) {
      const handle = await fs.open(path, "r");
      try {
        const buffer = Buffer.alloc(size - state.size);
        await handle.read(buffer, 0, buffer.length, state.size);
        const text = buffer.toString("utf8");
        for (const line of text.split("\n")) {
          const point = parseMetricLine(key, line);
          if (typeof point !== "string") {
            state.seen.add(pointId(point.timestamp, point.step, pyFloatRepr(point.value)));
          }
        }
        state.size = size;
      } finally {
        await handle.close();
      }
    }
    return state;
  }

  async #endsWithNewline(handle: fs.FileHandle, size: number): Promise<boolean> {
    if (size === 0) return true;
    const last = Buffer.alloc(1);
    await handle.read(last, 0, 1, size - 1);
    return last[0] === 0x0a;
  }
}
