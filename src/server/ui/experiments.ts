/**
 * The experiments list: each experiment with its number of runs and when it last saw activity
 * (a run started or ended), which `experiments/search` does not give.
 */
import type { Experiment, ViewType } from "../../entities.ts";
import type { TrackingStore } from "../../store/store.ts";
import { matchAll } from "./runs-window.ts";

export interface ExperimentRow {
  id: string;
  name: string;
  deleted: boolean;
  created: number | null;
  runs: number;
  running: number;
  /** The latest run start or end, else the experiment's own last update. */
  lastActivity: number | null;
  tags: Record<string, string>;
}

export async function experimentRows(
  store: TrackingStore,
  viewType: ViewType = "ACTIVE_ONLY",
): Promise<ExperimentRow[]> {
  const experiments = await store.listExperiments(viewType);
  const rows: ExperimentRow[] = [];
  for (const experiment of experiments) rows.push(await rowOf(store, experiment));
  return rows.sort((a, b) => (b.lastActivity ?? 0) - (a.lastActivity ?? 0));
}

async function rowOf(store: TrackingStore, experiment: Experiment): Promise<ExperimentRow> {
  // Counted, not ordered.
  const runs = await matchAll(store, { experimentIds: [experiment.experimentId] }, 0);
  let last = experiment.lastUpdateTime ?? experiment.creationTime;
  let running = 0;
  for (const { info } of runs) {
    const seen = Math.max(info.startTime, info.endTime ?? 0);
    if (last === null || seen > last) last = seen;
    if (info.status === "RUNNING") running++;
  }
  return {
    id: experiment.experimentId,
    name: experiment.name,
    deleted: experiment.lifecycleStage === "deleted",
    created: experiment.creationTime,
    runs: runs.length,
    running,
    lastActivity: last,
    tags: experiment.tags,
  };
}
