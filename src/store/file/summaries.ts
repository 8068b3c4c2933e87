/**
 * Run summaries and their validity stamps, for the search index (search-index.ts).
 *
 * A summary is exactly what search needs and returns: the `Run` (info, params, tags, latest
 * metrics, dataset inputs), read by RunReader.runFromFolder. Its stamp is a digest of the metadata of
 * every inode the summary was read from: the run folder itself, meta.yaml, metrics/, params/,
 * tags/ (and nested key folders), every key file, inputs/ with each input folder and link, and
 * the experiment's dataset records the links name. Per inode: inode number, size, mtime and
 * ctime (or "missing").
 *
 * Why that is enough: creating, deleting or renaming an entry changes its folder's mtime and
 * ctime; writing a file in place (a metric append, MLflow overwriting a tag or meta.yaml)
 * changes that file's size/mtime/ctime; a file replaced by rename has a new inode. rsync -a and
 * editors may set mtimes back, but ctime is set by the kernel on every change and no tool can
 * set it. The one gap is timestamp granularity (a second write within the same clock tick as
 * the stamp, same size): a stamp taken less than RACY_MS after any of its inodes changed is
 * "racy" and never trusted; the run is read again (as git treats racy index entries).
 *
 * The paths are not stored whole: those that follow from the summary (its keys) are derived
 * again, only the rest (inputs, empty key folders, stray entries) is kept as `extra`.
 */
import { createHash } from "node:crypto";
import { type Stats, statSync } from "node:fs";
import { join } from "node:path";
import type { Metric, Run } from "../../entities.ts";
import type { TreeProblem } from "./problems.ts";
import { isTreeError, type RunReader } from "./runs.ts";
import { readRunFolder } from "./run-folder.ts";
import { isMissing } from "../../atomic.ts";

/** A stamp younger than this (ms) may miss a same-tick write: the run is re-read next time. */
export const RACY_MS = 3000;

/** One run folder in the index. Exactly one of `run` / `problem` / neither (not a run). */
export interface Entry {
  stamp: string;
  /** Paths (relative to the run folder, folders end in `/`) not derived from `run`. */
  extra: string[];
  run?: Run;
  problem?: TreeProblem;
  racy?: boolean;
}

/** The paths a summary was necessarily read from; folders end in `/`. */
export function derivedPaths(run: Run | undefined): string[] {
  const paths = ["/", "meta.yaml"];
  if (run === undefined) return paths;
  paths.push("inputs/");
  const add = (namespace: string, keys: Iterable<string>) => {
    paths.push(`${namespace}/`);
    for (const key of keys) {
      const parts = key.split("/");
      for (let i = 1; i < parts.length; i++)
        paths.push(`${namespace}/${parts.slice(0, i).join("/")}/`);
      paths.push(`${namespace}/${key}`);
    }
  };
  add("metrics", Object.keys(run.data.metrics));
  add("params", Object.keys(run.data.params));
  add("tags", Object.keys(run.data.tags));
  return paths;
}

function allPaths(entry: Entry): string[] {
  return [...new Set([...derivedPaths(entry.run), ...entry.extra])].sort();
}

/** The folders among an entry's paths, absolute: what a watcher must watch. */
export function entryFolders(runDir: string, entry: Entry): string[] {
  return allPaths(entry)
    .filter((p) => p.endsWith("/"))
    .map((p) => (p === "/" ? runDir : join(runDir, p)));
}

const describe = (stat: Stats | undefined) =>
  stat ? `${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}` : "-";

function digest(lines: string[]): string {
  return createHash("sha1").update(lines.join("\n")).digest("base64url").slice(0, 20);
}

const isRacy = (stat: Stats | undefined, now: number, racyMs: number) =>
  stat !== undefined && (now - stat.ctimeMs < racyMs || now - stat.mtimeMs < racyMs);

function statPath(runDir: string, path: string): Stats | undefined {
  return statSync(path === "/" ? runDir : join(runDir, path), { throwIfNoEntry: false });
}

/**
 * True when the entry still describes the folder: every path stat'ed again (no folder listing,
 * no file read), same digest, and the entry was not racy.
 */
export function isCurrent(runDir: string, entry: Entry): boolean {
  if (entry.racy) return false;
  const lines: string[] = [];
  for (const path of allPaths(entry)) lines.push(`${path}\0${describe(statPath(runDir, path))}`);
  return digest(lines) === entry.stamp;
}

/**
 * Reads a run folder afresh in one synchronous pass (run-folder.ts): each folder stat'ed before
 * it is listed, each file fstat'ed on the descriptor it is then read through; the stamp digests
 * those stats and the summary is assembled from those very bytes. A change racing with the read
 * leaves a stamp older than the content, which the next check sees as changed; never the
 * reverse. `beforeFolder` is called with each folder before it is stat'ed (the index watches it
 * there).
 */
