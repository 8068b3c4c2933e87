import { describe, expect, it } from "vitest";
import type { Metric } from "../src/entities.ts";
import { sampleHistory } from "../src/metric-sampling.ts";

const series = (values: number[]): Metric[] =>
  values.map((value, step) => ({ key: "m", value, timestamp: 1000 + step, step }));

describe("sampleHistory", () => {
  it("never gives more than maxPoints, and keeps the ends", () => {
    const history = series(Array.from({ length: 10_000 }, (_, i) => Math.cos(i)));
    for (const maxPoints of [1, 2, 3, 4, 5, 17, 320, 2500]) {
      const sampled = sampleHistory(history, { maxPoints });
      expect(sampled.length, String(maxPoints)).toBeLessThanOrEqual(maxPoints);
      expect(sampled.at(-1)?.step).toBe(9999);
      if (maxPoints > 1) expect(sampled[0]?.step).toBe(0);
    }
  });

  it("keeps a lone spike and a lone dip wherever they fall", () => {
    for (const at of [1, 500, 998]) {
      const values = Array.from({ length: 1000 }, () => 0.5);
      values[at] = 9;
      values[(at + 333) % 1000] = -9;
      const sampled = sampleHistory(series(values), { maxPoints: 10 });
      expect(sampled.map((m) => m.value)).toEqual(expect.arrayContaining([9, -9]));
    }
  });

  it("orders by step, then time, whatever the logging order; a stretch of NaN keeps one", () => {
    const history = series([3, 1, 2]).reverse();
    expect(sampleHistory(history, { maxPoints: 10 }).map((m) => m.step)).toEqual([0, 1, 2]);
    const nans = series([1, ...Array.from({ length: 100 }, () => Number.NaN), 2]);
    const sampled = sampleHistory(nans, { maxPoints: 6 });
    expect(sampled.some((m) => Number.isNaN(m.value))).toBe(true);
    expect(sampled.length).toBeLessThanOrEqual(6);
  });
});
