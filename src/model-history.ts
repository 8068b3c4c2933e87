/**
 * A run's `mlflow.log-model.history` tag: a JSON list of the models logged in the run (run id,
 * artifact path, creation time, model uuid, flavors), appended to as MLflow's stores append
 * (Python's `json.dumps` form). The oldest entries are dropped when the list would pass the run
 * tag limit, which MLflow's file store does not check but every other store enforces.
 */
import { pyJsonDumps } from "./py-format.ts";
import type { TrackingStore } from "./store/store.ts";

export const LOG_MODEL_HISTORY = "mlflow.log-model.history";
/** Run tag values are at most this long (MLflow's log_batch limit). */
const TAG_LIMIT = 8000;

export async function appendModelHistory(
  store: TrackingStore,
  runId: string,
  entry: Record<string, unknown>,
): Promise<void> {
  const run = await store.getRun(runId);
  let history: unknown[] = [];
  try {
    const parsed = JSON.parse(run.data.tags[LOG_MODEL_HISTORY] ?? "[]");
    if (Array.isArray(parsed)) history = parsed;
  } catch {
    history = [];
  }
  history.push(entry);
  let value = pyJsonDumps(history);
  while (value.length > TAG_LIMIT && history.length > 1) {
    history.shift();
    value = pyJsonDumps(history);
  }
  await store.logBatch(runId, { tags: { [LOG_MODEL_HISTORY]: value } });
}
