/**
 * The behaviour every LoggedModelStore (MLflow 3's logged models) owes, run against FileStore,
 * MemoryStore, RestStore → `mlruns server` and RestStore → MLflow's own server; the server's
 * routes are also proven with MLflow's own client in compat/server.test.ts. A target that cannot
 * pass a test lists it in `options.skip` with the reason; a skip naming no test fails the suite.
 */
import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Metric } from "../src/entities.ts";
import { loggedModelsOf, type TrackingStore } from "../src/store/store.ts";
import { expectMlflowError } from "./store-contract.ts";

export interface LoggedModelsUnderTest {
  store: TrackingStore;
  cleanup?: () => Promise<void>;
}

const T = 1_700_000_000_000;

export function describeLoggedModelStore(
  name: string,
  makeStore: () => Promise<LoggedModelsUnderTest>,
  options: { skip?: Record<string, string> } = {},
): void {
  const skip = options.skip ?? {};
  const skipped = new Set<string>();
  const test = (title: string, fn: () => Promise<void>) => {
    const reason = skip[title];
    if (reason === undefined) return it(title, fn);
    skipped.add(title);
    return it.skip(`${title} (skipped: ${reason})`, fn);
  };

  describe(`LoggedModelStore contract: ${name}`, () => {
    let current: LoggedModelsUnderTest | undefined;
    const store = () => {
      if (current === undefined) throw new Error("no store");
      return current.store;
    };
    const models = () => loggedModelsOf(store());
    const newExperiment = () => store().createExperiment(`lm-${randomUUID()}`);
    beforeEach(async () => {
      current = await makeStore();
    });
    afterEach(async () => {
      await current?.cleanup?.();
      current = undefined;
    });

    test("creates a pending model under the experiment's artifact location", async () => {
      const experimentId = await newExperiment();
      const experiment = await store().getExperiment(experimentId);
      const { info } = await store().createRun({ experimentId });
      const model = await models().createLoggedModel({
        experimentId,
        name: "clf",
        modelType: "sklearn",
        sourceRunId: info.runId,
        params: { alpha: "0.5" },
        tags: { team: "vision" },
      });
      expect(model.modelId).toMatch(/^m-[0-9a-f]{32}$/);
      expect(model).toMatchObject({
        experimentId,
        name: "clf",
        modelType: "sklearn",
        sourceRunId: info.runId,
        status: "PENDING",
        statusMessage: null,
        params: { alpha: "0.5" },
        tags: { team: "vision" },
        metrics: [],
        artifactLocation: `${experiment.artifactLocation}/models/${model.modelId}/artifacts`,
      });
      expect(model.creationTimestamp).toBe(model.lastUpdatedTimestamp);
      expect(await models().getLoggedModel(model.modelId)).toEqual(model);
    });

    test("names a model when no name is given, and refuses names with / or :", async () => {
      const experimentId = await newExperiment();
      const model = await models().createLoggedModel({ experimentId });
      expect(model.name).toMatch(/^[a-z]+-[a-z]+-\d+$/);
      for (const bad of ["a/b", "a:b"]) {
        await expectMlflowError(
          models().createLoggedModel({ experimentId, name: bad }),
          "INVALID_PARAMETER_VALUE",
        );
      }
    });

    test("refuses unknown and deleted experiments, and unknown or malformed model ids", async () => {
      await expectMlflowError(
        models().createLoggedModel({ experimentId: "999999999999999999" }),
        "RESOURCE_DOES_NOT_EXIST",
      );
      const experimentId = await newExperiment();
      await store().deleteExperiment(experimentId);
      await expectMlflowError(models().createLoggedModel({ experimentId }), "INVALID_STATE");
      await expectMlflowError(
        models().getLoggedModel(`m-${"0".repeat(32)}`),
        "RESOURCE_DOES_NOT_EXIST",
      );
      await expectMlflowError(models().getLoggedModel("../../etc"), "INVALID_PARAMETER_VALUE");
    });

    test("refuses a malformed source run id, and a malformed run id logging metrics", async () => {
      // The stores had drifted: only the RestStore checked these; the file store wrote the run id
      // into the metric file's line, where a space breaks the line apart.
      const experimentId = await newExperiment();
      for (const sourceRunId of ["../not-a-run", "a b"]) {
        await expectMlflowError(
          models().createLoggedModel({ experimentId, sourceRunId }),
          "INVALID_PARAMETER_VALUE",
        );
      }
      expect((await models().searchLoggedModels({ experimentIds: [experimentId] })).models).toEqual(
        [],
      );
      const { modelId } = await models().createLoggedModel({ experimentId });
      const point: Metric = { key: "acc", value: 1, timestamp: T, step: 0 };
      const error = await expectMlflowError(
        models().logLoggedModelMetrics(modelId, "a b", [point]),
        "INVALID_PARAMETER_VALUE",
      );
      expect(error.message).toBe('Invalid run id "a b": expected 32 hexadecimal characters');
      expect((await models().getLoggedModel(modelId)).metrics).toEqual([]);
    });

    test("finalizes, tags, params and deletion", async () => {
      const experimentId = await newExperiment();
      const { modelId } = await models().createLoggedModel({ experimentId, tags: { a: "1" } });
      const ready = await models().finalizeLoggedModel(modelId, "READY");
      expect(ready.status).toBe("READY");
      expect(ready.lastUpdatedTimestamp).toBeGreaterThanOrEqual(ready.creationTimestamp);
      await models().setLoggedModelTags(modelId, { a: "2", b: "x" });
      await models().logLoggedModelParams(modelId, { lr: "0.1" });
      await models().deleteLoggedModelTag(modelId, "b");
      await expectMlflowError(
        models().deleteLoggedModelTag(modelId, "never"),
        "RESOURCE_DOES_NOT_EXIST",
      );
      expect(await models().getLoggedModel(modelId)).toMatchObject({
        tags: { a: "2" },
        params: { lr: "0.1" },
      });
      await models().deleteLoggedModel(modelId);
      await expectMlflowError(models().getLoggedModel(modelId), "RESOURCE_DOES_NOT_EXIST");
      await expectMlflowError(models().setLoggedModelTags(modelId, { b: "1" }));
      const kept = await models().getLoggedModel(modelId, { allowDeleted: true });
      expect(kept.tags).toEqual({ a: "2" });
      const found = await models().searchLoggedModels({ experimentIds: [experimentId] });
      expect(found.models).toEqual([]);
    });

    test("tags with '/' in their key are set and deleted", async () => {
      const experimentId = await newExperiment();
      const { modelId } = await models().createLoggedModel({ experimentId });
      await models().setLoggedModelTags(modelId, { "nested/key": "x", keep: "y" });
      expect((await models().getLoggedModel(modelId)).tags).toEqual({
        "nested/key": "x",
        keep: "y",
      });
      await models().deleteLoggedModelTag(modelId, "nested/key");
      expect((await models().getLoggedModel(modelId)).tags).toEqual({ keep: "y" });
    });

    test("keeps the latest metric per key and dataset, with the run that logged it", async () => {
      const experimentId = await newExperiment();
      const run = (await store().createRun({ experimentId })).info.runId;
      const { modelId } = await models().createLoggedModel({ experimentId, sourceRunId: run });
      const point = (value: number, step: number, dataset?: string): Metric => ({
        key: "acc",
        value,
        timestamp: T + step,
        step,
        ...(dataset ? { datasetName: dataset, datasetDigest: `${dataset}-d` } : {}),
      });
      await models().logLoggedModelMetrics(modelId, run, [point(0.5, 1), point(0.7, 2)]);
      // An earlier step logged later (a new timestamp: SQL stores refuse a second value at the
      // same key, timestamp, step and run) does not replace the latest point.
      const late = { ...point(0.6, 1), timestamp: T + 100 };
      await models().logLoggedModelMetrics(modelId, run, [late, point(0.9, 3, "test")]);
      const metrics = (await models().getLoggedModel(modelId)).metrics;
      expect(
        metrics
          .map((m) => [m.key, m.value, m.step, m.datasetName ?? null, m.runId])
          .sort((a, b) => String(a[3]).localeCompare(String(b[3]))),
      ).toEqual([
        ["acc", 0.7, 2, null, run],
        ["acc", 0.9, 3, "test", run],
      ]);
    });

    test("searches by attribute, tag, param and metric, orders and pages", async () => {
      const experimentId = await newExperiment();
      const run = (await store().createRun({ experimentId })).info.runId;
      const ids: string[] = [];
      for (const [i, name] of ["alpha", "beta", "gamma"].entries()) {
        const model = await models().createLoggedModel({
          experimentId,
          name,
          params: { depth: String(i) },
          tags: { kind: i === 1 ? "tree" : "linear" },
        });
        await models().logLoggedModelMetrics(model.modelId, run, [
          { key: "acc", value: 0.5 + i / 10, timestamp: T, step: 0 },
        ]);
        ids.push(model.modelId);
        await new Promise((resolve) => setTimeout(resolve, 3));
      }
      await models().finalizeLoggedModel(ids[0] as string, "READY");
      const search = (filter?: string, extra = {}) =>
        models().searchLoggedModels({
          experimentIds: [experimentId],
          ...(filter ? { filter } : {}),
          ...extra,
        });
      const names = async (filter?: string, extra = {}) =>
        (await search(filter, extra)).models.map((m) => m.name);
      expect(await names()).toEqual(["gamma", "beta", "alpha"]);
      expect(await names("name LIKE 'a%'")).toEqual(["alpha"]);
      expect(await names("tags.kind = 'linear'")).toEqual(["gamma", "alpha"]);
      expect(await names("params.depth != '0' AND metrics.acc > 0.55")).toEqual(["gamma", "beta"]);
      expect(
        await names(undefined, { orderBy: [{ fieldName: "metrics.acc", ascending: true }] }),
      ).toEqual(["alpha", "beta", "gamma"]);
      const first = await search(undefined, { maxResults: 2 });
      expect(first.models).toHaveLength(2);
      expect(first.nextPageToken).toBeDefined();
      const second = await search(undefined, { maxResults: 2, pageToken: first.nextPageToken });
      expect(second.models.map((m) => m.name)).toEqual(["alpha"]);
      expect(second.nextPageToken).toBeUndefined();
      await expectMlflowError(search("foo.bar = 'x'"), "INVALID_PARAMETER_VALUE");
      await expectMlflowError(
        search(undefined, { orderBy: [{ fieldName: "params.depth" }] }),
        "INVALID_PARAMETER_VALUE",
      );
    });

    test("searches by status", async () => {
      const experimentId = await newExperiment();
      const ready = await models().createLoggedModel({ experimentId, name: "ready" });
      await models().createLoggedModel({ experimentId, name: "pending" });
      await models().finalizeLoggedModel(ready.modelId, "READY");
      const found = await models().searchLoggedModels({
        experimentIds: [experimentId],
        filter: "status = 'READY'",
      });
      expect(found.models.map((m) => m.name)).toEqual(["ready"]);
    });

    test("links runs to the models they made and used", async () => {
      const experimentId = await newExperiment();
      const run = (await store().createRun({ experimentId })).info.runId;
      const made = await models().createLoggedModel({ experimentId, sourceRunId: run });
      const used = await models().createLoggedModel({ experimentId });
      expect(await models().runModelLinks(run)).toEqual({ outputs: [], inputs: [] });
      await models().logRunOutputs(run, [{ modelId: made.modelId, step: 3 }]);
      await models().logRunModelInputs(run, [used.modelId]);
      expect(await models().runModelLinks(run)).toEqual({
        outputs: [{ modelId: made.modelId, step: 3 }],
        inputs: [used.modelId],
      });
      await store().deleteRun(run);
      await expectMlflowError(models().logRunOutputs(run, [{ modelId: made.modelId, step: 1 }]));
    });

    test("keeps artifacts per model: put, list, open, delete", async () => {
      const experimentId = await newExperiment();
      const { modelId } = await models().createLoggedModel({ experimentId });
      await models().putArtifact(modelId, "MLmodel", Buffer.from("flavors: {}\n"));
      await models().putArtifact(modelId, "data/weights.bin", Buffer.alloc(10, 1));
      expect(await models().listArtifacts(modelId)).toEqual([
        { path: "MLmodel", isDir: false, fileSize: 12 },
        { path: "data", isDir: true },
      ]);
      const opened = await models().openArtifact(modelId, "MLmodel");
      const chunks: Uint8Array[] = [];
      for await (const chunk of opened.stream) chunks.push(chunk);
      expect(Buffer.concat(chunks).toString()).toBe("flavors: {}\n");
      await models().deleteArtifact(modelId, "data");
      expect((await models().listArtifacts(modelId)).map((f) => f.path)).toEqual(["MLmodel"]);
      await expectMlflowError(
        models().putArtifact(modelId, "../escape", Buffer.from("x")),
        "INVALID_PARAMETER_VALUE",
      );
    });

    it("skip list names only tests of this suite", () => {
      expect(Object.keys(skip).filter((title) => !skipped.has(title))).toEqual([]);
    });
  });
}
