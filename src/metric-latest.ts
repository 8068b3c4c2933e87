/**
 * Metric rules every store shares: which point is a metric's "latest" value, and which points
 * count as the same point (so a key never holds two identical lines).
 */
import type { Metric } from "./entities.ts";

type Point = Pick<Metric, "step" | "timestamp" | "value">;

/**
 * True when `candidate` beats `current` as the latest point: Python's tuple comparison
 * `(step, timestamp, value) > (step, timestamp, value)`, which MLflow's FileStore uses. The first
 * unequal element decides; NaN is never equal and never greater, so at an equal (step, timestamp)
 * a NaN neither replaces nor is replaced by another value (the result depends on logging order).
 */
export function isLaterPoint(candidate: Point, current: Point): boolean {
  // Field by field, allocating nothing: it runs once a point when a run's latest values are read.
  if (candidate.step !== current.step) return candidate.step > current.step;
  if (candidate.timestamp !== current.timestamp) return candidate.timestamp > current.timestamp;
  return candidate.value > current.value;
}

/**
 * The latest point of one metric, as Python's `max(points, key=(step, timestamp, value))` picks it:
 * the first point wins until a later one is strictly greater. `undefined` for no points.
 */
export function latestPoint<M extends Point>(points: Iterable<M>): M | undefined {
  let latest: M | undefined;
  for (const point of points) {
    if (latest === undefined || isLaterPoint(point, latest)) latest = point;
  }
  return latest;
}

/**
 * Identity of a metric point: key, timestamp, step and value. NaN equals NaN and -0 equals 0 here,
 * as in the SQL primary key a tree is migrated into (two such lines would abort the migration).
 */
export function metricPointId(point: Pick<Metric, "key" | "timestamp" | "step" | "value">): string {
  // JSON.stringify writes the numbers without V8's number-to-string cache, whose entries outlive
  // a young GC: a push of 10 M points promoted them by the million (RSS +20 MB).
  const value = Number.isFinite(point.value) ? point.value : String(point.value);
  return JSON.stringify([point.timestamp, point.step, value, point.key]);
}

/**
 * The points of `points` not already in `seen`, in order, each kept once. Adds the ids of the
 * returned points to `seen`, so one set can follow a run's metrics across batches.
 */
export function newMetricPoints<M extends Metric>(
  points: Iterable<M>,
  seen: Set<string> = new Set(),
): M[] {
  const fresh: M[] = [];
  for (const point of points) {
    const id = metricPointId(point);
    if (seen.has(id)) continue;
    seen.add(id);
    fresh.push(point);
  }
  return fresh;
}
