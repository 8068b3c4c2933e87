/**
 * Sending one logBatch as the requests `batch.ts` splits it into. A batch that needs several
 * requests cannot be one transaction, so it is checked first against the run as the server has it
 * (lifecycle stage, params already logged): a batch the server would refuse part-way writes
 * nothing. A request that fails after others were written says so.
 */
import type { Batch, Metric, Run } from "../../entities.ts";
import { invalid, isMlflowError, MlflowError } from "../../errors.ts";
import { type BatchRequest, splitBatch } from "./batch.ts";

export interface BatchDeps {
  post(request: BatchRequest): Promise<unknown>;
  getRun(runId: string): Promise<Run>;
  getMetricHistory(runId: string, key: string): Promise<Metric[]>;
}

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
  if (run.info.lifecycleStage !== "active") {
    throw invalid(
      `The run ${run.info.runId} must be in the 'active' state. Current state is ` +
        `${run.info.lifecycleStage}.`,
      "Restore the run first.",
    );
  }
  for (const [key, value] of Object.entries(batch.params ?? {})) {
    const old = run.data.params[key];
    if (old !== undefined && old !== value) {
      throw invalid(
        `Changing param values is not allowed. Param with key='${key}' was already logged ` +
          `with value='${old}' for run ID='${run.info.runId}'. Attempted logging new value '${value}'.`,
        "Params are immutable: log the new value under another key, or start a new run.",
      );
    }
  }
}

const pointId = (m: { key?: string; timestamp?: unknown; step?: unknown }) =>
  `${m.timestamp} ${m.step} ${m.key}`;

/**
 * One request. Servers without MLflow PR #24683 (2.x among them) fail with BAD_REQUEST when a NaN
 * point is sent again; then the NaN points already stored are dropped and the request is sent
 * once more (what the first try wrote is idempotent: equal params, upserted tags, deduped metrics).
 */
async function postOnce(runId: string, request: BatchRequest, deps: BatchDeps): Promise<void> {
  try {
    await deps.post(request);
  } catch (error) {
    const nans = request.metrics.filter((m) => m.value === "NaN");
    if (!isMlflowError(error, "BAD_REQUEST") || nans.length === 0) throw error;
    const stored = new Set<string>();
    for (const key of new Set(nans.map((m) => m.key ?? ""))) {
      for (const m of await deps.getMetricHistory(runId, key)) {
        if (Number.isNaN(m.value)) stored.add(pointId(m));
      }
    }
    const metrics = request.metrics.filter((m) => m.value !== "NaN" || !stored.has(pointId(m)));
    if (metrics.length === request.metrics.length) throw error;
    await deps.post({ ...request, metrics });
  }
}
