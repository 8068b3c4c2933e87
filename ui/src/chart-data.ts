/**
 * A chart's data: points from the server's downsampled history (min and max per bucket, so
 * spikes survive), turned into uPlot's aligned columns with x as step, wall time or time since
 * each run's first point, and smoothing (an exponential moving average with TensorBoard's
 * de-biasing, so the curve starts at the first value rather than at zero).
 */
import type uPlot from "uplot";
import { ApiError, type MlflowMetric, mlflow, toNumber } from "./api.ts";

export type XAxis = "step" | "wall" | "rel";

export interface Point {
  step: number;
  time: number;
  value: number;
}

/** MLflow's server takes at most 100 runs in one request. */
const RUNS_PER_REQUEST = 100;
export const POINTS_PER_RUN = 1000;

/** Set once a server answers that it has no get-history-bulk-interval (an older server). */
let noBulkInterval = false;

export async function fetchHistories(
  runIds: string[],
  key: string,
  range: { min: number; max: number } | null,
): Promise<Map<string, Point[]>> {
  if (!noBulkInterval) {
    try {
      return await fetchSampled(runIds, key, range);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) throw error;
      noBulkInterval = true;
    }
  }
  return fetchWhole(runIds, key, range);
}

function toPoint(m: MlflowMetric): Point {
  return { step: toNumber(m.step), time: toNumber(m.timestamp), value: toNumber(m.value) };
}

const byStep = (a: Point, b: Point) => a.step - b.step || a.time - b.time;

/** The server's downsampled histories (min and max per bucket), 100 runs a request. */
async function fetchSampled(
  runIds: string[],
  key: string,
  range: { min: number; max: number } | null,
): Promise<Map<string, Point[]>> {
  const out = new Map<string, Point[]>(runIds.map((id) => [id, []]));
  const chunks: string[][] = [];
  for (let i = 0; i < runIds.length; i += RUNS_PER_REQUEST) {
    chunks.push(runIds.slice(i, i + RUNS_PER_REQUEST));
  }
  const answers = await Promise.all(
    chunks.map((ids) =>
      mlflow.get<{ metrics?: MlflowMetric[] }>("metrics/get-history-bulk-interval", {
        run_ids: ids,
        metric_key: key,
        max_results: POINTS_PER_RUN,
        start_step: range ? Math.floor(range.min) : undefined,
        end_step: range ? Math.ceil(range.max) : undefined,
      }),
    ),
  );
  for (const answer of answers) {
    for (const m of answer.metrics ?? []) out.get(m.run_id ?? "")?.push(toPoint(m));
  }
  for (const points of out.values()) points.sort(byStep);
  return out;
}

/**
 * For a server without the sampled endpoint: every point of each run (`metrics/get-history`),
 * downsampled here the same way, keeping each bucket's minimum and maximum.
 */
async function fetchWhole(
  runIds: string[],
  key: string,
  range: { min: number; max: number } | null,
): Promise<Map<string, Point[]>> {
  const histories = await Promise.all(
    runIds.map((id) =>
      mlflow
        .get<{ metrics?: MlflowMetric[] }>("metrics/get-history", { run_id: id, metric_key: key })
        .then((r) => {
          const points = (r.metrics ?? []).map(toPoint).sort(byStep);
          const inRange = range
            ? points.filter(
                (p) => p.step >= Math.floor(range.min) && p.step <= Math.ceil(range.max),
              )
            : points;
          return [id, downsample(inRange, POINTS_PER_RUN)] as const;
        }),
    ),
  );
  return new Map(histories);
}

/**
 * At most about `maxPoints` of `points` (in order): the first and last, and in each of
 * `maxPoints / 2` buckets its lowest and highest value, so no spike is lost.
 */
