/**
 * Garbage collection of a file store, as `mlflow gc` does: deleted runs and the experiments in
 * `.trash/` are removed for good, with their local artifacts. `planGc` only reads (what a
 * `--dry-run` shows); `applyGc` carries out exactly that plan.
 */
import { promises as fs } from "node:fs";
import { join, resolve, sep } from "node:path";
import { parse } from "yaml";
import type { RunInfo } from "./entities.ts";
import { artifactDirOf } from "./store/file/artifacts.ts";
import { FileStore } from "./store/file/index.ts";

export interface GcItem {
  kind: "experiment" | "run";
  /** Experiment id or run id. */
  id: string;
  /** Experiment name or run name. */
  name: string;
  experimentId: string;
  experimentName: string;
  /** When it was deleted (ms; the experiment's last update for experiments), if known. */
  deletedTime: number | null;
  /** Folders removed: the item's own, plus local artifact folders outside it. */
  paths: string[];
}

export interface GcPlan {
  root: string;
  items: GcItem[];
}

export interface GcOptions {
  /** Only items deleted at least this many milliseconds ago (items of unknown age are kept). */
  olderThanMs?: number;
  /** The clock (tests). */
  now?: number;
}

async function deletedTimeOf(runDir: string): Promise<number | null> {
  try {
    const doc = parse(await fs.readFile(join(runDir, "meta.yaml"), "utf8"), { version: "1.1" });
    const value = (doc as Record<string, unknown> | null)?.deleted_time;
    return typeof value === "number" ? value : null;
  } catch {
    return null;
  }
}

/** The run's local artifact folder when it lies outside the run folder (a custom location). */
async function externalArtifacts(root: string, runDir: string, info: RunInfo): Promise<string[]> {
  const { experimentId, runId, artifactUri: uri } = info;
  const dir = await artifactDirOf(root, { runDir, experimentId, runId, uri }).catch(() => runDir);
  return dir === runDir || dir.startsWith(`${runDir}${sep}`) ? [] : [dir];
}

/** What `applyGc` would remove from the tree at `root`. Reads only. */
export async function planGc(root: string, options: GcOptions = {}): Promise<GcPlan> {
  const absolute = resolve(root);
  const store = new FileStore(absolute, { onProblem: () => {} });
  const now = options.now ?? Date.now();
  const oldEnough = (time: number | null) =>
    options.olderThanMs === undefined || (time !== null && now - time >= options.olderThanMs);
  const items: GcItem[] = [];
  const experiments = await store.listExperiments("ALL");
  for (const experiment of experiments) {
    const id = experiment.experimentId;
    const deleted = experiment.lifecycleStage === "deleted";
    const experimentDir = deleted ? join(absolute, ".trash", id) : join(absolute, id);
    const runs = await store.listRuns([id], deleted ? "ALL" : "DELETED_ONLY");
    const runItems: GcItem[] = [];
    for (const run of runs) {
      const dir = join(experimentDir, run.info.runId);
      const time = await deletedTimeOf(dir);
      runItems.push({
        kind: "run",
        id: run.info.runId,
        name: run.info.runName,
        experimentId: id,
        experimentName: experiment.name,
        deletedTime: time,
        paths: [dir, ...(await externalArtifacts(absolute, dir, run.info))],
      });
    }
    if (deleted) {
      if (!oldEnough(experiment.lastUpdateTime)) continue;
      items.push({
        kind: "experiment",
        id,
        name: experiment.name,
        experimentId: id,
        experimentName: experiment.name,
        deletedTime: experiment.lastUpdateTime,
        paths: [experimentDir, ...runItems.flatMap((r) => r.paths.slice(1))],
      });
    } else {
      items.push(...runItems.filter((r) => oldEnough(r.deletedTime)));
    }
  }
  return { root: absolute, items };
}

/** Removes what `plan` lists; `onProgress` is called after each item. */
export async function applyGc(
  plan: GcPlan,
  onProgress?: (done: number, total: number) => void,
): Promise<void> {
  let done = 0;
  for (const item of plan.items) {
    for (const path of item.paths) await fs.rm(path, { recursive: true, force: true });
    onProgress?.(++done, plan.items.length);
  }
}
