import { describe, expect, it } from "vitest";
import type { Metric } from "../src/entities.ts";
import { isLaterPoint, latestPoint, metricPointId, newMetricPoints } from "../src/metric-latest.ts";

const NaN_ = Number.NaN;
const p = (step: number, timestamp: number, value: number, key = "m"): Metric => ({
  key,
  value,
  timestamp,
  step,
});

describe("isLaterPoint", () => {
  it.each<[string, Metric, Metric, boolean]>([
    ["higher step", p(2, 0, 0), p(1, 9, 9), true],
    ["lower step", p(1, 9, 9), p(2, 0, 0), false],
    ["same step, later timestamp", p(1, 5, 0), p(1, 4, 9), true],
    ["same step and timestamp, larger value", p(1, 5, 2), p(1, 5, 1), true],
    ["identical", p(1, 5, 2), p(1, 5, 2), false],
    ["NaN candidate at equal step and timestamp", p(1, 5, NaN_), p(1, 5, 1), false],
    ["NaN current at equal step and timestamp", p(1, 5, 1), p(1, 5, NaN_), false],
    ["NaN against NaN", p(1, 5, NaN_), p(1, 5, NaN_), false],
    ["NaN with a higher step", p(2, 5, NaN_), p(1, 5, 1), true],
    ["infinity beats a finite value", p(1, 5, Infinity), p(1, 5, 1e308), true],
  ])("%s → %s", (_, candidate, current, later) => {
    expect(isLaterPoint(candidate, current)).toBe(later);
  });
});

describe("latestPoint", () => {
  it("is undefined for no points", () => {
    expect(latestPoint([])).toBeUndefined();
  });

  it.each<[string, Metric[], Metric]>([
    ["mlruns-format.md §2.5", [p(2, 10, 5), p(2, 10, 7), p(2, 9, 9)], p(2, 10, 7)],
    ["a high step logged first", [p(5, 0, 1), p(1, 99, 2)], p(5, 0, 1)],
    ["negative steps", [p(-3, 50, 1), p(-1, 0, 2)], p(-1, 0, 2)],
    ["NaN after a value at the same (step, ts)", [p(1, 1, 5), p(1, 1, NaN_)], p(1, 1, 5)],
    ["NaN before a value at the same (step, ts)", [p(1, 1, NaN_), p(1, 1, 5)], p(1, 1, NaN_)],
  ])("%s", (_, points, expected) => {
    expect(latestPoint(points)).toEqual(expected);
  });

  it("keeps the first of equal points", () => {
    const first = { ...p(1, 1, 1), datasetName: "a" };
    expect(latestPoint([first, { ...p(1, 1, 1), datasetName: "b" }])).toBe(first);
  });
});

describe("metricPointId and newMetricPoints", () => {
  it("identifies points by key, timestamp, step and value", () => {
    expect(metricPointId(p(1, 2, 3))).toBe(metricPointId(p(1, 2, 3)));
    expect(metricPointId(p(1, 2, 3))).not.toBe(metricPointId(p(1, 2, 3, "other")));
    expect(metricPointId(p(1, 2, 3))).not.toBe(metricPointId(p(2, 1, 3)));
    expect(metricPointId(p(1, 2, NaN_))).toBe(metricPointId(p(1, 2, NaN_)));
    expect(metricPointId(p(1, 2, -0))).toBe(metricPointId(p(1, 2, 0)));
    expect(metricPointId(p(1, 2, Infinity))).not.toBe(metricPointId(p(1, 2, -Infinity)));
  });

  it("keys with spaces cannot make two points look alike", () => {
    expect(metricPointId(p(1, 2, 3, "a 4"))).not.toBe(metricPointId(p(1, 2, 3, "a")));
  });

  it("drops repeats within the input and those already seen, in order", () => {
    const seen = new Set<string>();
    expect(newMetricPoints([p(0, 1, 1), p(0, 1, 1), p(0, 1, 2)], seen)).toEqual([
      p(0, 1, 1),
      p(0, 1, 2),
    ]);
    expect(newMetricPoints([p(0, 1, 2), p(0, 2, 2), p(0, 1, NaN_), p(0, 1, NaN_)], seen)).toEqual([
      p(0, 2, 2),
      p(0, 1, NaN_),
    ]);
    expect(seen.size).toBe(4);
  });
});