export function downsample(points: Point[], maxPoints: number): Point[] {
  if (points.length <= maxPoints) return points;
  const buckets = Math.max(1, Math.floor(maxPoints / 2));
  const size = points.length / buckets;
  const out: Point[] = [points[0] as Point];
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor(b * size);
    const to = Math.min(points.length, Math.floor((b + 1) * size));
    let low = from;
    let high = from;
    for (let i = from; i < to; i++) {
      const v = (points[i] as Point).value;
      if (!(v >= (points[low] as Point).value)) low = i;
      if (!(v <= (points[high] as Point).value)) high = i;
    }
    for (const i of low === high ? [low] : [Math.min(low, high), Math.max(low, high)]) {
      if (i > 0) out.push(points[i] as Point);
    }
  }
  const last = points[points.length - 1] as Point;
  if (out[out.length - 1] !== last) out.push(last);
  return out;
}

/** TensorBoard's smoothing: EMA with weight `s`, de-biased; non-finite values pass through. */
export function smooth(values: (number | null)[], s: number): (number | null)[] {
  if (s <= 0) return values;
  let last = 0;
  let n = 0;
  return values.map((v) => {
    if (v === null || !Number.isFinite(v)) return v;
    last = last * s + (1 - s) * v;
    n++;
    return last / (1 - s ** n);
  });
}

export function xOf(point: Point, axis: XAxis, first: number): number {
  if (axis === "step") return point.step;
  if (axis === "wall") return point.time / 1000;
  return (point.time - first) / 1000;
}

/**
 * Aligned columns: [x, then for each run its raw values (and its smoothed values right after
 * when smoothing)]. Values a log axis cannot show (≤ 0) and non-finite ones become gaps.
 */
export function alignedData(
  runIds: string[],
  histories: Map<string, Point[]>,
  options: { axis: XAxis; log: boolean; smoothing: number },
): uPlot.AlignedData {
  const xs = new Set<number>();
  const perRun = runIds.map((id) => {
    const points = histories.get(id) ?? [];
    const first = points.reduce((m, p) => Math.min(m, p.time), Number.POSITIVE_INFINITY);
    const map = new Map<number, number>();
    for (const p of points) {
      const x = xOf(p, options.axis, first);
      if (!Number.isFinite(x)) continue;
      xs.add(x);
      const usable = Number.isFinite(p.value) && (!options.log || p.value > 0);
      // Two points at one x (a bucket's min and max at the same step): keep the farther from
      // the previous, so a spike still shows.
      if (usable && !map.has(x)) map.set(x, p.value);
      else if (usable) {
        const kept = map.get(x) as number;
        if (Math.abs(p.value) > Math.abs(kept)) map.set(x, p.value);
      }
    }
    return map;
  });
  const x = Float64Array.from([...xs].sort((a, b) => a - b));
  const columns: (number | null)[][] = [];
  for (const map of perRun) {
    const raw = Array.from(x, (v) => map.get(v) ?? null);
    columns.push(raw);
    if (options.smoothing > 0) columns.push(smoothAcrossGaps(raw, options.smoothing));
  }
  return [x, ...columns] as uPlot.AlignedData;
}

/** Smooths a run's own points only (gaps from other runs' x values do not reset it). */
function smoothAcrossGaps(raw: (number | null)[], s: number): (number | null)[] {
  const present: number[] = [];
  const values: (number | null)[] = [];
  raw.forEach((v, i) => {
    if (v !== null) {
      present.push(i);
      values.push(v);
    }
  });
  const smoothed = smooth(values, s);
  const out: (number | null)[] = raw.map(() => null);
  present.forEach((i, j) => {
    out[i] = smoothed[j] ?? null;
  });
  return out;
}

/** The last value of series `column` at or before index `idx`. */
export function valueNear(
  column: ArrayLike<number | null | undefined>,
  idx: number,
): number | null {
  for (let i = idx; i >= 0 && idx - i < 100_000; i--) {
    const v = column[i];
    if (v !== null && v !== undefined) return v;
  }
  return null;
}
