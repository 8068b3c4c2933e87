/** Metric history: every point of one metric, paged; and the sampled history charts ask for. */
import { invalid } from "../../errors.ts";
import { paginate } from "../../search/page.ts";
import { metricToJson } from "../../wire/tracking.ts";
import { int64, required, string } from "../message.ts";
import type { Handler } from "../router.ts";
import { readRun } from "./runs.ts";

export const getMetricHistory: Handler = async (ctx) => {
  const m = await readRun(ctx, {
    metric_key: required(string),
    max_results: int64,
    page_token: string,
  });
  const { runId } = m;
  if (m.max_results !== undefined && m.max_results <= 0) {
    throw invalidMaxResults(m.max_results);
  }
  const history = await ctx.store.getMetricHistory(runId, m.metric_key);
  // Without max_results MLflow answers every point in one page.
  const page = paginate(history, m.page_token || undefined, m.max_results ?? history.length + 1, {
    kind: "metric-history",
    filter: `${runId}/${m.metric_key}`,
  });
  return {
    ...(page.items.length > 0 ? { metrics: page.items.map(metricToJson) } : {}),
    ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}),
  };
};

function invalidMaxResults(value: number) {
  return invalid(
    `Invalid value ${value} for parameter 'max_results' supplied. It must be a positive integer.`,
  );
}
