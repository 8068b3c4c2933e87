/**
 * Merging runs from an unpacked (and checked) bundle into a tree, keeping run ids. A run the tree
 * lacks is moved in whole (one rename: it appears complete or not at all). A run the tree has is
 * merged file by file: metric points it lacks are appended (never one twice), params and other
 * files it lacks are created, and, where both hold a value, the run's origin tree has the last
 * word: a tree importing its own run keeps its values, a copy takes the bundle's (newer) ones.
 * Nothing is ever removed.
 */
import { createHash } from "node:crypto";
import { createReadStream, promises as fs } from "node:fs";
import { dirname, join, sep } from "node:path";
import { pathToFileURL } from "node:url";
import type { Metric } from "../entities.ts";
import { invalid } from "../errors.ts";
import { pyFloatRepr } from "../py-format.ts";
import { createFile, isMissing, readTextIfExists, replaceFile } from "../store/file/atomic.ts";
import { prepareKeyFile } from "../store/file/key-files.ts";
import {
  readExperimentDocument,
  readRunDocument,
  runDocument,
  type StoredRun,
} from "../store/file/meta.ts";
import { type MetricFiles, pointId } from "../store/file/metric-files.ts";
import { parseMetricLine } from "../store/file/metric-lines.ts";
import { fromYaml, toYaml } from "../store/file/yaml.ts";
import { type BundleRun, type Manifest, ORIGIN_FILE, TREE } from "./manifest.ts";
import { walk } from "./snapshot.ts";

export interface MergeCounts {
  points: number;
  params: number;
  tags: number;
  artifacts: number;
  bytes: number;
}

export interface ImportIssue {
  runId?: string;
  experiment?: string;
  what: string;
  message: string;
}

/** Calls `onLine` for each line of a file (without its line break), reading in chunks. */
async function forEachLine(
  path: string,
  onLine: (line: string, number: number) => void,
): Promise<void> {
  let carry = "";
  let number = 0;
  for await (const chunk of createReadStream(path, { encoding: "utf8", highWaterMark: 1 << 20 })) {
    const lines = (carry + chunk).split("\n");
    carry = lines.pop() as string;
    for (const line of lines) onLine(line, ++number);
  }
  if (carry !== "") onLine(carry, ++number);
}

function yamlMapping(text: string, where: string): Record<string, unknown> {
  let document: unknown;
  try {
    document = fromYaml(text);
  } catch (error) {
    throw unreadable(where, `not valid YAML: ${(error as Error).message}`);
  }
  if (document === null || typeof document !== "object" || Array.isArray(document)) {
    throw unreadable(where, "not a YAML mapping");
  }
  return document as Record<string, unknown>;
}

const unreadable = (where: string, message: string) =>
  invalid(
    `The bundle holds a file MLflow could not read: ${where}: ${message}`,
    "Fix the source tree (`mlruns verify --fix`), then export again",
  );

/** A run's meta.yaml from a staged or tree folder, checked. */
export async function readRunMeta(
  runDir: string,
  runId: string,
  where: string,
): Promise<StoredRun> {
  const run = readRunDocument(
    yamlMapping(await fs.readFile(join(runDir, "meta.yaml"), "utf8"), where),
    runId,
  );
  if (typeof run === "string") throw unreadable(where, run);
  return run;
}

/**
 * Checks what the tree would read of the staged runs and experiments: every meta.yaml, every
 * metric line, every dataset and input record; throws naming the first bad file and line.
 * Returns what each run holds.
 */
