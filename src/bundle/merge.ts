/**
 * Merging runs from an unpacked (and checked) bundle into a tree, keeping run ids. A run the tree
 * lacks is moved in whole (one rename: it appears complete or not at all). A run the tree has is
 * merged file by file: metric points it lacks are appended (never one twice), params and other
 * files it lacks are created, and, where both hold a value, the run's origin tree has the last
 * word: a tree importing its own run keeps its values, a copy takes the bundle's (newer) ones.
 * Nothing is ever removed.
 */
import { createHash } from "node:crypto";
import {
  closeSync,
  createReadStream,
  existsSync,
  promises as fs,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { dirname, join, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { copyFileWhole, createFile, replaceFile } from "../atomic.ts";
import type { Metric } from "../entities.ts";
import { invalid } from "../errors.ts";
import { pyFloatRepr } from "../py-format.ts";
import { prepareKeyFile } from "../store/file/key-files.ts";
import { runDocument, type StoredRun } from "../store/file/meta.ts";
import { type MetricFiles, pointId } from "../store/file/metric-files.ts";
import { parseMetricLine } from "../store/file/metric-lines.ts";
import { toYaml } from "../store/file/yaml.ts";
import { type RunContents, readRunMeta } from "./check.ts";
import { type BundleRun, ORIGIN_FILE, TREE } from "./manifest.ts";
import { SMALL_FILE, walk } from "./snapshot.ts";
import { holdsLines, readIfThere } from "./tree.ts";

export type MergeCounts = RunContents;

export interface ImportIssue {
  runId?: string;
  experiment?: string;
  what: string;
  message: string;
}

/**
 * Moves a staged run into the tree as `runDir` (in experiment `experimentId`). False when a run
 * of that id appeared there meanwhile (then merge into it instead).
 */
export function placeRun(
  staged: string,
  runDir: string,
  experimentId: string,
  run: BundleRun,
  treeId: string,
): boolean {
  const stored = readRunMeta(staged, run.id, "meta.yaml");
  stored.info.experimentId = experimentId;
  if (stored.info.artifactUri === `${TREE}/${run.experiment}/${run.id}/artifacts`) {
    stored.info.artifactUri = pathToFileURL(join(runDir, "artifacts")).href;
  }
  // Synchronous: a few small steps per run, where thread-pool round trips would cost the most.
  // meta.yaml is on disk (fsync) before the run appears under its name.
  const fd = openSync(join(staged, "meta.yaml"), "w");
  try {
    writeSync(fd, toYaml(runDocument(stored)));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  if (run.origin === treeId) rmSync(join(staged, ...ORIGIN_FILE.split("/")));
  for (const folder of ["metrics", "params", "tags", "artifacts"]) {
    mkdirSync(join(staged, folder), { recursive: true });
  }
  try {
    renameSync(staged, runDir);
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

/**
 * Whether `file` would be written inside `base`: the nearest folder of it that exists leads (no
 * link out of the tree) into `base`. Checked before its missing folders are made.
 */
function inside(base: string, file: string): boolean {
  let dir = dirname(file);
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  const [realBase, realDir] = [realpathSync(base), realpathSync(dir)];
  return realDir === realBase || realDir.startsWith(`${realBase}${sep}`);
}

/** Whether two files hold the same bytes (`b` may be missing). */
async function sameContent(a: string, b: string): Promise<boolean> {
  const [sa, sb] = [statSync(a), statSync(b, { throwIfNoEntry: false })];
  if (sb === undefined || sa.size !== sb.size) return false;
  if (sa.size <= SMALL_FILE) return readFileSync(a).equals(readFileSync(b));
  const digest = async (path: string) => {
    const hash = createHash("sha256");
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    return hash.digest("hex");
  };
  return (await digest(a)) === (await digest(b));
}

/** Whether `file` holds exactly the bytes a tail continues (its size and SHA-256). */
function continues(file: string, tail: { from: number; base: string }): boolean {
  const here = readIfThere(file);
  return (
    here?.length === tail.from && createHash("sha256").update(here).digest("hex") === tail.base
  );
}

/** The points of a metric file, by their identity in a file (timestamp, step, value as written). */
function pointsOf(text: string, key: string): { points: Metric[]; ids: string[] } {
  const points: Metric[] = [];
  const ids: string[] = [];
  for (const line of text.split("\n")) {
    const point = parseMetricLine(key, line);
    if (typeof point === "string") continue; // the blank after the last line; checked before
    points.push(point);
    ids.push(pointId(point.timestamp, point.step, pyFloatRepr(point.value)));
  }
  return { points, ids };
}

/**
 * The points of the staged metric file that the tree's file lacks. Most often the tree's file
 * already holds the staged bytes as they are (a bundle imported again): no parsing then.
 */
function freshPoints(staged: string, here: string, key: string): Metric[] {
  const theirs = readFileSync(staged);
  const ours = readIfThere(here);
  if (ours !== undefined && holdsLines(ours, theirs)) return [];
  const { points, ids } = pointsOf(theirs.toString("utf8"), key);
  const present = new Set(pointsOf(ours?.toString("utf8") ?? "", key).ids);
  return points.filter((_, i) => !present.has(ids[i] as string));
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
  context: {
    dryRun: boolean;
    metrics: MetricFiles;
    issues: ImportIssue[];
    /** For a staged metric file that is a tail: where it starts and what came before. */
    tailOf: (rel: string) => { from: number; base: string } | undefined;
  },
): Promise<MergeCounts & { wrote: boolean }> {
  const { runDir, artifactDir, authority } = target;
  const counts = { points: 0, params: 0, tags: 0, artifacts: 0, bytes: 0, wrote: false };
  const issue = (what: string, message: string) =>
    context.issues.push({ runId: run.id, what, message });
  const write = async (file: string, base: string, action: () => unknown) => {
    if (!inside(base, file)) {
      throw invalid(`${file} lies behind a link out of ${base}; nothing written there`);
    }
    mkdirSync(dirname(file), { recursive: true });
    await action();
  };
  const { files, dirs } = walk(staged);
  for (const rel of dirs) {
    if (rel.startsWith("artifacts") || context.dryRun) continue;
    mkdirSync(join(runDir, ...rel.split("/")), { recursive: true });
  }
  for (const [rel, abs] of files) {
    const [namespace = "", ...rest] = rel.split("/");
    const key = rest.join("/");
    if (rel === "meta.yaml") {
      const merged = mergedMeta(
        readRunMeta(runDir, run.id, "meta.yaml"),
        readRunMeta(staged, run.id, "meta.yaml"),
        authority,
      );
      if (merged === undefined) continue;
      counts.wrote = true;
      if (!context.dryRun)
        await replaceFile(join(runDir, "meta.yaml"), toYaml(runDocument(merged)), runDir);
    } else if (rel === ORIGIN_FILE) {
      // Already the same: the run was matched by it.
    } else if (namespace === "metrics") {
      const file = join(runDir, "metrics", ...rest);
      const tail = context.tailOf(rel);
      if (tail !== undefined && continues(file, tail)) {
        // The tree's file is exactly what the tail continues: its lines go on as they are.
        const lines = readFileSync(abs);
        for (const byte of lines) if (byte === 0x0a) counts.points++;
        counts.wrote = true;
        if (!context.dryRun) await write(file, runDir, () => fs.appendFile(file, lines));
        continue;
      }
      const fresh = freshPoints(abs, file, key);
      if (fresh.length === 0) continue;
      counts.points += fresh.length;
      counts.wrote = true;
      if (context.dryRun) continue;
      await write(file, runDir, () => {
        prepareKeyFile(join(runDir, "metrics"), "metric", key);
        return context.metrics.append(file, key, runDir, fresh);
      });
    } else if (namespace === "params" || namespace === "tags") {
      const value = readFileSync(abs, "utf8");
      const file = join(runDir, namespace, ...rest);
      const existing = readIfThere(file)?.toString("utf8");
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
      await write(file, runDir, () => {
        prepareKeyFile(join(runDir, namespace), namespace === "params" ? "param" : "tag", key);
        return namespace === "params"
          ? createFile(file, value, runDir)
          : replaceFile(file, value, runDir);
      });
    } else if (namespace === "artifacts") {
      if (artifactDir === null) {
        issue(`artifact ${key}`, "this run's artifacts live outside the tree; not imported");
        continue;
      }
      const file = join(artifactDir, ...rest);
      const exists = statSync(file, { throwIfNoEntry: false }) !== undefined;
      if ((exists && authority) || (await sameContent(abs, file))) continue;
      const { size } = statSync(abs);
      counts.artifacts += 1;
      counts.bytes += size;
      counts.wrote = true;
      if (context.dryRun) continue;
      // Artifacts in the run's own folder are held to the run folder, like everything else.
      const base = artifactDir.startsWith(`${runDir}${sep}`) ? runDir : artifactDir;
      await write(file, base, () => moveFile(abs, file, runDir));
    } else {
      // inputs/<id>/meta.yaml and anything else MLflow keeps in a run: created when missing.
      const file = join(runDir, ...rel.split("/"));
      if (statSync(file, { throwIfNoEntry: false }) !== undefined) continue;
      counts.wrote = true;
      if (!context.dryRun) await write(file, runDir, () => moveFile(abs, file, runDir));
    }
  }
  return counts;
}

/** Moves a staged file into place, whole: a rename, or (across filesystems) a copy. */
async function moveFile(from: string, to: string, tempDir: string): Promise<void> {
  try {
    await fs.rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EXDEV") throw error;
    await copyFileWhole(from, to, tempDir);
  }
}

/** The experiment's dataset records the tree lacks, created from the staged experiment. */
export async function mergeDatasets(
  stagedExperiment: string,
  experimentDir: string,
): Promise<void> {
  const { files } = walk(stagedExperiment, (rel) => rel.split("/")[0] !== "datasets");
  for (const [rel, abs] of files) {
    const file = join(experimentDir, ...rel.split("/"));
    if (statSync(file, { throwIfNoEntry: false }) !== undefined) continue;
    await fs.mkdir(dirname(file), { recursive: true });
    await createFile(file, readFileSync(abs), experimentDir);
  }
}
