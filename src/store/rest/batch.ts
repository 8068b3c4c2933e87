/**
 * Splitting one logBatch into requests the server accepts: at most 1000 metrics, 100 params,
 * 100 tags and 1000 items in all per request, and a body under 1 MB (MLflow's nominal limit, and
 * what reverse proxies often allow). Params go first: the server writes a request's params before
 * its metrics and tags, so a param conflict stops the request before anything else is written.
 */
import type { Batch } from "../../entities.ts";
import { newMetricPoints } from "../../metric-latest.ts";
import {
  type KeyValueJson,
  type MetricJson,
  metricToJson,
  tagsToJson,
} from "../../wire/tracking.ts";

export const BATCH_LIMITS = {
  metrics: 1000,
  params: 100,
  tags: 100,
  total: 1000,
  /** Bytes of JSON per request, with room to spare below 1 MiB. */
  bytes: 1_000_000,
} as const;

export interface BatchRequest {
  metrics: MetricJson[];
  params: KeyValueJson[];
  tags: KeyValueJson[];
}

type Item = { kind: "metrics"; json: MetricJson } | { kind: "params" | "tags"; json: KeyValueJson };

/** Envelope bytes: `{"run_id":"<32 hex>","metrics":[],"params":[],"tags":[]}` and some slack. */
const ENVELOPE_BYTES = 256;

/** The requests for one batch, in order; identical metric points are sent once. */
export function splitBatch(batch: Batch): BatchRequest[] {
  const items: Item[] = [
    ...tagsToJson(batch.params).map((json): Item => ({ kind: "params", json })),
    ...newMetricPoints(batch.metrics ?? []).map(
      (m): Item => ({ kind: "metrics", json: metricToJson(m) }),
    ),
    ...tagsToJson(batch.tags).map((json): Item => ({ kind: "tags", json })),
  ];
  const requests: BatchRequest[] = [];
  let current: BatchRequest = { metrics: [], params: [], tags: [] };
  let count = 0;
  let bytes = ENVELOPE_BYTES;
  for (const item of items) {
    const size = Buffer.byteLength(JSON.stringify(item.json), "utf8") + 1;
    const full =
      count + 1 > BATCH_LIMITS.total ||
      current[item.kind].length + 1 > BATCH_LIMITS[item.kind] ||
      (count > 0 && bytes + size > BATCH_LIMITS.bytes);
    if (full) {
      requests.push(current);
      current = { metrics: [], params: [], tags: [] };
      count = 0;
      bytes = ENVELOPE_BYTES;
    }
    (current[item.kind] as unknown[]).push(item.json);
    count++;
    bytes += size;
  }
  if (count > 0) requests.push(current);
  return requests;
}
