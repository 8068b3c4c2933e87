/**
 * FileStore's search: MLflow's search_runs over the run summaries of the search index
 * (search-index.ts), each run re-read only when it changed, by this store or any other process;
 * and the index's change feed for live views.
 */
import { basename } from "node:path";
import type { Run } from "../../entities.ts";
import {
  matchRuns as match,
  type SearchRunsResult,
  searchRuns as search,
} from "../../search/index.ts";
import { validateExperimentId, validateRunId } from "../../validation.ts";
import type { SearchRunsRequest } from "../store.ts";
import type { TreeChange } from "./search-index.ts";
import type { TreeHandle } from "./tree-handle.ts";

export async function searchRuns(
  tree: TreeHandle,
  request: SearchRunsRequest,
): Promise<SearchRunsResult> {
  const found = search(await summaries(tree, request), request);
  // The summaries belong to the index: hand out copies.
  return { ...found, runs: structuredClone(found.runs) };
}

/** FileStore's `matchRuns`: the index's own summaries, in order, unpaged and not copied. */
export async function matchRuns(
  tree: TreeHandle,
  request: Omit<SearchRunsRequest, "maxResults" | "pageToken">,
  first?: number,
): Promise<readonly Run[]> {
  // Not a TrackingStore method, so not checked by the layer: its ids become paths.
  for (const id of request.experimentIds) validateExperimentId(id);
  return match(await summaries(tree, request), request, first);
}

async function summaries(
  tree: TreeHandle,
  request: Pick<SearchRunsRequest, "experimentIds" | "viewType">,
): Promise<Run[]> {
  const dirs: string[] = [];
  for (const id of new Set(request.experimentIds)) dirs.push((await tree.experimentDir(id)).dir);
  return tree.index.runs(dirs, request.viewType ?? "ACTIVE_ONLY", tree.onProblem);
}

/** FileStore's `onChange`: the index's changes as experiment and run ids. */
export function onChange(
  tree: TreeHandle,
  listener: (change: { experimentId: string; runId?: string }) => void,
): () => void {
  return tree.index.onChange(({ experimentDir, runDir }: TreeChange) => {
    const experimentId = basename(experimentDir);
    listener(runDir ? { experimentId, runId: basename(runDir) } : { experimentId });
  });
}

/** FileStore's `recheckRuns`: unknown and malformed ids are skipped. */
export async function recheckRuns(tree: TreeHandle, runIds: readonly string[]): Promise<void> {
  const dirs: string[] = [];
  for (const runId of runIds) {
    try {
      validateRunId(runId); // as in matchRuns
      dirs.push(await tree.runDir(runId));
    } catch {
      // gone or never there: nothing to show
    }
  }
  await tree.index.recheck(dirs);
}
