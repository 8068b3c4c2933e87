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

/**
 * A stretch of consecutive points of a history in step order, as sampling needs it: how many,
 * the first and the last, and the lowest and highest value (NaN when every value is NaN), whose
 * point and index in the stretch `min()` and `max()` give. A single point is a stretch of one;
 * a file store's summary has stretches of many. Points are made only when asked for: a summary
 * has thousands of pieces, of which sampling keeps a few hundred.
 */
export interface Piece {
  readonly count: number;
  readonly first: Metric;
  readonly last: Metric;
  readonly low: number;
  readonly high: number;
  min(): { point: Metric; index: number };
  max(): { point: Metric; index: number };
}

class PointPiece implements Piece {
  readonly point: Metric;
  constructor(point: Metric) {
    this.point = point;
  }
  get count() {
    return 1;
  }
  get first() {
    return this.point;
  }
  get last() {
    return this.point;
  }
  get low() {
    return this.point.value;
  }
  get high() {
    return this.point.value;
  }
  min() {
    return { point: this.point, index: 0 };
  }
  max() {
    return this.min();
  }
}

export const pointPiece = (point: Metric): Piece => new PointPiece(point);

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
  return samplePieces(points.map(pointPiece), maxPoints, (piece) => [points[piece] as Metric]);
}

/**
 * Samples a history given as pieces in step order, holding more than `maxPoints` points: the
 * first and last point, and the lowest and highest point of each of `(maxPoints - 2) / 2`
 * stretches of the history (a piece belongs whole to the stretch where it starts, so pieces
 * longer than a stretch make fewer, longer stretches). A stretch of NaN keeps its first point,
 * so the gap shows. `pointsOf(i)` reads the points of piece `i` where a point inside it is
 * needed (fewer than 4 points wanted).
 */
export function samplePieces(
  pieces: readonly Piece[],
  maxPoints: number,
  pointsOf: (piece: number) => Metric[],
): Metric[] {
  const total = pieces.reduce((sum, piece) => sum + piece.count, 0);
  const chosen = new Map<number, Metric>();
  /** The point at `index` of the history, reading its piece only when it must. */
  const pointAt = (index: number) => {
    let start = 0;
    for (const [i, piece] of pieces.entries()) {
      if (index < start + piece.count) {
        if (index === start) return piece.first;
        if (index === start + piece.count - 1) return piece.last;
        return pointsOf(i)[index - start] as Metric;
      }
      start += piece.count;
    }
    throw new Error(`no point ${index} in a history of ${total}`);
  };
  if (maxPoints < 4) {
    // Too few for stretches: evenly spaced, ending on the last point.
    const picked = new Set<number>([total - 1]);
    for (let i = 0; picked.size < maxPoints; i++) {
      picked.add(Math.round((i * (total - 1)) / Math.max(1, maxPoints - 1)));
    }
    for (const index of picked) chosen.set(index, pointAt(index));
  } else {
    const stretches = Math.floor((maxPoints - 2) / 2);
    const inner = Math.max(1, total - 2);
    const stretchOf = (index: number) =>
      Math.min(stretches - 1, Math.max(0, Math.floor(((index - 1) * stretches) / inner)));
    chosen.set(0, pieces[0]?.first as Metric);
    chosen.set(total - 1, pieces.at(-1)?.last as Metric);
    let current = -1;
    let firstOf = { index: 0, point: pieces[0]?.first as Metric };
    // The pieces holding the stretch's lowest and highest value so far (-1: none yet), where
    // they start, and the values.
    let lowPiece = -1;
    let lowStart = 0;
    let lowValue = Number.NaN;
    let highPiece = -1;
    let highStart = 0;
    let highValue = Number.NaN;
    const close = () => {
      if (current < 0) return;
      if (lowPiece < 0 || highPiece < 0) chosen.set(firstOf.index, firstOf.point);
      else {
        const min = (pieces[lowPiece] as Piece).min();
        const max = (pieces[highPiece] as Piece).max();
        chosen.set(lowStart + min.index, min.point);
        chosen.set(highStart + max.index, max.point);
      }
    };
    let start = 0;
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i] as Piece;
      if (piece.count === 1 && (start === 0 || start === total - 1)) {
        start++; // the first or last point alone, chosen already and in no stretch
        continue;
      }
      const stretch = stretchOf(start);
      if (stretch !== current) {
        close();
        current = stretch;
        firstOf = { index: start, point: piece.first };
        lowPiece = -1;
        highPiece = -1;
      }
      const { low, high } = piece;
      if (!Number.isNaN(low) && (lowPiece < 0 || low < lowValue)) {
        lowPiece = i;
        lowStart = start;
        lowValue = low;
      }
      if (!Number.isNaN(high) && (highPiece < 0 || high > highValue)) {
        highPiece = i;
        highStart = start;
        highValue = high;
      }
      start += piece.count;
    }
    close();
  }
  return [...chosen].sort((a, b) => a[0] - b[0]).map(([, point]) => point);
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

/** Each run sampled by `sample`, one run at a time, after checking the options. */
export async function sampleRuns(
  sample: (runId: string) => Promise<Metric[]>,
  runIds: readonly string[],
  options: SampleOptions,
): Promise<SampledMetric[]> {
  checkSampleOptions(options);
  const out: SampledMetric[] = [];
  for (const runId of runIds) {
    for (const point of await sample(runId)) out.push({ ...point, runId });
  }
  return out;
}
