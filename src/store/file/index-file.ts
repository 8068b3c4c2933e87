/**
 * The search index's file, `.mlruns-index.json` at the tree's root (a plain file, which MLflow
 * ignores): every run's summary and stamp (summaries.ts), so a new process starts from it. It is
 * a cache (design rule 1): missing, half-written, of another version or of the wrong shape, it
 * is ignored, and a malformed run in it is simply not used.
 *
 * Version 2 is compact JSON, because loading it is what a process pays first. Keys (params,
 * metrics, tags, user ids, statuses, experiment ids) and every value seen more than once are
 * stored once in `strings` and named by index; each run is one flat array; metric timestamps
 * are stored relative to the run's start, and an artifact URI that is the default for the run's
 * folder is left out. At 100,000 runs x 20 params x 10 metrics it is 2.4 times smaller than
 * version 1 (plain objects) and loads about twice as fast (README, Benchmarks); V8's own
 * serializer was slower to read than either.
 *
 *     { format, version: 2, root, strings: [...], runs: [[key, stamp, extra, flags, body], ...] }
 *     body = 0 | problem | [runId, experimentId, runName, userId, status, startTime, endTime,
 *                           artifactUri | 0, active (1|0), params, metrics, metricDatasets,
 *                           tags, inputs]
 *
 * where params and tags are `[key, value, ...]`, metrics `[key, value, timestamp - startTime,
 * step, ...]` (a value that JSON cannot hold, NaN, ±Infinity or -0, as its string) and
 * metricDatasets `[metricIndex, name, digest, ...]`. A value is a number (an index into
 * `strings`) or the string itself.
 */
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { isMissing, replaceFile } from "../../atomic.ts";
import type { DatasetInput, Metric, Run, RunStatus } from "../../entities.ts";
import type { TreeProblem } from "./problems.ts";
import type { Entry } from "./summaries.ts";

const FORMAT = "mlruns-search-index";
const VERSION = 2;
const RACY = 1;

type Value = number | string;

/** Keys that need no URL encoding nor path normalising (experiment and run ids): most. */
const PLAIN_KEY = /^[A-Za-z0-9_-]+(?:\/[A-Za-z0-9_-]+)*$/;

/**
 * The default artifact URI of a run folder `key` below `root`, as the FileStore writes it; the
 * root's URL is made once (pathToFileURL was most of loading the file).
 */
function artifactUris(root: string): (key: string) => string {
  const base = pathToFileURL(root).href.replace(/\/$/, "");
  return (key) =>
    PLAIN_KEY.test(key)
      ? `${base}/${key}/artifacts`
      : `${pathToFileURL(join(root, key)).href}/artifacts`;
}

const encodeNumber = (x: number): number | string =>
  Number.isFinite(x) && !Object.is(x, -0) ? x : Object.is(x, -0) ? "-0" : String(x);

/** Encodes `entries` (key: run folder below `root`) as the file's text. */
export function encodeIndex(root: string, entries: Iterable<[string, Entry]>): string {
  const list = [...entries];
  // Values seen twice or more are worth a place in the string table.
  const seen = new Map<string, number>();
  const count = (value: string) => seen.set(value, (seen.get(value) ?? 0) + 1);
  for (const [, { run }] of list) {
    if (!run) continue;
    for (const value of Object.values(run.data.params)) count(value);
    for (const value of Object.values(run.data.tags)) count(value);
  }
  const strings: string[] = [];
  const table = new Map<string, number>();
  const key = (text: string): number => {
    let at = table.get(text);
    if (at === undefined) {
      at = strings.push(text) - 1;
      table.set(text, at);
    }
    return at;
  };
  const value = (text: string): Value => ((seen.get(text) ?? 0) > 1 ? key(text) : text);
  const defaultArtifactUri = artifactUris(root);
  const runs = list.map(([dir, entry]) => {
    const flags = entry.racy ? RACY : 0;
    const extra = entry.extra.length > 0 ? entry.extra : 0;
    const { run, problem } = entry;
    if (!run) return [dir, entry.stamp, extra, flags, problem ?? 0];
    const { info, data } = run;
    const params: Value[] = [];
    for (const [k, v] of Object.entries(data.params)) params.push(key(k), value(v));
    const tags: Value[] = [];
    for (const [k, v] of Object.entries(data.tags)) tags.push(key(k), value(v));
    const metrics: Value[] = [];
    const datasets: Value[] = [];
    for (const m of Object.values(data.metrics)) {
      if (m.datasetName !== undefined && m.datasetDigest !== undefined) {
        datasets.push(metrics.length / 4, m.datasetName, m.datasetDigest);
      }
      metrics.push(key(m.key), encodeNumber(m.value), m.timestamp - info.startTime, m.step);
    }
    const uri = info.artifactUri === defaultArtifactUri(dir) ? 0 : info.artifactUri;
    const body = [
      info.runId,
      key(info.experimentId),
      info.runName,
      key(info.userId),
      key(info.status),
      info.startTime,
      info.endTime,
      uri,
      info.lifecycleStage === "active" ? 1 : 0,
      params,
      metrics,
      datasets,
      tags,
      run.inputs.length > 0 ? run.inputs : 0,
    ];
    return [dir, entry.stamp, extra, flags, body];
  });
  return JSON.stringify({ format: FORMAT, version: VERSION, root, strings, runs });
}

