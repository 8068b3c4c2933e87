/**
 * Sending one logBatch as the requests `batch.ts` splits it into. A batch that needs several
 * requests cannot be one transaction, so it is checked first against the run as the server has it
 * (lifecycle stage, params already logged): a batch the server would refuse part-way writes
 * nothing. A request that fails after others were written says so.
 */
import type { Batch, Metric, Run } from "../../entities.ts";
import { isMlflowError, MlflowError } from "../../errors.ts";
import { paramChanged, runNotActive } from "../checks.ts";
import { historyPages } from "../history-pages.ts";
import type { TrackingStore } from "../store.ts";
import { type BatchRequest, splitBatch } from "./batch.ts";

export interface BatchDeps extends Pick<TrackingStore, "getMetricHistoryPage"> {
  post(request: BatchRequest): Promise<unknown>;
  getRun(runId: string): Promise<Run>;
}

/** Points asked per page when looking for NaN points already stored: a push's page. */
const HISTORY_PAGE = 1000;

export async function sendBatch(runId: string, batch: Batch, deps: BatchDeps): Promise<void> {
  const requests = splitBatch(batch);
  // An empty batch still fails for an unknown or deleted run, as in the other stores.
  if (requests.length !== 1) checkWritable(await deps.getRun(runId), batch);
  for (const [index, request] of requests.entries()) {
    try {
      await postOnce(runId, request, deps);
    } catch (error) {
      if (index === 0 || !isMlflowError(error)) throw error;
      throw new MlflowError(
        error.code,
        `${error.message}; request ${index + 1} of ${requests.length} of this batch failed, ` +
          `the first ${index} were written`,
        { cause: error, ...(error.hint === undefined ? {} : { hint: error.hint }) },
      );
    }
  }
}

/** What the server would refuse in a later request, checked before the first one. */
function checkWritable(run: Run, batch: Batch): void {
  if (run.info.lifecycleStage !== "active") throw runNotActive(run.info.runId);
  for (const [key, value] of Object.entries(batch.params ?? {})) {
    const old = run.data.params[key];
    if (old !== undefined && old !== value) throw paramChanged(run.info.runId, key, old, value);
  }
}

const pointId = (m: Metric) => `${m.timestamp} ${m.step} ${m.key}`;

/**
 * One request. Servers without MLflow PR #24683 (2.x among them) fail with BAD_REQUEST when a NaN
 * point is sent again; then the NaN points already stored are dropped and the request is sent
 * once more (what the first try wrote is idempotent: equal params, upserted tags, deduped metrics).
 */
async function postOnce(runId: string, request: BatchRequest, deps: BatchDeps): Promise<void> {
  try {
    await deps.post(request);
  } catch (error) {
    if (!isMlflowError(error, "BAD_REQUEST")) throw error;
    const stored = await storedNaNs(runId, request.metrics, deps);
    if (stored.size === 0) throw error;
    const metrics = request.metrics.filter(
      (m) => !Number.isNaN(m.value) || !stored.has(pointId(m)),
    );
    await deps.post({ ...request, metrics });
  }
}

/**
 * The ids of the NaN points among `metrics` that the server holds. Reads each key's history a
 * page at a time, keeping only what it looks for, and stops once all of that key's are found.
 */
async function storedNaNs(runId: string, metrics: Metric[], deps: BatchDeps): Promise<Set<string>> {
  const wanted = new Map<string, Set<string>>();
  for (const m of metrics) {
    if (!Number.isNaN(m.value)) continue;
    const ids = wanted.get(m.key) ?? new Set<string>();
    wanted.set(m.key, ids.add(pointId(m)));
  }
  const stored = new Set<string>();
  for (const [key, ids] of wanted) {
    for await (const page of historyPages(deps, runId, key, HISTORY_PAGE)) {
      for (const m of page) {
        const id = pointId(m);
        if (Number.isNaN(m.value) && ids.delete(id)) stored.add(id);
      }
      if (ids.size === 0) break;
    }
  }
  return stored;
}
