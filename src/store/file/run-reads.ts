/** FileStore's reads of whole runs: one run, its info alone, every run of some experiments. */
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { isMissing } from "../../atomic.ts";
import { inView, type Run, type RunInfo, SYSTEM_TAGS, type ViewType } from "../../entities.ts";
import { isTreeError } from "./runs.ts";
import type { TreeHandle } from "./tree-handle.ts";

/**
 * The run as the search index holds it when its stamp proves it current (no file read), else
 * read from its folder, each metric to its latest point (latest-point.ts).
 */
export async function getRun(tree: TreeHandle, runId: string): Promise<Run> {
  const runDir = await tree.runDir(runId);
  const held = await tree.index.current(runDir);
  return held ? structuredClone(held) : tree.runs.readRun(runDir, tree.onProblem);
}

export async function getRunInfo(tree: TreeHandle, runId: string): Promise<RunInfo> {
  const runDir = await tree.runDir(runId);
  const { info } = tree.runs.readMeta(runDir);
  // A tree MLflow wrote before run names were in meta.yaml has the name in a tag only.
  if (!info.runName) {
    const tag = join(runDir, "tags", SYSTEM_TAGS.runName);
    info.runName = await fs.readFile(tag, "utf8").catch(() => "");
  }
  return info;
}

/** Every readable run of the experiments; broken ones are reported and skipped. */
export async function listRuns(
  tree: TreeHandle,
  experimentIds: string[],
  viewType: ViewType,
): Promise<Run[]> {
  const runs: Run[] = [];
  for (const experimentId of experimentIds) {
    const { dir } = await tree.experimentDir(experimentId);
    for (const runDir of await tree.runs.runDirs(dir)) {
      try {
        const run = await tree.runs.readRun(runDir, tree.onProblem);
        if (inView(run.info.lifecycleStage, viewType)) runs.push(run);
      } catch (error) {
        if (isMissing(error)) continue; // a folder without meta.yaml is not a run
        if (!isTreeError(error)) throw error;
        tree.onProblem(error.problem);
      }
    }
  }
  return runs;
}
