/** FileStore's metric histories: whole, a page at a time, or sampled for a chart. */
import { promises as fs } from "node:fs";
import type { Metric } from "../../entities.ts";
import {
  type SampledMetric,
  type SampleOptions,
  sampleHistory,
  sampleRuns,
} from "../../metric-sampling.ts";
import { decodePageToken, encodePageToken } from "../../search/page.ts";
import type { HistoryPageRequest, MetricHistoryPage } from "../store.ts";
import { SUMMARY_FROM_BYTES, sampleMetricFile } from "./history-summary.ts";
import type { TreeHandle } from "./tree-handle.ts";

export async function getMetricHistory(
  tree: TreeHandle,
  runId: string,
  key: string,
): Promise<Metric[]> {
  const runDir = await tree.runDir(runId);
  return tree.runs.history(key, tree.layout.keyFile(runDir, "metrics", key));
}

export async function getMetricHistoryPage(
  tree: TreeHandle,
  runId: string,
  key: string,
  page: HistoryPageRequest,
): Promise<MetricHistoryPage> {
  const runDir = await tree.runDir(runId);
  const query = { kind: "metric-history", filter: `${runId}/${key}` } as const;
  const { points, next } = tree.runs.historyPage(
    key,
    tree.layout.keyFile(runDir, "metrics", key),
    decodePageToken(page.pageToken, query),
    page.maxResults,
  );
  return next === undefined
    ? { metrics: points }
    : { metrics: points, nextPageToken: encodePageToken(next, query) };
}

export async function getMetricHistorySampled(
  tree: TreeHandle,
  runIds: string[],
  key: string,
  options: SampleOptions,
): Promise<SampledMetric[]> {
  const sample = async (runId: string) => {
    const path = tree.layout.keyFile(await tree.runDir(runId), "metrics", key);
    // A long history is sampled from its summary (history-summary.ts) where that can stand in.
    const size = await fs.stat(path).then(
      (s) => s.size,
      () => 0,
    );
    const fromSummary =
      size >= SUMMARY_FROM_BYTES ? sampleMetricFile(path, key, options) : undefined;
    return fromSummary ?? sampleHistory(await tree.runs.history(key, path), options);
  };
  return sampleRuns(sample, runIds, options);
}
