/** Experiments on the target: found or created by name, with their tags copied one by one. */
import { isMlflowError } from "../errors.ts";
import type { TrackingStore } from "../store/store.ts";
import type { SyncIssue } from "./copy.ts";

/**
 * Creates the experiment `name`, or finds the one another client created meanwhile. `created`
 * says this call made it: then it holds no run but those this sync puts there.
 */
export async function createExperiment(
  target: TrackingStore,
  name: string,
): Promise<{ id: string; created: boolean }> {
  try {
    return { id: await target.createExperiment(name), created: true };
  } catch (error) {
    // Another sync created it meanwhile (or a retried create whose first answer was lost).
    if (!isMlflowError(error, "RESOURCE_ALREADY_EXISTS")) throw error;
    const raced = await target.getExperimentByName(name);
    if (!raced) throw error;
    return { id: raced.experimentId, created: false };
  }
}

/** Sets the tags the target lacks, one by one, so one refused value leaves the rest copied. */
export async function copyExperimentTags(
  target: TrackingStore,
  id: string,
  name: string,
  tags: Record<string, string>,
  present: Record<string, string>,
  issues: SyncIssue[],
): Promise<void> {
  for (const [key, value] of Object.entries(tags)) {
    if (present[key] === value) continue;
    try {
      await target.setExperimentTag(id, key, value);
    } catch (error) {
      if (!isMlflowError(error, "INVALID_PARAMETER_VALUE")) throw error;
      issues.push({ experiment: name, what: `experiment tag ${key}`, message: error.message });
    }
  }
}
