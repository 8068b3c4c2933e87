/**
 * What both parts of the UI bench (ui.ts, ui-charts.ts) use: figures' formats, the page's
 * request timings, the server process's CPU, running a script in the page, and printing rows
 * as they are measured.
 */
import { readFileSync } from "node:fs";
import type { Page } from "playwright-core";
import type { Row } from "./report.ts";

export const ms = (value: number) => `${value.toFixed(value < 10 ? 1 : 0)} ms`;
export const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
export const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
export const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[
    Math.min(values.length - 1, Math.floor(values.length * p))
  ] as number;

/** The page's timings of its requests to `part` (a path piece): fetch and server milliseconds. */
export const TIMINGS = `(part) => performance.getEntriesByType("resource")
  .filter((e) => e.name.includes(part))
  .map((e) => ({
    url: e.name,
    fetch: e.responseEnd - e.startTime,
    server: e.serverTiming?.find((t) => t.name === "window" || t.name === "sample")?.duration ?? null,
    cpu: e.serverTiming?.find((t) => t.name === "cpu")?.duration ?? null,
  }))`;

export interface Timing {
  url: string;
  fetch: number;
  /** The server's wall time and CPU time for the answer (its Server-Timing). */
  server: number | null;
  cpu: number | null;
}

/** The server process's CPU time so far (Linux /proc), in ms. */
export function cpuOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  // utime and stime, fields 14 and 15 of stat, in clock ticks (100 a second on Linux).
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

export const inPage = <T>(page: Page, fn: string, arg?: unknown): Promise<T> =>
  page.evaluate(`(${fn})(${arg === undefined ? "" : JSON.stringify(arg)})`) as Promise<T>;

/** Rows as they are measured: printed at once, so a run cut short still says what it reached. */
export function reporter(rows: Row[]) {
  return (what: string, ours: string, ratio = "") => {
    rows.push({ what, ours, mlflow: "", ratio });
    console.error(`  ${what}: ${ours}${ratio ? ` (${ratio})` : ""}`);
  };
}

export type Report = ReturnType<typeof reporter>;