export async function checkStaged(
  staged: string,
  manifest: Manifest,
): Promise<Map<string, MergeCounts>> {
  for (const experiment of manifest.experiments) {
    const folder = join(staged, experiment.id);
    const where = `${TREE}/${experiment.id}/meta.yaml`;
    const text = await fs.readFile(join(folder, "meta.yaml"), "utf8");
    const meta = readExperimentDocument(yamlMapping(text, where), experiment.id);
    if (typeof meta === "string") throw unreadable(where, meta);
    for (const [rel, abs] of (await walk(folder, (rel) => rel.split("/")[0] !== "datasets"))
      .files) {
      yamlMapping(await fs.readFile(abs, "utf8"), `${TREE}/${experiment.id}/${rel}`);
    }
  }
  const contents = new Map<string, MergeCounts>();
  const sizes = new Map(manifest.files.map((f) => [f.path, f.size]));
  for (const run of manifest.runs) {
    const folder = join(staged, run.experiment, run.id);
    const prefix = `${TREE}/${run.experiment}/${run.id}`;
    const counts = { points: 0, params: 0, tags: 0, artifacts: 0, bytes: 0 };
    contents.set(run.id, counts);
    await readRunMeta(folder, run.id, `${prefix}/meta.yaml`);
    for (const [rel, abs] of (await walk(folder)).files) {
      const where = `${prefix}/${rel}`;
      const namespace = rel.slice(0, rel.indexOf("/"));
      if (namespace === "metrics") {
        const key = rel.slice("metrics/".length);
        await forEachLine(abs, (line, number) => {
          const parsed = parseMetricLine(key, line);
          if (typeof parsed === "string") throw unreadable(`${where}:${number}`, parsed);
          counts.points++;
        });
      } else if (/^inputs\/[^/]+\/meta\.yaml$/.test(rel)) {
        yamlMapping(await fs.readFile(abs, "utf8"), where);
      } else if (namespace === "params" || namespace === "tags") counts[namespace]++;
      else if (namespace === "artifacts") {
        counts.artifacts++;
        counts.bytes += sizes.get(where) ?? 0;
      }
    }
  }
  return contents;
}

/** Every run folder of a tree (active and deleted experiments) by run id. */
export async function treeRuns(root: string): Promise<Map<string, string>> {
  const runs = new Map<string, string>();
  for (const parent of [root, join(root, ".trash")]) {
    const experiments = await fs.readdir(parent, { withFileTypes: true }).catch(() => []);
    for (const experiment of experiments) {
      if (
        !experiment.isDirectory() ||
        experiment.name.startsWith(".") ||
        experiment.name === "models"
      )
        continue;
      const folder = join(parent, experiment.name);
      for (const entry of await fs.readdir(folder, { withFileTypes: true })) {
        if (!entry.isDirectory() || runs.has(entry.name)) continue;
        const meta = await fs.stat(join(folder, entry.name, "meta.yaml")).catch(() => undefined);
        if (meta?.isFile()) runs.set(entry.name, join(folder, entry.name));
      }
    }
  }
  return runs;
}

/** The tree a run in a tree belongs to: its origin tag, else the tree's own id. */
export async function originInTree(runDir: string, treeId: string): Promise<string> {
  return (await readTextIfExists(join(runDir, ...ORIGIN_FILE.split("/")))) ?? treeId;
}

/**
 * Moves a staged run into the tree as `runDir` (in experiment `experimentId`). False when a run
 * of that id appeared there meanwhile (then merge into it instead).
 */
export async function placeRun(
  staged: string,
  runDir: string,
  experimentId: string,
  run: BundleRun,
  treeId: string,
): Promise<boolean> {
  const stored = await readRunMeta(staged, run.id, "meta.yaml");
  stored.info.experimentId = experimentId;
  if (stored.info.artifactUri === `${TREE}/${run.experiment}/${run.id}/artifacts`) {
    stored.info.artifactUri = pathToFileURL(join(runDir, "artifacts")).href;
  }
  await replaceFile(join(staged, "meta.yaml"), toYaml(runDocument(stored)), staged);
  if (run.origin === treeId) await fs.rm(join(staged, ...ORIGIN_FILE.split("/")));
  for (const folder of ["metrics", "params", "tags", "artifacts"]) {
    await fs.mkdir(join(staged, folder), { recursive: true });
  }
  try {
    await fs.rename(staged, runDir);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST" || code === "ENOTEMPTY") return false;
    throw error;
  }
}