export async function readEntry(
  reader: RunReader,
  runDir: string,
  report: (problem: TreeProblem) => void,
  beforeFolder: (dir: string) => void = () => {},
  racyMs = RACY_MS,
): Promise<Entry> {
  const now = Date.now();
  const read = readRunFolder(runDir, beforeFolder);
  const { stats } = read;
  const lines = [...stats.keys()].sort().map((p) => `${p}\0${describe(stats.get(p))}`);
  const entry: Entry = { stamp: digest(lines), extra: [] };
  if ([...stats.values()].some((stat) => isRacy(stat, now, racyMs))) entry.racy = true;
  if (stats.get("meta.yaml") !== undefined) {
    try {
      entry.run = reader.runFromFolder(read, report);
    } catch (error) {
      if (isTreeError(error)) entry.problem = error.problem;
      else if (!isMissing(error)) throw error;
    }
  }
  const derived = new Set(derivedPaths(entry.run));
  entry.extra = [...stats.keys()].filter((p) => !derived.has(p)).sort();
  return entry;
}

// ---- the index file's compact form of a Run (JSON has no NaN, ±Infinity or -0) ----

type JsonValue = number | string;
const encodeNumber = (x: number): JsonValue =>
  Number.isFinite(x) && !Object.is(x, -0) ? x : String(Object.is(x, -0) ? "-0" : x);
const decodeNumber = (x: JsonValue): number => (typeof x === "number" ? x : Number(x));

/** A metric as `[value, timestamp, step]` or with dataset name and digest appended. */
type StoredMetric = [JsonValue, number, number] | [JsonValue, number, number, string, string];

export interface StoredEntry {
  s: string;
  x?: string[];
  r?: Omit<Run, "data"> & {
    data: {
      params: Record<string, string>;
      tags: Record<string, string>;
      metrics: Record<string, StoredMetric>;
    };
  };
  p?: TreeProblem;
  y?: 1;
}

export function encodeEntry(entry: Entry): StoredEntry {
  const stored: StoredEntry = { s: entry.stamp };
  if (entry.extra.length > 0) stored.x = entry.extra;
  if (entry.problem) stored.p = entry.problem;
  if (entry.racy) stored.y = 1;
  if (entry.run) {
    const metrics: Record<string, StoredMetric> = {};
    for (const [key, m] of Object.entries(entry.run.data.metrics)) {
      metrics[key] =
        m.datasetName !== undefined && m.datasetDigest !== undefined
          ? [encodeNumber(m.value), m.timestamp, m.step, m.datasetName, m.datasetDigest]
          : [encodeNumber(m.value), m.timestamp, m.step];
    }
    stored.r = { ...entry.run, data: { ...entry.run.data, metrics } };
  }
  return stored;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const isStrings = (value: unknown): boolean =>
  isObject(value) && Object.values(value).every((item) => typeof item === "string");
const INFO_STRINGS = ["runId", "experimentId", "runName", "userId", "status", "artifactUri"];

function isStoredMetric(value: unknown): boolean {
  if (!Array.isArray(value) || (value.length !== 3 && value.length !== 5)) return false;
  const [number, timestamp, step, ...dataset] = value as unknown[];
  return (
    (typeof number === "number" || typeof number === "string") &&
    typeof timestamp === "number" &&
    typeof step === "number" &&
    dataset.every((part) => typeof part === "string")
  );
}

function isStoredRun(value: unknown): boolean {
  if (!isObject(value) || !isObject(value.info) || !isObject(value.data)) return false;
  const { info, data, inputs } = value;
  return (
    INFO_STRINGS.every((key) => typeof info[key] === "string") &&
    (info.lifecycleStage === "active" || info.lifecycleStage === "deleted") &&
    typeof info.startTime === "number" &&
    (info.endTime === null || typeof info.endTime === "number") &&
    isStrings(data.params) &&
    isStrings(data.tags) &&
    isObject(data.metrics) &&
    Object.values(data.metrics).every(isStoredMetric) &&
    Array.isArray(inputs) &&
    inputs.every(
      (input: unknown) =>
        isObject(input) &&
        isStrings(input.tags) &&
        isObject(input.dataset) &&
        typeof input.dataset.name === "string" &&
        typeof input.dataset.digest === "string",
    )
  );
}

/** Whether a stored entry has the shape `encodeEntry` writes: the index file is only a cache. */
export function isStoredEntry(value: unknown): value is StoredEntry {
  if (!isObject(value) || typeof value.s !== "string") return false;
  const { x, p, r } = value;
  return (
    (x === undefined || (Array.isArray(x) && x.every((path) => typeof path === "string"))) &&
    (p === undefined ||
      (isObject(p) && typeof p.path === "string" && typeof p.message === "string")) &&
    (r === undefined || isStoredRun(r))
  );
}

export function decodeEntry(stored: StoredEntry): Entry {
  const entry: Entry = { stamp: stored.s, extra: stored.x ?? [] };
  if (stored.p) entry.problem = stored.p;
  if (stored.y) entry.racy = true;
  if (stored.r) {
    const metrics: Record<string, Metric> = {};
    for (const [key, m] of Object.entries(stored.r.data.metrics)) {
      const metric: Metric = { key, value: decodeNumber(m[0]), timestamp: m[1], step: m[2] };
      if (m.length === 5) {
        metric.datasetName = m[3];
        metric.datasetDigest = m[4];
      }
      metrics[key] = metric;
    }
    entry.run = { ...stored.r, data: { ...stored.r.data, metrics } };
  }
  return entry;
}
