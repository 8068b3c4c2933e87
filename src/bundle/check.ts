/**
 * What a tree would read of an unpacked bundle, checked before anything is merged: every
 * meta.yaml (runs, experiments, datasets, inputs) is YAML of the shape MLflow reads, and every
 * metric line is one MLflow parses. The first bad file (and line) is named in the error.
 */
import { createReadStream, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { invalid } from "../errors.ts";
import { readExperimentDocument, readRunDocument, type StoredRun } from "../store/file/meta.ts";
import { parseMetricLine } from "../store/file/metric-lines.ts";
import { fromYaml, yamlProblem } from "../store/file/yaml.ts";
import type { Manifest } from "./manifest.ts";
import { TREE } from "./manifest.ts";
import { SMALL_FILE, walk } from "./snapshot.ts";

export interface RunContents {
  points: number;
  params: number;
  tags: number;
  artifacts: number;
  bytes: number;
}

const unreadable = (where: string, message: string) =>
  invalid(
    `The bundle holds a file MLflow could not read: ${where}: ${message}`,
    "Fix the source tree (`mlruns verify --fix`), then export again",
  );

function yamlMapping(text: string, where: string): Record<string, unknown> {
  let document: unknown;
  try {
    document = fromYaml(text);
  } catch (error) {
    throw unreadable(where, yamlProblem(error));
  }
  if (document === null || typeof document !== "object" || Array.isArray(document)) {
    throw unreadable(where, "not a YAML mapping");
  }
  return document as Record<string, unknown>;
}

/** A run's meta.yaml from a staged or tree folder, checked; `where` names it in errors. */
export function readRunMeta(runDir: string, runId: string, where: string): StoredRun {
  const document = yamlMapping(readFileSync(join(runDir, "meta.yaml"), "utf8"), where);
  const run = readRunDocument(document, runId);
  if (typeof run === "string") throw unreadable(where, run);
  return run;
}

const FLOAT = String.raw`[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?|[+-]?(?:nan|inf|infinity)`;
/** One metric line as parseMetricLine accepts it (2, 3 or 5 fields), anchored where it starts. */
const LINE = new RegExp(
  String.raw`[+-]?\d+ (?:${FLOAT})(?: [+-]?\d+(?: [^ \n]* [^ \n]*)?)?\r?(?:\n|$)`,
  "iy",
);

/**
 * Counts the metric lines of `text`, throwing on the first one MLflow could not read. A fast
 * anchored pattern passes good lines; the first it does not is judged by parseMetricLine, which
 * has the last word.
 */
function metricLines(text: string, key: string, where: string, firstLine: number): number {
  let count = 0;
  for (let at = 0; at < text.length; count++) {
    LINE.lastIndex = at;
    if (LINE.test(text)) {
      at = LINE.lastIndex;
      continue;
    }
    const end = text.indexOf("\n", at);
    const line = text.slice(at, end < 0 ? text.length : end);
    const parsed = parseMetricLine(key, line);
    if (typeof parsed === "string") throw unreadable(`${where}:${firstLine + count}`, parsed);
    at = end < 0 ? text.length : end + 1;
  }
  return count;
}

/** The number of points in a metric file, checked line by line (large files in chunks). */
export async function checkMetricFile(path: string, key: string, where: string): Promise<number> {
  if (statSync(path).size <= SMALL_FILE)
    return metricLines(readFileSync(path, "utf8"), key, where, 1);
  let count = 0;
  let carry = "";
  for await (const chunk of createReadStream(path, {
    encoding: "utf8",
    highWaterMark: SMALL_FILE,
  })) {
    const text = carry + (chunk as string);
    const end = text.lastIndexOf("\n") + 1;
    count += metricLines(text.slice(0, end), key, where, count + 1);
    carry = text.slice(end);
  }
  return count + metricLines(carry, key, where, count + 1);
}

/**
 * Checks the staged experiments and runs as the tree would read them; throws naming the first
 * bad file and line. Returns what each run holds.
 */
export async function checkStaged(
  staged: string,
  manifest: Manifest,
): Promise<Map<string, RunContents>> {
  for (const experiment of manifest.experiments) {
    const folder = join(staged, experiment.id);
    const where = `${TREE}/${experiment.id}/meta.yaml`;
    const meta = readExperimentDocument(
      yamlMapping(readFileSync(join(folder, "meta.yaml"), "utf8"), where),
      experiment.id,
    );
    if (typeof meta === "string") throw unreadable(where, meta);
    for (const [rel, abs] of walk(folder, (rel) => rel.split("/")[0] !== "datasets").files) {
      yamlMapping(readFileSync(abs, "utf8"), `${TREE}/${experiment.id}/${rel}`);
    }
  }
  const contents = new Map<string, RunContents>();
  const sizes = new Map(manifest.files.map((f) => [f.path, f.size]));
  for (const run of manifest.runs) {
    const folder = join(staged, run.experiment, run.id);
    const prefix = `${TREE}/${run.experiment}/${run.id}`;
    const counts = { points: 0, params: 0, tags: 0, artifacts: 0, bytes: 0 };
    contents.set(run.id, counts);
    readRunMeta(folder, run.id, `${prefix}/meta.yaml`);
    for (const [rel, abs] of walk(folder).files) {
      const where = `${prefix}/${rel}`;
      const namespace = rel.slice(0, rel.indexOf("/"));
      if (namespace === "metrics") {
        counts.points += await checkMetricFile(abs, rel.slice("metrics/".length), where);
      } else if (/^inputs\/[^/]+\/meta\.yaml$/.test(rel)) {
        yamlMapping(readFileSync(abs, "utf8"), where);
      } else if (namespace === "params" || namespace === "tags") counts[namespace]++;
      else if (namespace === "artifacts") {
        counts.artifacts++;
        counts.bytes += sizes.get(where) ?? 0;
      }
    }
  }
  return contents;
}
