/** The TrackingStore contract. Sampled metric history: extremes kept, step ranges. */
import { describe, expect } from "vitest";
import type { Metric } from "../../src/entities.ts";
import { type Contract, expectMlflowError, point, T } from "./context.ts";

export function sampledHistoryContract({ test, store, newRun }: Contract): void {
  describe("sampled metric history", () => {
    test("getMetricHistorySampled keeps the first, the last and each stretch's extremes", async () => {
      const { runId } = await newRun("sampled");
      const metrics: Metric[] = [];
      for (let step = 0; step < 1000; step++) {
        const value = step === 437 ? 100 : step === 701 ? -100 : Math.sin(step / 50);
        metrics.push(point("loss", value, T + step, step));
      }
      for (let at = 0; at < metrics.length; at += 500) {
        await store().logBatch(runId, { metrics: metrics.slice(at, at + 500) });
      }
      const sampled = await store().getMetricHistorySampled([runId], "loss", { maxPoints: 50 });
      expect(sampled.length).toBeLessThanOrEqual(50);
      expect(sampled.length).toBeGreaterThan(20);
      const steps = sampled.map((m) => m.step);
      expect(steps).toEqual([...steps].sort((a, b) => a - b));
      expect(steps[0]).toBe(0);
      expect(steps.at(-1)).toBe(999);
      expect(sampled.map((m) => m.value)).toEqual(expect.arrayContaining([100, -100]));
      expect(new Set(sampled.map((m) => m.runId))).toEqual(new Set([runId]));
      expect(sampled.find((m) => m.step === 437)).toMatchObject({
        key: "loss",
        timestamp: T + 437,
      });
    });

    test("getMetricHistorySampled honours a step range and returns short histories whole", async () => {
      const { experimentId, runId } = await newRun("sampled-range");
      const other = (await store().createRun({ experimentId })).info.runId;
      await store().logBatch(runId, {
        metrics: Array.from({ length: 100 }, (_, step) => point("m", step, T + step, step)),
      });
      await store().logBatch(other, { metrics: [point("m", 7, T, 3)] });
      const ranged = await store().getMetricHistorySampled([runId, other], "m", {
        maxPoints: 1000,
        startStep: 10,
        endStep: 19,
      });
      expect(ranged.filter((m) => m.runId === runId).map((m) => m.step)).toEqual(
        Array.from({ length: 10 }, (_, i) => 10 + i),
      );
      expect(ranged.filter((m) => m.runId === other)).toEqual([]);
      const whole = await store().getMetricHistorySampled([other], "m", { maxPoints: 10 });
      expect(whole).toEqual([{ ...point("m", 7, T, 3), runId: other }]);
      await expectMlflowError(
        store().getMetricHistorySampled([runId], "m", { maxPoints: 10, startStep: 5 }),
        "INVALID_PARAMETER_VALUE",
      );
    });
  });
}