class Malformed extends Error {}

const fail = (): never => {
  throw new Malformed();
};
const str = (x: unknown): string => (typeof x === "string" ? x : fail());
const num = (x: unknown): number => (typeof x === "number" ? x : fail());
const arr = (x: unknown): unknown[] => (Array.isArray(x) ? x : fail());
const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === "object" && x !== null && !Array.isArray(x);
const strings = (x: unknown): Record<string, string> => {
  if (!isObject(x)) fail();
  for (const v of Object.values(x as object)) str(v);
  return x as Record<string, string>;
};

function decodeInputs(x: unknown): DatasetInput[] {
  if (x === 0) return [];
  return arr(x).map((input) => {
    if (!isObject(input) || !isObject(input.dataset)) return fail();
    strings(input.tags);
    str(input.dataset.name);
    str(input.dataset.digest);
    return input as unknown as DatasetInput;
  });
}

/** Decodes one stored run row; throws Malformed on anything not of the shape written. */
function decodeRow(
  row: unknown,
  defaultArtifactUri: (key: string) => string,
  table: string[],
): [string, Entry] {
  const [dir, stamp, extra, flags, body] = arr(row);
  const entry: Entry = { stamp: str(stamp), extra: extra === 0 ? [] : arr(extra).map(str) };
  if (flags === RACY) entry.racy = true;
  const k = (x: unknown): string => table[num(x)] ?? fail();
  const v = (x: unknown): string => (typeof x === "number" ? k(x) : str(x));
  if (isObject(body)) {
    str(body.path);
    str(body.message);
    if (body.line !== undefined) num(body.line);
    entry.problem = body as unknown as TreeProblem;
  } else if (body !== 0) {
    const [runId, experimentId, runName, userId, status, start, end, uri, active, ...rest] =
      arr(body);
    const [params, metrics, datasets, tags, inputs] = rest.map((part, i) =>
      i < 4 ? arr(part) : part,
    ) as [unknown[], unknown[], unknown[], unknown[], unknown];
    const startTime = num(start);
    const run: Run = {
      info: {
        runId: str(runId),
        experimentId: k(experimentId),
        runName: str(runName),
        userId: k(userId),
        status: k(status) as RunStatus,
        startTime,
        endTime: end === null ? null : num(end),
        artifactUri: uri === 0 ? defaultArtifactUri(str(dir)) : str(uri),
        lifecycleStage: active === 1 ? "active" : "deleted",
      },
      data: { params: {}, metrics: {}, tags: {} },
      inputs: decodeInputs(inputs),
    };
    for (let i = 0; i < params.length; i += 2) run.data.params[k(params[i])] = v(params[i + 1]);
    for (let i = 0; i < tags.length; i += 2) run.data.tags[k(tags[i])] = v(tags[i + 1]);
    const list: Metric[] = [];
    for (let i = 0; i < metrics.length; i += 4) {
      const value = metrics[i + 1];
      const metric: Metric = {
        key: k(metrics[i]),
        value: typeof value === "string" ? Number(value) : num(value),
        timestamp: startTime + num(metrics[i + 2]),
        step: num(metrics[i + 3]),
      };
      list.push(metric);
      run.data.metrics[metric.key] = metric;
    }
    for (let i = 0; i < datasets.length; i += 3) {
      const metric = list[num(datasets[i])] ?? fail();
      metric.datasetName = str(datasets[i + 1]);
      metric.datasetDigest = str(datasets[i + 2]);
    }
    entry.run = run;
  }
  return [str(dir), entry];
}

/** The entries of the index file; empty when it is missing, unreadable or not ours. */
export async function readIndex(file: string): Promise<Map<string, Entry>> {
  const entries = new Map<string, Entry>();
  let document: unknown;
  try {
    document = JSON.parse(await fs.readFile(file, "utf8"));
  } catch {
    return entries; // missing, half-written by a crashed tool, or not JSON: rebuilt
  }
  if (!isObject(document) || document.format !== FORMAT || document.version !== VERSION) {
    return entries;
  }
  const { root, strings: table, runs } = document;
  if (typeof root !== "string" || !Array.isArray(table) || !Array.isArray(runs)) return entries;
  if (!table.every((s) => typeof s === "string")) return entries;
  const defaultArtifactUri = artifactUris(root);
  for (const row of runs) {
    try {
      const [dir, entry] = decodeRow(row, defaultArtifactUri, table as string[]);
      entries.set(dir, entry);
    } catch (error) {
      if (!(error instanceof Malformed)) throw error;
      // a malformed run is simply not used
    }
  }
  return entries;
}

/** Writes the file whole (readers see the old or the new); a tree removed meanwhile is no error. */
export async function writeIndex(file: string, text: string): Promise<void> {
  try {
    await replaceFile(file, text);
  } catch (error) {
    if (!isMissing(error)) throw error;
  }
}
