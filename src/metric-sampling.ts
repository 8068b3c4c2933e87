/**
 * A metric history sampled for a chart: at most `maxPoints` points per run, the first and the
 * last always, and between them the lowest and the highest point of each stretch of the history
 * (min-max buckets), so spikes and dips survive that evenly spaced sampling (MLflow's) would
 * skip. Points are ordered by (step, timestamp).
 */
import type { Metric } from "./entities.ts";
import { invalid } from "./errors.ts";

export interface SampleOptions {
  /** At most this many points per run (≥ 1). */
  maxPoints: number;
  /** Only points with startStep ≤ step ≤ endStep (both or neither). */
  startStep?: number;
  endStep?: number;
}

/** One sampled point, with the run it belongs to (MLflow's MetricWithRunId). */
export type SampledMetric = Metric & { runId: string };

const byStep = (a: Metric, b: Metric) => a.step - b.step || a.timestamp - b.timestamp;

export function sampleHistory(history: readonly Metric[], options: SampleOptions): Metric[] {
  const { maxPoints, startStep, endStep } = options;
  const points = history
    .filter(
      (m) =>
        (startStep === undefined || m.step >= startStep) &&
        (endStep === undefined || m.step <= endStep),
    )
    .sort(byStep);
  if (points.length <= maxPoints) return points;
  if (maxPoints < 4) {
    // Too few for buckets: evenly spaced, ending on the last point.
    const picked = new Set<number>([points.length - 1]);
    for (let i = 0; picked.size < maxPoints; i++) {
      picked.add(Math.round((i * (points.length - 1)) / Math.max(1, maxPoints - 1)));
    }
    return [...picked].sort((a, b) => a - b).map((i) => points[i] as Metric);
  }
  const inner = points.length - 2;
  const buckets = Math.floor((maxPoints - 2) / 2);
  const chosen = new Set<number>([0, points.length - 1]);
  for (let b = 0; b < buckets; b++) {
    const from = 1 + Math.floor((b * inner) / buckets);
    const to = 1 + Math.floor(((b + 1) * inner) / buckets); // exclusive
    let low = -1;
    let high = -1;
    for (let i = from; i < to; i++) {
      const value = (points[i] as Metric).value;
      if (Number.isNaN(value)) continue;
      if (low === -1 || value < (points[low] as Metric).value) low = i;
      if (high === -1 || value > (points[high] as Metric).value) high = i;
    }
    if (low === -1)
      chosen.add(from); // a stretch of NaN: keep one, so the gap shows
    else {
      chosen.add(low);
      chosen.add(high);
    }
  }
  return [...chosen].sort((a, b) => a - b).map((i) => points[i] as Metric);
}

/** Checks MLflow's rules for the options: a positive count, start and end steps together. */
export function checkSampleOptions(options: SampleOptions): void {
  const { maxPoints, startStep, endStep } = options;
  if (!Number.isInteger(maxPoints) || maxPoints < 1) {
    throw invalid(`The number of points must be a positive integer, got ${maxPoints}`);
  }
  if ((startStep === undefined) !== (endStep === undefined)) {
    throw invalid("If either start step or end step are specified, both must be specified.");
  }
  if (startStep !== undefined && endStep !== undefined && startStep > endStep) {
    throw invalid(
      `end_step must be greater than start_step. Found start_step=${startStep} and end_step=${endStep}.`,
    );
  }
}

/** Each run's history, read one run at a time, sampled: what file and memory stores answer. */
export async function sampleRuns(
  history: (runId: string, key: string) => Promise<Metric[]>,
  runIds: readonly string[],
  key: string,
  options: SampleOptions,
): Promise<SampledMetric[]> {
  checkSampleOptions(options);
  const out: SampledMetric[] = [];
  for (const runId of runIds) {
    for (const point of sampleHistory(await history(runId, key), options)) {
      out.push({ ...point, runId });
    }
  }
  return out;
}
