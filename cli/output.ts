/**
 * The only module that writes to stdout: JSON for `--json`, aligned tables and lines otherwise.
 * Colours are on only when the stream is a terminal and NO_COLOR is unset (FORCE_COLOR forces
 * them, NO_COLOR wins over it).
 */
import { stripVTControlCharacters } from "node:util";
import { UsageError } from "./errors.ts";

type Stream = { isTTY?: boolean };

export function colorsEnabled(stream: Stream = process.stdout): boolean {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== "") return false;
  const force = process.env.FORCE_COLOR;
  if (force !== undefined && force !== "") return force !== "0" && force !== "false";
  return stream.isTTY === true;
}

function style(open: number, close: number, stream: Stream) {
  return (text: string) => (colorsEnabled(stream) ? `\x1b[${open}m${text}\x1b[${close}m` : text);
}

/** Colours for stdout (`c`) and stderr (`e`). */
function palette(stream: Stream) {
  return {
    bold: style(1, 22, stream),
    dim: style(2, 22, stream),
    red: style(31, 39, stream),
    green: style(32, 39, stream),
    yellow: style(33, 39, stream),
    blue: style(34, 39, stream),
    magenta: style(35, 39, stream),
    cyan: style(36, 39, stream),
  };
}
export const c = palette(process.stdout);
export const e = palette(process.stderr);

/** JSON with NaN and the infinities as the strings "NaN", "Infinity", "-Infinity". */
export function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v) => {
      if (typeof v === "number" && !Number.isFinite(v)) return String(v);
      return v;
    },
    2,
  );
}

let jsonFields: readonly string[] | undefined;

/** The fields `--json <fields>` asked for (every field when undefined). */
export function selectJsonFields(fields: readonly string[] | undefined): void {
  jsonFields = fields;
}

/** `value` with only the paths of `fields` (`info.runId`, `metrics`); unknown heads are refused. */
function pick(value: Record<string, unknown>, fields: readonly string[], known: Set<string>) {
  const out: Record<string, unknown> = {};
  for (const field of fields) {
    const path = field.split(".");
    if (!known.has(path[0] as string)) {
      throw new UsageError(
        `Unknown JSON field '${field}'`,
        `Fields: ${[...known].join(", ")} (and paths into them, e.g. ${[...known][0]}.<key>)`,
      );
    }
    let from: unknown = value;
    let to = out;
    for (const [i, key] of path.entries()) {
      if (from === null || typeof from !== "object" || !(key in from)) break;
      from = (from as Record<string, unknown>)[key];
      if (i === path.length - 1) {
        to[key] = from;
        break;
      }
      to[key] ??= {};
      to = to[key] as Record<string, unknown>;
    }
  }
  return out;
}

/**
 * Prints `value` as JSON. With `--json <fields>`, only those fields are kept: of each element of
 * `value[list]` when the command prints a list, else of `value` itself.
 */
export function printJson(value: object, list?: string): void {
  let shown: unknown = value;
  const fields = jsonFields;
  if (fields !== undefined) {
    const record = value as Record<string, unknown>;
    const items = list === undefined ? undefined : record[list];
    if (Array.isArray(items)) {
      const known = new Set(items.flatMap((item) => Object.keys(item as object)));
      const picked = items.map((item) => pick(item, fields, known));
      shown = { ...record, [list as string]: known.size === 0 ? items : picked };
    } else shown = pick(record, fields, new Set(Object.keys(record)));
  }
  write(`${toJson(shown)}\n`);
}

let stdoutClosed = false;

/**
 * A reader that stops early (`mlruns runs list | head`) closes the pipe: output then stops
 * quietly and the command ends as it would have, instead of dying with EPIPE.
 */
export function stopOutputOnBrokenPipe(): void {
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE" && error.code !== "ERR_STREAM_DESTROYED") throw error;
    stdoutClosed = true;
  });
}

/** Writes to stdout unless the reader went away. */
export function write(data: string | Uint8Array): void {
  if (!stdoutClosed) process.stdout.write(data);
}

export function print(text = ""): void {
  write(`${text}\n`);
}

/** A message for the user that is not the command's output (goes to stderr). */
export function note(text: string): void {
  process.stderr.write(`${text}\n`);
}

const width = (text: string) => [...stripVTControlCharacters(text)].length;

/** An aligned table; `right` lists the columns aligned right (numbers). */
export function table(headers: string[], rows: string[][], right: number[] = []): void {
  const widths = headers.map((h) => width(h));
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, width(cell));
  }
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => {
        const pad = " ".repeat(Math.max(0, (widths[i] ?? 0) - width(cell)));
        return right.includes(i) ? pad + cell : cell + pad;
      })
      .join("  ")
      .trimEnd();
  print(c.bold(line(headers)));
  for (const row of rows) print(line(row));
}

/** `key  value` lines with the keys aligned. */
export function fields(entries: [string, string][]): void {
  const w = Math.max(0, ...entries.map(([k]) => width(k)));
  for (const [k, v] of entries) print(`${c.dim(k.padEnd(w))}  ${v}`);
}

/** A number as MLflow users read it: up to 6 significant digits, NaN and inf spelled out. */
export function formatNumber(value: number | undefined): string {
  if (value === undefined) return "";
  if (Number.isNaN(value)) return "nan";
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
  if (Number.isInteger(value) && Math.abs(value) < 1e15) return String(value);
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e9)) return value.toExponential(4);
  return String(Number(value.toPrecision(6)));
}

/** `1 error`, `2 errors`: a count with its noun (the plural is the noun and `s` by default). */
export function plural(count: number, noun: string, nouns = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : nouns}`;
}

export function formatTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "";
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || ms < 0) return "";
  if (ms < 1000) return `${ms}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
  const h = Math.floor(m / 60);
  return `${h}h${String(m % 60).padStart(2, "0")}m`;
}

export function formatBytes(size: number | undefined): string {
  if (size === undefined) return "";
  if (size < 1024) return `${size} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = size;
  let unit = "B";
  for (const u of units) {
    if (value < 1024) break;
    value /= 1024;
    unit = u;
  }
  return `${value.toFixed(1)} ${unit}`;
}

export function statusColor(status: string): string {
  if (status === "FINISHED") return c.green(status);
  if (status === "FAILED") return c.red(status);
  if (status === "KILLED") return c.yellow(status);
  if (status === "RUNNING") return c.cyan(status);
  return status;
}
