/** Metric history: every point of one metric, paged; and the sampled history charts ask for. */
import { invalid } from "../../errors.ts";
import { metricToJson } from "../../wire/tracking.ts";
import { int64, missingField, repeated, required, string } from "../message.ts";
import type { Handler } from "../router.ts";
import { readRun } from "./runs.ts";

export const getMetricHistory: Handler = async (ctx) => {
  const m = await readRun(ctx, {
    metric_key: required(string),
    max_results: int64,
    page_token: string,
  });
  // Without max_results MLflow answers every point in one page.
  const page = await ctx.store.getMetricHistoryPage(m.runId, m.metric_key, {
    maxResults: m.max_results ?? Number.MAX_SAFE_INTEGER,
    ...(m.page_token ? { pageToken: m.page_token } : {}),
  });
  return {
    ...(page.metrics.length > 0 ? { metrics: page.metrics.map(metricToJson) } : {}),
    ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}),
  };
};

/** MLflow's limits of `get-history-bulk-interval`. */
const MAX_RUNS = 100;
const MAX_POINTS = 2500;

/** `GET metrics/get-history-bulk-interval`: each run's history sampled for a chart. */
export const getMetricHistoryBulkInterval: Handler = async ({ read, res, store }) => {
  const m = await read({
    run_ids: required(repeated(string)),
    metric_key: required(string),
    start_step: int64,
    end_step: int64,
    max_results: int64,
  });
  if (m.run_ids.length === 0) throw missingField("run_ids");
  if (m.run_ids.length > MAX_RUNS) {
    throw invalid(
      `GetMetricHistoryBulkInterval request must specify at most ${MAX_RUNS} run_ids. Received ${m.run_ids.length} run_ids.`,
    );
  }
  const maxPoints = m.max_results ?? MAX_POINTS;
  if (maxPoints < 1 || maxPoints > MAX_POINTS) {
    throw invalid(`max_results must be between 1 and ${MAX_POINTS}.`);
  }
  const started = performance.now();
  const cpu = process.cpuUsage();
  const points = await store.getMetricHistorySampled([...new Set(m.run_ids)], m.metric_key, {
    maxPoints,
    ...(m.start_step !== undefined ? { startStep: m.start_step } : {}),
    ...(m.end_step !== undefined ? { endStep: m.end_step } : {}),
  });
  // The sampling's wall and CPU time, for the browser's developer tools (and the benchmark).
  const { user, system } = process.cpuUsage(cpu);
  res.setHeader(
    "Server-Timing",
    `sample;dur=${(performance.now() - started).toFixed(1)}, cpu;dur=${((user + system) / 1000).toFixed(1)}`,
  );
  return points.length === 0
    ? {}
    : {
        metrics: points.map(({ runId, key, value, timestamp, step }) => ({
          ...metricToJson({ key, value, timestamp, step }),
          run_id: runId,
        })),
      };
};
