/**
 * The TrackingStore contract. Run data, first half: metrics, their history, the latest value and
 * the values a float can take.
 */
import { describe, expect } from "vitest";
import { type Contract, expectMlflowError, point, sv, T } from "./context.ts";

export function metricsContract({ test, store, newExperiment, newRun }: Contract): void {
  describe("run data", () => {
    test("logBatch stores params, metrics and tags that getRun returns", async () => {
      const { runId } = await newRun("batch");
      await store().logBatch(runId, {
        params: { lr: "0.01", layers: "[1, 2]" },
        metrics: [point("loss", 0.9, T, 0), point("loss", 0.5, T + 1, 1), point("acc", 0.7, T, 0)],
        tags: { team: "vision" },
      });
      const run = await store().getRun(runId);
      expect(run.data.params).toEqual({ lr: "0.01", layers: "[1, 2]" });
      expect(run.data.metrics).toEqual({
        loss: point("loss", 0.5, T + 1, 1),
        acc: point("acc", 0.7, T, 0),
      });
      expect(run.data.tags).toMatchObject({ team: "vision" });
      expect(await store().getMetricHistory(runId, "loss")).toEqual([
        point("loss", 0.9, T, 0),
        point("loss", 0.5, T + 1, 1),
      ]);
    });

    test("params are immutable: the same value is a no-op, another is rejected naming the key", async () => {
      const { runId } = await newRun("params");
      await store().logBatch(runId, { params: { lr: "0.1" } });
      await store().logBatch(runId, { params: { lr: "0.1" } });
      const error = await expectMlflowError(
        store().logBatch(runId, {
          params: { lr: "0.2", other: "x" },
          metrics: [point("m", 1, T, 0)],
          tags: { t: "1" },
        }),
        "INVALID_PARAMETER_VALUE",
      );
      expect(error.message).toContain("lr");
      const run = await store().getRun(runId);
      expect(run.data.params).toEqual({ lr: "0.1" });
      expect(run.data.metrics).toEqual({});
      expect(run.data.tags.t).toBeUndefined();
    });

    test("metric history is returned in logging order, not sorted by step", async () => {
      const { runId } = await newRun("history");
      await store().logBatch(runId, { metrics: [point("m", 1, T, 5), point("m", 2, T + 1, 1)] });
      await store().logBatch(runId, { metrics: [point("m", 3, T + 2, 3)] });
      expect((await store().getMetricHistory(runId, "m")).map(sv)).toEqual([
        [5, T, 1],
        [1, T + 1, 2],
        [3, T + 2, 3],
      ]);
    });

    test("metric history keeps logging order when timestamps go back", async () => {
      // server: get-history orders points by (timestamp, step, value).
      const { runId } = await newRun("history-ts");
      await store().logBatch(runId, { metrics: [point("m", 1, T + 10, 0)] });
      await store().logBatch(runId, { metrics: [point("m", 2, T, 1)] });
      expect((await store().getMetricHistory(runId, "m")).map(sv)).toEqual([
        [0, T + 10, 1],
        [1, T, 2],
      ]);
    });

    test("getMetricHistory of a key never logged is empty", async () => {
      const { runId } = await newRun("history-empty");
      expect(await store().getMetricHistory(runId, "nothing")).toEqual([]);
    });

    test("the latest metric is the maximum by (step, timestamp, value)", async () => {
      const experimentId = await newExperiment("latest");
      // [points in logging order as (step, timestamp, value)], expected latest
      const cases: [number[][], number[]][] = [
        [[[0, T, 1]], [0, T, 1]],
        [
          [
            [1, T + 10, 1],
            [2, T, 2],
          ],
          [2, T, 2],
        ],
        [
          [
            [2, T, 2],
            [1, T + 10, 1],
          ],
          [2, T, 2],
        ],
        [
          [
            [3, T + 5, 1],
            [3, T + 1, 9],
          ],
          [3, T + 5, 1],
        ],
        // mlruns-format.md §2.5
        [
          [
            [2, T, 5],
            [2, T, 7],
            [2, T - 1, 9],
          ],
          [2, T, 7],
        ],
        [
          [
            [0, T, 7],
            [0, T, 5],
          ],
          [0, T, 7],
        ],
        [
          [
            [-5, T + 100, 1],
            [-1, T, 2],
          ],
          [-1, T, 2],
        ],
        [
          [
            [0, T, -3],
            [0, T, -1],
            [0, T, -2],
          ],
          [0, T, -1],
        ],
      ];
      for (const [points, expected] of cases) {
        const { runId } = (await store().createRun({ experimentId })).info;
        const metrics = points.map(([step, ts, value]) =>
          point("m", value ?? 0, ts ?? 0, step ?? 0),
        );
        await store().logBatch(runId, { metrics });
        expect(sv((await store().getRun(runId)).data.metrics.m), JSON.stringify(points)).toEqual(
          expected,
        );
      }
    });

    test("the latest metric over batches does not depend on batch boundaries", async () => {
      const { runId } = await newRun("latest-batches");
      await store().logBatch(runId, { metrics: [point("m", 5, T, 2)] });
      await store().logBatch(runId, { metrics: [point("m", 7, T, 2)] });
      await store().logBatch(runId, {
        metrics: [point("m", 9, T - 1, 2), point("m", 1, T + 9, 1)],
      });
      expect((await store().getRun(runId)).data.metrics.m).toEqual(point("m", 7, T, 2));
    });

    test("a NaN at an equal (step, timestamp) neither wins nor loses: the first point stays", async () => {
      // MLflow's FileStore compares Python tuples, where NaN is never greater nor equal.
      // server: the SQL store compares NaN as 0 (is_nan), so it may pick otherwise.
      const experimentId = await newExperiment("latest-nan");
      const cases: [number[][], number[]][] = [
        [
          [
            [2, T, 5],
            [2, T, Number.NaN],
          ],
          [2, T, 5],
        ],
        [
          [
            [2, T, Number.NaN],
            [2, T, 5],
          ],
          [2, T, Number.NaN],
        ],
        [
          [
            [1, T, Number.NaN],
            [2, T, 1],
          ],
          [2, T, 1],
        ],
        [
          [
            [2, T, 1],
            [3, T, Number.NaN],
          ],
          [3, T, Number.NaN],
        ],
      ];
      for (const [points, expected] of cases) {
        const { runId } = (await store().createRun({ experimentId })).info;
        const metrics = points.map(([step, ts, value]) =>
          point("m", value ?? 0, ts ?? 0, step ?? 0),
        );
        await store().logBatch(runId, { metrics });
        expect(sv((await store().getRun(runId)).data.metrics.m), String(points)).toEqual(expected);
      }
    });

    test("identical metric points are stored once, within a batch and across batches", async () => {
      // server: the SQL store also keeps one; MLflow's FileStore would append duplicates.
      const { runId } = await newRun("dedupe");
      const p = point("m", 0.5, T, 1);
      await store().logBatch(runId, { metrics: [p, { ...p }, point("m", 0.6, T, 1)] });
      await store().logBatch(runId, { metrics: [{ ...p }, point("m", 0.5, T + 1, 1)] });
      expect((await store().getMetricHistory(runId, "m")).map(sv)).toEqual([
        [1, T, 0.5],
        [1, T, 0.6],
        [1, T + 1, 0.5],
      ]);
    });

    test("identical NaN points are stored once", async () => {
      // server: re-sending a NaN point fails with BAD_REQUEST before MLflow PR #24683.
      const { runId } = await newRun("dedupe-nan");
      await store().logBatch(runId, { metrics: [point("m", Number.NaN, T, 0)] });
      await store().logBatch(runId, { metrics: [point("m", Number.NaN, T, 0)] });
      expect(await store().getMetricHistory(runId, "m")).toHaveLength(1);
    });

    test("NaN metric values round-trip", async () => {
      const { runId } = await newRun("nan");
      await store().logBatch(runId, { metrics: [point("m", Number.NaN, T, 0)] });
      const [stored] = await store().getMetricHistory(runId, "m");
      expect(Number.isNaN(stored?.value)).toBe(true);
      expect(Number.isNaN((await store().getRun(runId)).data.metrics.m?.value)).toBe(true);
    });

    test("infinite metric values round-trip", async () => {
      // server: ±Infinity comes back as ±1.7976931348623157e308.
      const { runId } = await newRun("inf");
      await store().logBatch(runId, {
        metrics: [
          point("up", Number.POSITIVE_INFINITY, T, 0),
          point("down", Number.NEGATIVE_INFINITY, T, 0),
        ],
      });
      expect((await store().getMetricHistory(runId, "up"))[0]?.value).toBe(
        Number.POSITIVE_INFINITY,
      );
      expect((await store().getMetricHistory(runId, "down"))[0]?.value).toBe(
        Number.NEGATIVE_INFINITY,
      );
      expect((await store().getRun(runId)).data.metrics.up?.value).toBe(Number.POSITIVE_INFINITY);
    });

    test("negative steps, zero timestamps and extreme values are accepted", async () => {
      const { runId } = await newRun("extremes");
      const metrics = [point("m", 1e-7, 0, -3), point("m", 1.5e300, T, -1), point("m", -2.5, T, 0)];
      await store().logBatch(runId, { metrics });
      expect(await store().getMetricHistory(runId, "m")).toEqual(metrics);
    });
  });
}