const terminal = (status: string) => status !== "RUNNING" && status !== "SCHEDULED";

/** The run's meta.yaml after the merge, or undefined when it stays as it is. */
function mergedMeta(
  here: StoredRun,
  incoming: StoredRun,
  authority: boolean,
): StoredRun | undefined {
  const info = { ...here.info };
  let deletedTime = here.deletedTime;
  const theirs = incoming.info;
  const later = (theirs.endTime ?? 0) > (info.endTime ?? 0);
  if (terminal(theirs.status) && (!terminal(info.status) || (later && !authority))) {
    info.status = theirs.status;
    info.endTime = theirs.endTime;
  }
  if (!authority) {
    info.runName = theirs.runName;
    if (theirs.lifecycleStage !== info.lifecycleStage) {
      info.lifecycleStage = theirs.lifecycleStage;
      deletedTime = incoming.deletedTime;
    }
  }
  const merged = { info, deletedTime };
  return JSON.stringify(merged) === JSON.stringify(here) ? undefined : merged;
}

/** Whether `file` would be written inside `base` (no link in the tree leads elsewhere). */
async function inside(base: string, file: string): Promise<boolean> {
  const [realBase, realDir] = await Promise.all([fs.realpath(base), fs.realpath(dirname(file))]);
  return realDir === realBase || realDir.startsWith(`${realBase}${sep}`);
}

async function sameContent(a: string, b: string): Promise<boolean> {
  const [sa, sb] = await Promise.all([fs.stat(a), fs.stat(b).catch(() => undefined)]);
  if (sb === undefined || sa.size !== sb.size) return false;
  const digest = async (path: string) => {
    const hash = createHash("sha256");
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    return hash.digest("hex");
  };
  return (await digest(a)) === (await digest(b));
}

export interface MergeTarget {
  /** The run's folder in the tree. */
  runDir: string;
  /** Its artifact folder, or null when its artifacts live outside any tree. */
  artifactDir: string | null;
  /** True when the tree is the run's origin: its values win. */
  authority: boolean;
}

/**
 * Merges a staged run into the tree's run of the same id. Returns what was (or, in a dry run,
 * would be) written; problems go to `issues`.
 */
