/**
 * RestStore's metric histories (index.ts): whole, a page at a time, and sampled by the server.
 * The server answers an unknown run with an empty history; these say it is unknown, as other
 * stores do.
 */
import type { Metric } from "../../entities.ts";
import type { SampledMetric, SampleOptions } from "../../metric-sampling.ts";
import { type MetricJson, metricFromJson } from "../../wire/tracking.ts";
import type { HistoryPageRequest, MetricHistoryPage } from "../store.ts";
import type { RestClient } from "./client.ts";
import { allPages, callEndpoint, PAGE_SIZE } from "./endpoints.ts";
import { getRun } from "./runs.ts";

type HistoryJson = { metrics?: MetricJson[]; next_page_token?: string };

export async function getMetricHistory(
  client: RestClient,
  runId: string,
  key: string,
): Promise<Metric[]> {
  const points = await allPages(async (pageToken) => {
    const page = await callEndpoint<HistoryJson>(client, "getMetricHistory", {
      query: {
        run_id: runId,
        metric_key: key,
        max_results: PAGE_SIZE.metricHistory,
        page_token: pageToken,
      },
    });
    return { items: page.metrics, next: page.next_page_token };
  });
  if (points.length === 0) await getRun(client, runId);
  return points.map(metricFromJson);
}

export async function getMetricHistoryPage(
  client: RestClient,
  runId: string,
  key: string,
  page: HistoryPageRequest,
): Promise<MetricHistoryPage> {
  const found = await callEndpoint<HistoryJson>(client, "getMetricHistory", {
    query: {
      run_id: runId,
      metric_key: key,
      max_results: page.maxResults,
      page_token: page.pageToken,
    },
  });
  const metrics = (found.metrics ?? []).map(metricFromJson);
  if (metrics.length === 0 && page.pageToken === undefined) await getRun(client, runId);
  return found.next_page_token ? { metrics, nextPageToken: found.next_page_token } : { metrics };
}

/** The server's own sampling (`get-history-bulk-interval`), 100 runs a request. */
export async function getMetricHistorySampled(
  client: RestClient,
  runIds: string[],
  key: string,
  options: SampleOptions,
): Promise<SampledMetric[]> {
  const out: SampledMetric[] = [];
  for (let at = 0; at < runIds.length; at += 100) {
    const page = await callEndpoint<{ metrics?: MetricJson[] }>(client, "getMetricHistorySampled", {
      query: {
        run_ids: runIds.slice(at, at + 100),
        metric_key: key,
        max_results: options.maxPoints,
        start_step: options.startStep,
        end_step: options.endStep,
      },
    });
    for (const m of page.metrics ?? []) out.push({ ...metricFromJson(m), runId: m.run_id ?? "" });
  }
  return out;
}
