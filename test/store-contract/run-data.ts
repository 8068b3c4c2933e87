/**
 * The TrackingStore contract. Run data, second half: keys and values of params, metrics and tags,
 * tags, and what is refused.
 */
import { describe, expect } from "vitest";
import type { Batch, Metric, Run } from "../../src/entities.ts";
import { type Contract, expectMlflowError, iris, point, sv, T } from "./context.ts";

export function runDataContract({ test, store, unique, newRun }: Contract): void {
  describe("run data", () => {
    test("keys with '/' and unicode work for params, metrics and tags", async () => {
      const { runId } = await newRun("keys");
      await store().logBatch(runId, {
        params: { "model/lr": "0.1", résumé: "ok", "数据 集": "é" },
        metrics: [
          point("train/loss", 1, T, 0),
          point("val/acc:top-1", 0.5, T, 0),
          point("损失", 2, T, 0),
        ],
        tags: { "team/ä": "vision", "a.b-c_d e": "x" },
      });
      const run = await store().getRun(runId);
      expect(run.data.params).toEqual({ "model/lr": "0.1", résumé: "ok", "数据 集": "é" });
      expect(Object.keys(run.data.metrics).sort()).toEqual(
        ["train/loss", "val/acc:top-1", "损失"].sort(),
      );
      expect(run.data.tags).toMatchObject({ "team/ä": "vision", "a.b-c_d e": "x" });
      expect((await store().getMetricHistory(runId, "train/loss")).map(sv)).toEqual([[0, T, 1]]);
      expect((await store().getMetricHistory(runId, "损失")).map(sv)).toEqual([[0, T, 2]]);
    });

    test("param and tag values are kept verbatim", async () => {
      const { runId } = await newRun("values");
      const values = { empty: "", spaces: "  a b  ", newline: "line1\nline2", quote: `it's "x"` };
      await store().logBatch(runId, { params: values, tags: values });
      const run = await store().getRun(runId);
      expect(run.data.params).toEqual(values);
      expect(run.data.tags).toMatchObject(values);
    });

    test("tags overwrite, and deleteTag removes one or answers RESOURCE_DOES_NOT_EXIST", async () => {
      const { runId } = await newRun("tags");
      await store().logBatch(runId, { tags: { t: "1", u: "1" } });
      await store().logBatch(runId, { tags: { t: "2" } });
      expect((await store().getRun(runId)).data.tags).toMatchObject({ t: "2", u: "1" });
      await store().deleteTag(runId, "t");
      const tags = (await store().getRun(runId)).data.tags;
      expect(tags.t).toBeUndefined();
      expect(tags.u).toBe("1");
      await expectMlflowError(store().deleteTag(runId, "t"), "RESOURCE_DOES_NOT_EXIST");
    });

    const badKeys = [
      "a,b",
      "a@b",
      "a#b",
      "",
      "../x",
      "/abs",
      "a//b",
      "dir/",
      "./x",
      "a/../b",
      "x".repeat(251),
    ];
    const kinds = {
      metric: (key: string): Batch => ({ metrics: [point("ok", 1, T, 0), point(key, 1, T, 0)] }),
      param: (key: string): Batch => ({ params: { ok: "1", [key]: "1" } }),
      tag: (key: string): Batch => ({ tags: { ok: "1", [key]: "1" } }),
    };
    for (const [kind, batchWith] of Object.entries(kinds)) {
      test(`invalid ${kind} keys are rejected and nothing of the batch is written`, async () => {
        const { runId } = await newRun(`bad-${kind}-keys`);
        const before = await store().getRun(runId);
        for (const key of badKeys) {
          await expectMlflowError(
            store().logBatch(runId, batchWith(key)),
            "INVALID_PARAMETER_VALUE",
          );
        }
        expect((await store().getRun(runId)).data).toEqual(before.data);
      });
    }

    test("keys that clash as file and folder are rejected, in one batch and across batches", async () => {
      // MLflow's FileStore fails on these with an OS error; the SQL server accepts them.
      const code = "INVALID_PARAMETER_VALUE";
      const { runId } = await newRun("clash");
      await expectMlflowError(
        store().logBatch(runId, { metrics: [point("a", 1, T, 0), point("a/b", 1, T, 0)] }),
        code,
      );
      await expectMlflowError(store().logBatch(runId, { params: { p: "1", "p/q": "1" } }), code);
      await expectMlflowError(
        store().logBatch(runId, { tags: { "t/u/v": "1", "t/u": "1" } }),
        code,
      );
      await store().logBatch(runId, {
        metrics: [point("a", 1, T, 0), point("x/y", 1, T, 0)],
        params: { p: "1" },
        tags: { t: "1" },
      });
      await expectMlflowError(store().logBatch(runId, { metrics: [point("a/b", 1, T, 0)] }), code);
      await expectMlflowError(store().logBatch(runId, { metrics: [point("x", 1, T, 0)] }), code);
      await expectMlflowError(store().logBatch(runId, { params: { "p/q": "1" } }), code);
      await expectMlflowError(store().logBatch(runId, { tags: { "t/x": "1" } }), code);
      // The namespaces are separate: a metric `p/q` beside a param `p` is fine.
      await store().logBatch(runId, { metrics: [point("p/q", 1, T, 0)] });
      const run = await store().getRun(runId);
      expect(Object.keys(run.data.metrics).sort()).toEqual(["a", "p/q", "x/y"]);
      expect(run.data.params).toEqual({ p: "1" });
      expect(Object.keys(run.data.tags).filter((k) => !k.startsWith("mlflow."))).toEqual(["t"]);
    });

    test("non-integer steps, bad timestamps and non-numeric values are rejected", async () => {
      const { runId } = await newRun("bad-metrics");
      const bad: Metric[] = [
        point("m", 1, T, 1.5),
        point("m", 1, T + 0.5, 0),
        point("m", 1, -1, 0),
        point("m", 1, T, Number.NaN),
        point("m", 1, Number.POSITIVE_INFINITY, 0),
        { key: "m", value: "1.5" as unknown as number, timestamp: T, step: 0 },
        { key: "m", value: null as unknown as number, timestamp: T, step: 0 },
        { key: "m", value: true as unknown as number, timestamp: T, step: 0 },
      ];
      for (const metric of bad) {
        await expectMlflowError(
          store().logBatch(runId, { metrics: [point("ok", 1, T, 0), metric] }),
          "INVALID_PARAMETER_VALUE",
        );
      }
      expect((await store().getRun(runId)).data.metrics).toEqual({});
      expect(await store().getMetricHistory(runId, "ok")).toEqual([]);
    });

    test("a BigInt metric value is refused with a hint to convert it", async () => {
      const { runId } = await newRun("bigint");
      const error = await expectMlflowError(
        store().logBatch(runId, {
          metrics: [{ key: "m", value: 5n as unknown as number, timestamp: T, step: 0 }],
        }),
        "INVALID_PARAMETER_VALUE",
      );
      expect(error.message).toContain("5n (a BigInt)");
      expect(error.hint).toContain("Number(value)");
      expect(await store().getMetricHistory(runId, "m")).toEqual([]);
    });

    test("text with a lone UTF-16 surrogate is refused with a hint, and nothing is written", async () => {
      const lone = "half\uD83D";
      const code = "INVALID_PARAMETER_VALUE";
      const experiment = await expectMlflowError(store().createExperiment(lone), code);
      expect(experiment.message).toContain("lone UTF-16 surrogate (U+D83D at index 4)");
      expect(experiment.message).toContain('"half\\ud83d"');
      expect(experiment.hint).toContain("toWellFormed()");
      const located = unique("surrogate-location");
      const artifactLocation = `file:///tmp/${lone}`;
      await expectMlflowError(store().createExperiment(located, { artifactLocation }), code);
      expect(await store().getExperimentByName(located)).toBeNull();
      const { experimentId, runId } = await newRun("surrogate");
      await expectMlflowError(store().createRun({ experimentId, runName: lone }), code);
      await expectMlflowError(store().createRun({ experimentId, tags: { t: lone } }), code);
      await expectMlflowError(store().updateRun(runId, { runName: lone }), code);
      await expectMlflowError(store().setExperimentTag(experimentId, "t", lone), code);
      const batches: Batch[] = [
        { params: { p: lone } },
        { params: { [lone]: "1" } },
        { tags: { t: lone } },
        { tags: { "mlflow.runName": lone } },
        { metrics: [point(`m${lone}`, 1, T, 0)] },
        { params: { ok: "1" }, tags: { t: `\uDC00${lone}` } },
      ];
      for (const batch of batches) await expectMlflowError(store().logBatch(runId, batch), code);
      const dataset = { ...iris(), name: lone };
      await expectMlflowError(store().logInputs(runId, [{ dataset, tags: {} }]), code);
      const run = await store().getRun(runId);
      expect(run.data.params).toEqual({});
      expect(run.data.metrics).toEqual({});
      expect(run.data.tags.t).toBeUndefined();
      expect(run.info.runName).not.toContain("half");
      expect(run.inputs).toEqual([]);
      expect(await store().listRuns([experimentId])).toHaveLength(1);
      // A whole pair is one character, and welcome.
      await store().logBatch(runId, { params: { p: "🙂" }, tags: { t: "x🙂" } });
      const kept = await store().getRun(runId);
      expect([kept.data.params.p, kept.data.tags.t]).toEqual(["🙂", "x🙂"]);
    });

    test("a rejected batch writes none of its metrics, params or tags", async () => {
      const { runId } = await newRun("atomic");
      const before = await store().getRun(runId);
      await expectMlflowError(
        store().logBatch(runId, {
          metrics: [point("good", 1, T, 0)],
          params: { good: "1" },
          tags: { good: "1", "bad,key": "1" },
        }),
        "INVALID_PARAMETER_VALUE",
      );
      await expectMlflowError(
        store().logBatch(runId, {
          metrics: [point("good", 1, T, 0), point("bad", 1, T, 0.5)],
          params: { good: "1" },
          tags: { good: "1" },
        }),
        "INVALID_PARAMETER_VALUE",
      );
      expect((await store().getRun(runId)).data).toEqual(before.data);
    });

    test("returned objects and given inputs are not shared with the store", async () => {
      const tags = { a: "1" };
      const experimentId = await store().createExperiment(unique("copies"), { tags });
      tags.a = "changed";
      const experiment = await store().getExperiment(experimentId);
      expect(experiment.tags).toEqual({ a: "1" });
      experiment.tags.a = "mutated";
      experiment.name = "mutated";
      expect((await store().getExperiment(experimentId)).tags).toEqual({ a: "1" });
      expect((await store().getExperiment(experimentId)).name).not.toBe("mutated");

      const runId = (await store().createRun({ experimentId })).info.runId;
      const metric = point("m", 1, T, 0);
      const params = { p: "1" };
      await store().logBatch(runId, { metrics: [metric], params });
      metric.value = 99;
      params.p = "99";
      const run: Run = await store().getRun(runId);
      expect(run.data.metrics.m?.value).toBe(1);
      expect(run.data.params.p).toBe("1");
      run.info.status = "KILLED";
      run.data.params.p = "x";
      (run.data.metrics.m as Metric).value = 5;
      const history = await store().getMetricHistory(runId, "m");
      (history[0] as Metric).value = 7;
      const again = await store().getRun(runId);
      expect(again.info.status).toBe("RUNNING");
      expect(again.data.params.p).toBe("1");
      expect(again.data.metrics.m?.value).toBe(1);
      expect((await store().getMetricHistory(runId, "m"))[0]?.value).toBe(1);
    });

    test("flush resolves and the store stays usable", async () => {
      const { runId } = await newRun("flush");
      await store().logBatch(runId, { metrics: [point("m", 1, T, 0)] });
      await store().flush();
      expect((await store().getMetricHistory(runId, "m")).map(sv)).toEqual([[0, T, 1]]);
      await store().logBatch(runId, { metrics: [point("m", 2, T + 1, 1)] });
      await store().flush();
      expect(await store().getMetricHistory(runId, "m")).toHaveLength(2);
    });
  });
}