export async function mergeRun(
  staged: string,
  target: MergeTarget,
  run: BundleRun,
  context: { dryRun: boolean; metrics: MetricFiles; issues: ImportIssue[] },
): Promise<MergeCounts & { wrote: boolean }> {
  const { runDir, artifactDir, authority } = target;
  const counts = { points: 0, params: 0, tags: 0, artifacts: 0, bytes: 0, wrote: false };
  const issue = (what: string, message: string) =>
    context.issues.push({ runId: run.id, what, message });
  const write = async (file: string, base: string, action: () => unknown) => {
    await fs.mkdir(dirname(file), { recursive: true });
    if (!(await inside(base, file)))
      throw invalid(`${file} lies behind a link out of ${base}; nothing written there`);
    await action();
  };
  const { files, dirs } = await walk(staged);
  for (const rel of dirs) {
    if (rel.startsWith("artifacts") || context.dryRun) continue;
    await fs.mkdir(join(runDir, ...rel.split("/")), { recursive: true });
  }
  for (const [rel, abs] of files) {
    const [namespace = "", ...rest] = rel.split("/");
    const key = rest.join("/");
    if (rel === "meta.yaml") {
      const merged = mergedMeta(
        await readRunMeta(runDir, run.id, "meta.yaml"),
        await readRunMeta(staged, run.id, "meta.yaml"),
        authority,
      );
      if (merged === undefined) continue;
      counts.wrote = true;
      if (!context.dryRun)
        await replaceFile(join(runDir, "meta.yaml"), toYaml(runDocument(merged)), runDir);
    } else if (rel === ORIGIN_FILE) {
      // Already the same: the run was matched by it.
    } else if (namespace === "metrics") {
      const points: Metric[] = [];
      await forEachLine(abs, (line) => points.push(parseMetricLine(key, line) as Metric));
      const file = join(runDir, "metrics", ...rest);
      const present = new Set<string>();
      await forEachLine(file, (line) => {
        const point = parseMetricLine(key, line);
        if (typeof point !== "string")
          present.add(pointId(point.timestamp, point.step, pyFloatRepr(point.value)));
      }).catch((error: unknown) => {
        if (!isMissing(error)) throw error;
      });
      const fresh = points.filter(
        (p) => !present.has(pointId(p.timestamp, p.step, pyFloatRepr(p.value))),
      );
      if (fresh.length === 0) continue;
      counts.points += fresh.length;
      counts.wrote = true;
      if (context.dryRun) continue;
      const target = prepareKeyFile(join(runDir, "metrics"), "metric", key);
      await write(target, runDir, () => context.metrics.append(target, key, runDir, fresh));
    } else if (namespace === "params" || namespace === "tags") {
      const value = await fs.readFile(abs, "utf8");
      const file = join(runDir, namespace, ...rest);
      const existing = await readTextIfExists(file);
      if (existing === value || (existing !== undefined && authority && namespace === "tags")) {
        continue;
      }
      if (existing !== undefined && namespace === "params") {
        issue(
          `param ${key}`,
          `the tree has '${existing}', the bundle '${value}'; params cannot change`,
        );
        continue;
      }
      counts[namespace] += 1;
      counts.wrote = true;
      if (context.dryRun) continue;
      const target = prepareKeyFile(
        join(runDir, namespace),
        namespace === "params" ? "param" : "tag",
        key,
      );
      await write(target, runDir, () =>
        namespace === "params"
          ? createFile(target, value, runDir)
          : replaceFile(target, value, runDir),
      );
    } else if (namespace === "artifacts") {
      if (artifactDir === null) {
        issue(`artifact ${key}`, "this run's artifacts live outside the tree; not imported");
        continue;
      }
      const file = join(artifactDir, ...rest);
      const exists = (await fs.stat(file).catch(() => undefined)) !== undefined;
      if ((exists && authority) || (await sameContent(abs, file))) continue;
      const { size } = await fs.stat(abs);
      counts.artifacts += 1;
      counts.bytes += size;
      counts.wrote = true;
      if (context.dryRun) continue;
      await write(file, artifactDir, () => moveFile(abs, file, runDir));
    } else {
      // inputs/<id>/meta.yaml and anything else MLflow keeps in a run: created when missing.
      const file = join(runDir, ...rel.split("/"));
      if ((await fs.stat(file).catch(() => undefined)) !== undefined) continue;
      counts.wrote = true;
      if (!context.dryRun) await write(file, runDir, () => moveFile(abs, file, runDir));
    }
  }
  return counts;
}

/** Moves a staged file into place, whole: a rename, or a copy to a temp file then a rename. */
async function moveFile(from: string, to: string, tempDir: string): Promise<void> {
  try {
    await fs.rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EXDEV") throw error;
    const temp = join(tempDir, `.tmp-${createHash("sha1").update(to).digest("hex").slice(0, 16)}`);
    await fs.copyFile(from, temp);
    await fs.rename(temp, to);
  }
}

/** The experiment's dataset records the tree lacks, created from the staged experiment. */
export async function mergeDatasets(
  stagedExperiment: string,
  experimentDir: string,
  dryRun: boolean,
): Promise<void> {
  const { files } = await walk(stagedExperiment, (rel) => rel.split("/")[0] !== "datasets");
  for (const [rel, abs] of files) {
    const file = join(experimentDir, ...rel.split("/"));
    if (dryRun || (await fs.stat(file).catch(() => undefined)) !== undefined) continue;
    await fs.mkdir(dirname(file), { recursive: true });
    await createFile(file, await fs.readFile(abs), experimentDir);
  }
}
