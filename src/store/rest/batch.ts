/**
 * Splitting one logBatch into requests the server accepts: at most 1000 metrics, 100 params,
 * 100 tags and 1000 items in all per request, and a body under 1 MB (MLflow's nominal limit, and
 * what reverse proxies often allow). Params go first: the server writes a request's params before
 * its metrics and tags, so a param conflict stops the request before anything else is written.
 *
 * A push sends millions of points through here, so a point costs no more than it must: its id
 * for the dedup and, when the request is sent, one short-lived object for JSON.stringify. Sizes
 * are bounded without writing each point's JSON, and no number is turned into a string (V8 caches
 * those strings long enough to promote them: writing each point's JSON by hand, or the old
 * per-point objects, ids and JSON strings, grew a push's RSS by some 20 MB).
 */
import type { Batch, Metric } from "../../entities.ts";
import { newMetricPoints } from "../../metric-latest.ts";
import { type KeyValueJson, metricToJson, tagsToJson } from "../../wire/tracking.ts";

export const BATCH_LIMITS = {
  metrics: 1000,
  params: 100,
  tags: 100,
  total: 1000,
  /** Bytes of JSON per request, with room to spare below 1 MiB. */
  bytes: 1_000_000,
} as const;

export interface BatchRequest {
  metrics: Metric[];
  params: KeyValueJson[];
  tags: KeyValueJson[];
}

/** Envelope bytes: `{"run_id":"<32 hex>","metrics":[],"params":[],"tags":[]}` and some slack. */
const ENVELOPE_BYTES = 256;
/**
 * A metric's JSON beyond its key and dataset, at most: `{"key":,"value":,"timestamp":,"step":}`
 * (38 bytes), a value (24: -1.7976931348623157e+308), a timestamp and a step (17 each).
 */
const METRIC_BYTES = 96;

/** The requests for one batch, in order; identical metric points are sent once. */
export function splitBatch(batch: Batch): BatchRequest[] {
  const requests: BatchRequest[] = [];
  let current: BatchRequest = { metrics: [], params: [], tags: [] };
  let count = 0;
  let bytes = ENVELOPE_BYTES;
  /** Makes room for one more item of `kind` and `size` bytes, starting a new request if needed. */
  const room = (kind: keyof BatchRequest, size: number) => {
    const full =
      count + 1 > BATCH_LIMITS.total ||
      current[kind].length + 1 > BATCH_LIMITS[kind] ||
      (count > 0 && bytes + size > BATCH_LIMITS.bytes);
    if (full) {
      requests.push(current);
      current = { metrics: [], params: [], tags: [] };
      count = 0;
      bytes = ENVELOPE_BYTES;
    }
    count++;
    bytes += size + 1;
  };
  const pairs = (kind: "params" | "tags", values: Record<string, string> | undefined) => {
    for (const json of tagsToJson(values)) {
      room(kind, jsonBytes(json));
      current[kind].push(json);
    }
  };

  pairs("params", batch.params);
  const keyBytes = new Map<string, number>();
  for (const metric of newMetricPoints(batch.metrics ?? [])) {
    let size = keyBytes.get(metric.key);
    if (size === undefined) {
      size = jsonBytes(metric.key) + METRIC_BYTES;
      keyBytes.set(metric.key, size);
    }
    if (metric.datasetName !== undefined) size += jsonBytes(metric.datasetName) + 16;
    if (metric.datasetDigest !== undefined) size += jsonBytes(metric.datasetDigest) + 18;
    room("metrics", size);
    current.metrics.push(metric);
  }
  pairs("tags", batch.tags);
  if (count > 0) requests.push(current);
  return requests;
}

/** The JSON body of one request to the run `runId`. */
export function requestBody(runId: string, request: BatchRequest): string {
  const { params, tags } = request;
  return JSON.stringify({
    run_id: runId,
    metrics: request.metrics.map(metricToJson),
    params,
    tags,
  });
}

const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));
