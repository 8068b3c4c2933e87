/** Which experiments and runs a sync copies, and in which order (parents before children). */
import type { Experiment, Run } from "../entities.ts";
import { SYSTEM_TAGS } from "../entities.ts";
import { MlflowError } from "../errors.ts";
import { publicUri } from "./identity.ts";
import type { SyncOptions } from "./options.ts";

/** Which runs a command takes from a store (sync, export): the usual -e, -f and -r. */
export type Selection = Pick<SyncOptions, "source" | "experiments" | "filter" | "runIds">;

/** Every run of the chosen experiments that the selection names, parents before children. */
export async function selectRuns(options: Selection, experiments: Experiment[]): Promise<Run[][]> {
  const ids = experiments.map((e) => e.experimentId);
  const runs: Run[] = [];
  if (ids.length > 0) {
    let pageToken: string | undefined;
    do {
      const page = await options.source.searchRuns({
        experimentIds: ids,
        viewType: "ALL",
        maxResults: 50_000,
        ...(options.filter === undefined ? {} : { filter: options.filter }),
        ...(pageToken === undefined ? {} : { pageToken }),
      });
      runs.push(...page.runs);
      pageToken = page.nextPageToken;
    } while (pageToken);
  }
  const wanted = options.runIds ? new Set(options.runIds) : undefined;
  const chosen = wanted ? runs.filter((r) => wanted.has(r.info.runId)) : runs;
  if (wanted && chosen.length < wanted.size) {
    const found = new Set(chosen.map((r) => r.info.runId));
    const missing = [...wanted].filter((id) => !found.has(id));
    throw new MlflowError(
      "RESOURCE_DOES_NOT_EXIST",
      `No run ${missing.join(", ")} in the chosen experiments`,
    );
  }
  const byId = new Map(chosen.map((r) => [r.info.runId, r]));
  const depth = (run: Run, seen = new Set<string>()): number => {
    const parent = byId.get(run.data.tags[SYSTEM_TAGS.parentRunId] ?? "");
    if (!parent || seen.has(parent.info.runId)) return 0;
    seen.add(run.info.runId);
    return 1 + depth(parent, seen);
  };
  const levels: Run[][] = [];
  for (const run of chosen) {
    const bucket = levels[depth(run)] ?? [];
    bucket.push(run);
    levels[depth(run)] = bucket;
  }
  return levels.filter((level) => level !== undefined);
}

export async function chooseExperiments(options: Selection): Promise<Experiment[]> {
  const active = await options.source.listExperiments("ACTIVE_ONLY");
  if (!options.experiments?.length) return active;
  return options.experiments.map((wanted) => {
    const found = active.find((e) => e.experimentId === wanted || e.name === wanted);
    if (!found)
      throw new MlflowError(
        "RESOURCE_DOES_NOT_EXIST",
        `No active experiment '${wanted}' in ${publicUri(options.source.uri)}`,
      );
    return found;
  });
}
