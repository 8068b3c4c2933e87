/**
 * A chart's data: points from the server's downsampled history (min and max per bucket, so
 * spikes survive), turned into uPlot's aligned columns with x as step, wall time or time since
 * each run's first point, and smoothing (an exponential moving average with TensorBoard's
 * de-biasing, so the curve starts at the first value rather than at zero).
 */
import type uPlot from "uplot";
import { type MlflowMetric, mlflow, toNumber } from "./api.ts";

export type XAxis = "step" | "wall" | "rel";

export interface Point {
  step: number;
  time: number;
  value: number;
}

/** MLflow's server takes at most 100 runs in one request. */
const RUNS_PER_REQUEST = 100;
export const POINTS_PER_RUN = 1000;

export async function fetchHistories(
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
    for (const m of answer.metrics ?? []) {
      out.get(m.run_id ?? "")?.push({
        step: toNumber(m.step),
        time: toNumber(m.timestamp),
        value: toNumber(m.value),
      });
    }
  }
  for (const points of out.values()) points.sort((a, b) => a.step - b.step || a.time - b.time);
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
