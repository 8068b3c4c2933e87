/**
 * The behaviour every TrackingStore owes: one suite, run against FileStore, MemoryStore and
 * RestStore (the last against a real MLflow server). Each test makes its own experiment with a
 * unique name, so the suite also runs against a shared server. A store that cannot pass a test
 * lists it in `options.skip` with the reason; a skip naming no test fails the suite.
 *
 * Comments marked "server:" note where a real MLflow server behaves differently from MLflow's
 * FileStore, for whoever writes the RestStore's skips or mapping.
 */
import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Batch, DatasetInput, Metric, Run } from "../src/entities.ts";
import { type ErrorCode, isMlflowError, type MlflowError } from "../src/errors.ts";
import type { CreateRunOptions, TrackingStore } from "../src/store/store.ts";
import { checksContract } from "./store-contract-checks.ts";

export interface StoreUnderTest {
  store: TrackingStore;
  cleanup?: () => Promise<void>;
}

export interface ContractOptions {
  /** Test name → why this store cannot pass it. */
  skip?: Record<string, string>;
  /** A custom artifact location this store can hold artifacts in (every store must have one). */
  customArtifacts: {
    /** A fresh location for an experiment, unique to `label`. */
    location: (label: string) => string;
    /**
     * The bytes of `path` under a run's artifact URI, read from the storage itself (not through
     * the store): proves the files are where the URI says. Absent for stores without storage.
     */
    stored?: (artifactUri: string, path: string) => Promise<Uint8Array | undefined>;
  };
}

/** A fixed, realistic clock for metric points (2023-11-14). */
const T = 1_700_000_000_000;

/** Awaits `promise`, expects an MlflowError (with one of `codes` if given) and returns it. */
export async function expectMlflowError(
  promise: Promise<unknown>,
  codes?: ErrorCode | ErrorCode[],
): Promise<MlflowError> {
  let outcome: { error: unknown } | undefined;
  try {
    await promise;
  } catch (error) {
    outcome = { error };
  }
  const wanted = codes === undefined ? undefined : ([] as ErrorCode[]).concat(codes);
  if (outcome === undefined) {
    throw new Error(
      `expected an MlflowError${wanted ? ` (${wanted.join(" or ")})` : ""}, but it resolved`,
    );
  }
  const { error } = outcome;
  if (!isMlflowError(error)) {
    throw new Error(`expected an MlflowError, got: ${String(error)}`, { cause: error });
  }
  if (wanted !== undefined && !wanted.includes(error.code)) {
    throw new Error(`expected ${wanted.join(" or ")}, got ${error.code}: ${error.message}`, {
      cause: error,
    });
  }
  return error;
}

const point = (key: string, value: number, timestamp: number, step: number): Metric => ({
  key,
  value,
  timestamp,
  step,
});

/** (step, timestamp, value) of a metric, for compact comparisons. */
const sv = (m: Metric | undefined) =>
  m === undefined ? undefined : [m.step, m.timestamp, m.value];

const iris = (digest = "a1b2c3d4"): DatasetInput["dataset"] => ({
  name: "iris",
  digest,
  sourceType: "local",
  source: '{"uri": "data/iris.csv"}',
  schema: null,
  profile: null,
});

export function describeTrackingStore(
  name: string,
  makeStore: () => Promise<StoreUnderTest>,
  options: ContractOptions,
): void {
  const skip = options.skip ?? {};
  const skipped = new Set<string>();
  const test = (title: string, fn: () => Promise<void>) => {
    const reason = skip[title];
    if (reason === undefined) return it(title, fn);
    skipped.add(title);
    return it.skip(`${title} (skipped: ${reason})`, fn);
  };

  describe(`TrackingStore contract: ${name}`, () => {
    let current: StoreUnderTest | undefined;
    let scratch = "";
    const store = (): TrackingStore => {
      if (current === undefined) throw new Error("no store");
      return current.store;
    };
    const unique = (label: string) => `contract-${label}-${randomUUID()}`;
    const newExperiment = (label: string, tags?: Record<string, string>) =>
      store().createExperiment(unique(label), tags === undefined ? {} : { tags });
    const newRun = async (label: string, extra: Omit<CreateRunOptions, "experimentId"> = {}) => {
      const experimentId = await newExperiment(label);
      const run = await store().createRun({ experimentId, ...extra });
      return { experimentId, run, runId: run.info.runId };
    };
    /** Writes `files` (relative path → content) under a fresh local folder; returns its path. */
    const localTree = async (files: Record<string, string | Uint8Array>): Promise<string> => {
      const root = join(scratch, randomUUID());
      await mkdir(root, { recursive: true });
      for (const [path, content] of Object.entries(files)) {
        await mkdir(dirname(join(root, path)), { recursive: true });
        await writeFile(join(root, path), content);
      }
      return root;
    };
    const text = (bytes: Uint8Array) => Buffer.from(bytes).toString("utf8");
    const unknownRunId = () => randomUUID().replaceAll("-", "");
    const UNKNOWN_EXPERIMENT = "999999999999999999";

    beforeAll(async () => {
      scratch = await mkdtemp(join(tmpdir(), "mlruns-contract-"));
    });
    afterAll(async () => {
      await rm(scratch, { recursive: true, force: true });
    });
    beforeEach(async () => {
      current = await makeStore();
    });
    afterEach(async () => {
      await current?.cleanup?.();
      current = undefined;
    });

    describe("experiments", () => {
      test("the default experiment 0 is named Default and is active", async () => {
        const experiment = await store().getExperiment("0");
        expect(experiment.experimentId).toBe("0");
        expect(experiment.name).toBe("Default");
        expect(experiment.lifecycleStage).toBe("active");
        expect((await store().getExperimentByName("Default"))?.experimentId).toBe("0");
      });

      test("createExperiment returns a string id that getExperiment reads back", async () => {
        const before = Date.now();
        const name = unique("create");
        const id = await store().createExperiment(name);
        expect(id).toMatch(/^\d+$/);
        expect(id).not.toBe("0");
        const experiment = await store().getExperiment(id);
        expect(experiment).toMatchObject({ experimentId: id, name, lifecycleStage: "active" });
        expect(experiment.tags).toEqual({});
        expect(experiment.artifactLocation).toMatch(/\S/);
        expect(experiment.creationTime).toBeGreaterThanOrEqual(before - 1000);
        expect(experiment.creationTime).toBeLessThanOrEqual(Date.now() + 1000);
      });

      test("createExperiment stores the tags it is given", async () => {
        const id = await newExperiment("tags", { team: "vision", "a/b": "ünï" });
        expect((await store().getExperiment(id)).tags).toEqual({ team: "vision", "a/b": "ünï" });
      });

      test("getExperimentByName finds active and deleted experiments, null for unknown names", async () => {
        const name = unique("by-name");
        const id = await store().createExperiment(name);
        expect((await store().getExperimentByName(name))?.experimentId).toBe(id);
        await store().deleteExperiment(id);
        const deleted = await store().getExperimentByName(name);
        expect(deleted).toMatchObject({ experimentId: id, lifecycleStage: "deleted" });
        expect(await store().getExperimentByName(unique("never-created"))).toBeNull();
      });

      test("listExperiments honours view types", async () => {
        const kept = await newExperiment("list-kept");
        const gone = await newExperiment("list-gone");
        await store().deleteExperiment(gone);
        const ids = async (view?: "ACTIVE_ONLY" | "DELETED_ONLY" | "ALL") =>
          (await store().listExperiments(view)).map((e) => e.experimentId);
        const byDefault = await ids();
        expect(byDefault).toContain(kept);
        expect(byDefault).toContain("0");
        expect(byDefault).not.toContain(gone);
        expect(await ids("ACTIVE_ONLY")).toEqual(expect.arrayContaining([kept, "0"]));
        expect(await ids("ACTIVE_ONLY")).not.toContain(gone);
        expect(await ids("DELETED_ONLY")).toContain(gone);
        expect(await ids("DELETED_ONLY")).not.toContain(kept);
        expect(await ids("ALL")).toEqual(expect.arrayContaining([kept, gone, "0"]));
        const listed = (await store().listExperiments("ALL")).find((e) => e.experimentId === gone);
        expect(listed?.lifecycleStage).toBe("deleted");
      });

      test("renameExperiment changes the name seen by get and by-name lookups", async () => {
        const oldName = unique("rename-old");
        const newName = unique("rename-new");
        const id = await store().createExperiment(oldName);
        await store().renameExperiment(id, newName);
        expect((await store().getExperiment(id)).name).toBe(newName);
        expect((await store().getExperimentByName(newName))?.experimentId).toBe(id);
        expect(await store().getExperimentByName(oldName)).toBeNull();
      });

      test("renameExperiment rejects taken names, empty names and deleted experiments", async () => {
        const taken = unique("rename-taken");
        await store().createExperiment(taken);
        const id = await newExperiment("rename-me");
        // server: the SQL store may report a taken name as BAD_REQUEST (a unique-constraint error).
        await expectMlflowError(store().renameExperiment(id, taken), "RESOURCE_ALREADY_EXISTS");
        await expectMlflowError(store().renameExperiment(id, ""), "INVALID_PARAMETER_VALUE");
        await store().deleteExperiment(id);
        await expectMlflowError(store().renameExperiment(id, unique("rename-deleted")));
        expect((await store().getExperiment(id)).name).not.toBe(taken);
      });

      test("experiment names are unique across active and deleted experiments", async () => {
        const name = unique("dup");
        const id = await store().createExperiment(name);
        await expectMlflowError(store().createExperiment(name), "RESOURCE_ALREADY_EXISTS");
        await store().deleteExperiment(id);
        await expectMlflowError(store().createExperiment(name), "RESOURCE_ALREADY_EXISTS");
        const matches = (await store().listExperiments("ALL")).filter((e) => e.name === name);
        expect(matches.map((e) => e.experimentId)).toEqual([id]);
      });

      test("invalid experiment names are rejected", async () => {
        await expectMlflowError(store().createExperiment(""), "INVALID_PARAMETER_VALUE");
        const long = `${unique("long")}-${"x".repeat(500)}`;
        await expectMlflowError(store().createExperiment(long), "INVALID_PARAMETER_VALUE");
        expect(await store().getExperimentByName(long)).toBeNull();
      });

      test("setExperimentTag upserts and deleteExperimentTag removes", async () => {
        const id = await newExperiment("exp-tags");
        await store().setExperimentTag(id, "team", "vision");
        await store().setExperimentTag(id, "team", "nlp");
        await store().setExperimentTag(id, "notes/ä", "ünïcode ✓");
        expect((await store().getExperiment(id)).tags).toEqual({
          team: "nlp",
          "notes/ä": "ünïcode ✓",
        });
        await store().deleteExperimentTag(id, "team");
        expect((await store().getExperiment(id)).tags).toEqual({ "notes/ä": "ünïcode ✓" });
        await expectMlflowError(store().deleteExperimentTag(id, "team"), "RESOURCE_DOES_NOT_EXIST");
      });

      test("invalid experiment tag keys are rejected", async () => {
        const id = await newExperiment("exp-tag-keys");
        for (const key of ["a,b", "../x", "/abs", "a//b", ""]) {
          await expectMlflowError(
            store().setExperimentTag(id, key, "v"),
            "INVALID_PARAMETER_VALUE",
          );
        }
        expect((await store().getExperiment(id)).tags).toEqual({});
      });

      test("experiment tags cannot change on a deleted experiment", async () => {
        const id = await newExperiment("exp-tag-deleted");
        await store().setExperimentTag(id, "keep", "1");
        await store().deleteExperiment(id);
        await expectMlflowError(store().setExperimentTag(id, "k", "v"), "INVALID_PARAMETER_VALUE");
        await expectMlflowError(store().deleteExperimentTag(id, "keep"), "INVALID_PARAMETER_VALUE");
        expect((await store().getExperiment(id)).tags).toEqual({ keep: "1" });
      });

      test("deleteExperiment and restoreExperiment switch the lifecycle stage, once each", async () => {
        const id = await newExperiment("delete");
        await store().deleteExperiment(id);
        expect((await store().getExperiment(id)).lifecycleStage).toBe("deleted");
        await expectMlflowError(store().deleteExperiment(id), "RESOURCE_DOES_NOT_EXIST");
        await store().restoreExperiment(id);
        expect((await store().getExperiment(id)).lifecycleStage).toBe("active");
        await expectMlflowError(store().restoreExperiment(id), "RESOURCE_DOES_NOT_EXIST");
      });

      test("experiment 0 cannot be deleted", async () => {
        await expectMlflowError(store().deleteExperiment("0"), "INVALID_PARAMETER_VALUE");
        expect((await store().getExperiment("0")).lifecycleStage).toBe("active");
      });

      test("unknown experiment ids give RESOURCE_DOES_NOT_EXIST", async () => {
        const code = "RESOURCE_DOES_NOT_EXIST";
        await expectMlflowError(store().getExperiment(UNKNOWN_EXPERIMENT), code);
        await expectMlflowError(store().renameExperiment(UNKNOWN_EXPERIMENT, unique("x")), code);
        await expectMlflowError(store().setExperimentTag(UNKNOWN_EXPERIMENT, "k", "v"), code);
        await expectMlflowError(store().deleteExperiment(UNKNOWN_EXPERIMENT), code);
        await expectMlflowError(store().restoreExperiment(UNKNOWN_EXPERIMENT), code);
        await expectMlflowError(store().createRun({ experimentId: UNKNOWN_EXPERIMENT }), code);
      });

      test("malformed experiment ids are rejected", async () => {
        // Never resolved as a path; a server may answer either code.
        for (const id of ["../0", "a/b", ""]) {
          await expectMlflowError(store().getExperiment(id), [
            "INVALID_PARAMETER_VALUE",
            "RESOURCE_DOES_NOT_EXIST",
          ]);
        }
      });
    });

    describe("runs", () => {
      test("createRun returns a RUNNING, active run with a 32-hex id and no end time", async () => {
        const { experimentId, run } = await newRun("create-run", { runName: "baseline" });
        expect(run.info.runId).toMatch(/^[0-9a-f]{32}$/);
        expect(run.info).toMatchObject({
          experimentId,
          runName: "baseline",
          status: "RUNNING",
          endTime: null,
          lifecycleStage: "active",
        });
        expect(run.info.artifactUri.endsWith(`/${run.info.runId}/artifacts`)).toBe(true);
        expect(run.data.tags["mlflow.runName"]).toBe("baseline");
        expect(run.data.params).toEqual({});
        expect(run.data.metrics).toEqual({});
        expect(run.inputs).toEqual([]);
        expect(await store().getRun(run.info.runId)).toEqual(run);
      });

      test("createRun generates an adjective-noun-N name when none is given", async () => {
        const { run } = await newRun("gen-name");
        expect(run.info.runName).toMatch(/^[a-z]+-[a-z]+-\d{1,4}$/);
        expect(run.data.tags["mlflow.runName"]).toBe(run.info.runName);
      });

      test("createRun takes the name from the mlflow.runName tag", async () => {
        const { run } = await newRun("tag-name", { tags: { "mlflow.runName": "from-tag" } });
        expect(run.info.runName).toBe("from-tag");
        const same = await store().createRun({
          experimentId: run.info.experimentId,
          runName: "same",
          tags: { "mlflow.runName": "same" },
        });
        expect(same.info.runName).toBe("same");
        expect(same.data.tags["mlflow.runName"]).toBe("same");
      });

      test("createRun rejects a run name that differs from the mlflow.runName tag", async () => {
        const experimentId = await newExperiment("name-conflict");
        await expectMlflowError(
          store().createRun({ experimentId, runName: "a", tags: { "mlflow.runName": "b" } }),
          "INVALID_PARAMETER_VALUE",
        );
        expect(await store().listRuns([experimentId], "ALL")).toEqual([]);
      });

      test("userId comes from the option, else the mlflow.user tag, else unknown", async () => {
        // server: omitting user_id stores ""; the RestStore must send the resolved value.
        const experimentId = await newExperiment("user");
        const given = await store().createRun({ experimentId, userId: "alice" });
        const tagged = await store().createRun({ experimentId, tags: { "mlflow.user": "bob" } });
        const neither = await store().createRun({ experimentId });
        expect(given.info.userId).toBe("alice");
        expect(tagged.info.userId).toBe("bob");
        expect(tagged.data.tags["mlflow.user"]).toBe("bob");
        expect(neither.info.userId).toBe("unknown");
      });

      test("createRun keeps the given startTime and tags, and uses now without one", async () => {
        // server: an omitted start_time is stored as 0; the RestStore must send now.
        const experimentId = await newExperiment("start");
        const given = await store().createRun({ experimentId, startTime: T, tags: { team: "x" } });
        expect(given.info.startTime).toBe(T);
        expect(given.data.tags).toMatchObject({ team: "x" });
        const before = Date.now();
        const now = await store().createRun({ experimentId });
        expect(now.info.startTime).toBeGreaterThanOrEqual(before - 1000);
        expect(now.info.startTime).toBeLessThanOrEqual(Date.now() + 1000);
      });

      test("createRun in a deleted experiment is refused", async () => {
        const experimentId = await newExperiment("deleted-parent");
        await store().deleteExperiment(experimentId);
        // MLflow's FileStore says INVALID_STATE, the server INVALID_PARAMETER_VALUE.
        await expectMlflowError(store().createRun({ experimentId }), [
          "INVALID_PARAMETER_VALUE",
          "INVALID_STATE",
        ]);
        expect(await store().listRuns([experimentId], "ALL")).toEqual([]);
      });

      test("unknown run ids give RESOURCE_DOES_NOT_EXIST, malformed ones are rejected", async () => {
        const code = "RESOURCE_DOES_NOT_EXIST";
        const id = unknownRunId();
        await expectMlflowError(store().getRun(id), code);
        await expectMlflowError(store().updateRun(id, { status: "FINISHED" }), code);
        await expectMlflowError(store().deleteRun(id), code);
        await expectMlflowError(store().restoreRun(id), code);
        await expectMlflowError(store().logBatch(id, { params: { p: "1" } }), code);
        await expectMlflowError(store().deleteTag(id, "t"), code);
        await expectMlflowError(store().getMetricHistory(id, "m"), code);
        await expectMlflowError(store().logInputs(id, [{ dataset: iris(), tags: {} }]), code);
        await expectMlflowError(store().listArtifacts(id), code);
        await expectMlflowError(store().readArtifact(id, "a.txt"), code);
        for (const bad of ["../x", "a/b", ""]) {
          await expectMlflowError(store().getRun(bad), ["INVALID_PARAMETER_VALUE", code]);
        }
      });

      test("updateRun changes status and end time and returns the new info", async () => {
        const { runId } = await newRun("update");
        const info = await store().updateRun(runId, { status: "FINISHED", endTime: T + 5 });
        expect(info).toMatchObject({ runId, status: "FINISHED", endTime: T + 5 });
        expect((await store().getRun(runId)).info).toEqual(info);
        const again = await store().updateRun(runId, { status: "FAILED" });
        expect(again).toMatchObject({ status: "FAILED", endTime: T + 5 });
        await expectMlflowError(
          store().updateRun(runId, { status: "DONE" as never }),
          "INVALID_PARAMETER_VALUE",
        );
        expect((await store().getRun(runId)).info.status).toBe("FAILED");
      });

      test("updateRun with a null endTime clears the end time", async () => {
        // server: runs/update cannot clear end_time; the RestStore has to skip this.
        const { runId } = await newRun("resume");
        await store().updateRun(runId, { status: "FINISHED", endTime: T + 5 });
        const info = await store().updateRun(runId, { status: "RUNNING", endTime: null });
        expect(info).toMatchObject({ status: "RUNNING", endTime: null });
        expect((await store().getRun(runId)).info.endTime).toBeNull();
      });

      test("a run name change updates the mlflow.runName tag, and the tag renames the run", async () => {
        const { runId } = await newRun("rename-run", { runName: "first" });
        await store().updateRun(runId, { runName: "second" });
        let run = await store().getRun(runId);
        expect(run.info.runName).toBe("second");
        expect(run.data.tags["mlflow.runName"]).toBe("second");
        await store().logBatch(runId, { tags: { "mlflow.runName": "third" } });
        run = await store().getRun(runId);
        expect(run.info.runName).toBe("third");
        expect(run.data.tags["mlflow.runName"]).toBe("third");
      });

      test("deleteRun and restoreRun switch the lifecycle stage and may be repeated", async () => {
        const { runId } = await newRun("delete-run");
        await store().deleteRun(runId);
        await store().deleteRun(runId);
        expect((await store().getRun(runId)).info.lifecycleStage).toBe("deleted");
        await store().restoreRun(runId);
        await store().restoreRun(runId);
        expect((await store().getRun(runId)).info.lifecycleStage).toBe("active");
      });

      test("listRuns honours view types and spans several experiments", async () => {
        const { experimentId, runId: a } = await newRun("list-runs");
        const b = (await store().createRun({ experimentId })).info.runId;
        const c = (await store().createRun({ experimentId })).info.runId;
        const other = await newRun("list-runs-other");
        await store().deleteRun(c);
        const ids = async (
          experimentIds: string[],
          view?: "ACTIVE_ONLY" | "DELETED_ONLY" | "ALL",
        ) => (await store().listRuns(experimentIds, view)).map((r) => r.info.runId).sort();
        expect(await ids([experimentId])).toEqual([a, b].sort());
        expect(await ids([experimentId], "ACTIVE_ONLY")).toEqual([a, b].sort());
        expect(await ids([experimentId], "DELETED_ONLY")).toEqual([c]);
        expect(await ids([experimentId], "ALL")).toEqual([a, b, c].sort());
        expect(await ids([experimentId, other.experimentId])).toEqual([a, b, other.runId].sort());
        const listed = (await store().listRuns([experimentId], "ALL")).find(
          (r) => r.info.runId === c,
        );
        expect(listed?.info.lifecycleStage).toBe("deleted");
      });

      test("listRuns returns full runs with their data", async () => {
        const { experimentId, runId } = await newRun("list-data");
        await store().logBatch(runId, { params: { p: "1" }, metrics: [point("m", 2, T, 0)] });
        const [listed] = await store().listRuns([experimentId]);
        expect(listed).toEqual(await store().getRun(runId));
      });

      test("runs of a deleted experiment are deleted with it and restored with it", async () => {
        const { experimentId, runId } = await newRun("exp-runs");
        const earlier = (await store().createRun({ experimentId })).info.runId;
        await store().deleteRun(earlier);
        await store().deleteExperiment(experimentId);
        expect((await store().getRun(runId)).info.lifecycleStage).toBe("deleted");
        expect(await store().listRuns([experimentId])).toEqual([]);
        expect((await store().listRuns([experimentId], "DELETED_ONLY")).length).toBe(2);
        await expectMlflowError(
          store().logBatch(runId, { params: { p: "1" } }),
          "INVALID_PARAMETER_VALUE",
        );
        await store().restoreExperiment(experimentId);
        expect((await store().getRun(runId)).info.lifecycleStage).toBe("active");
        // MLflow restores every run of the experiment, also one deleted before the experiment was.
        expect((await store().getRun(earlier)).info.lifecycleStage).toBe("active");
      });

      test("a deleted run refuses writes until it is restored", async () => {
        const { runId } = await newRun("deleted-writes");
        await store().logBatch(runId, { tags: { keep: "1" } });
        await store().deleteRun(runId);
        const code = "INVALID_PARAMETER_VALUE";
        await expectMlflowError(store().logBatch(runId, { params: { p: "1" } }), code);
        await expectMlflowError(store().logBatch(runId, { metrics: [point("m", 1, T, 0)] }), code);
        await expectMlflowError(store().logBatch(runId, { tags: { t: "1" } }), code);
        await expectMlflowError(store().updateRun(runId, { status: "FINISHED" }), code);
        await expectMlflowError(store().deleteTag(runId, "keep"), code);
        await expectMlflowError(store().logInputs(runId, [{ dataset: iris(), tags: {} }]), code);
        const run = await store().getRun(runId);
        expect(run.data.params).toEqual({});
        expect(run.data.metrics).toEqual({});
        expect(run.data.tags).toMatchObject({ keep: "1" });
        expect(run.data.tags.t).toBeUndefined();
        expect(run.info.status).toBe("RUNNING");
        expect(run.inputs).toEqual([]);
        await store().restoreRun(runId);
        await store().logBatch(runId, { params: { p: "1" } });
        expect((await store().getRun(runId)).data.params).toEqual({ p: "1" });
      });
    });

    describe("run data", () => {
      test("logBatch stores params, metrics and tags that getRun returns", async () => {
        const { runId } = await newRun("batch");
        await store().logBatch(runId, {
          params: { lr: "0.01", layers: "[1, 2]" },
          metrics: [
            point("loss", 0.9, T, 0),
            point("loss", 0.5, T + 1, 1),
            point("acc", 0.7, T, 0),
          ],
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
          expect(sv((await store().getRun(runId)).data.metrics.m), String(points)).toEqual(
            expected,
          );
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
        const metrics = [
          point("m", 1e-7, 0, -3),
          point("m", 1.5e300, T, -1),
          point("m", -2.5, T, 0),
        ];
        await store().logBatch(runId, { metrics });
        expect(await store().getMetricHistory(runId, "m")).toEqual(metrics);
      });

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
        await expectMlflowError(
          store().logBatch(runId, { metrics: [point("a/b", 1, T, 0)] }),
          code,
        );
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

    describe("metric history pages", () => {
      test("getMetricHistoryPage reads a history a page at a time, in logged order", async () => {
        const { runId } = await newRun("history-pages");
        // Logged out of step order, and a point logged twice at one step: pages keep both.
        const logged = [5, 3, 9, 3, 0, 1, 2].map((step, i) => point("m", i / 3, T + i, step));
        await store().logBatch(runId, { metrics: logged.slice(0, 4) });
        await store().logBatch(runId, { metrics: logged.slice(4) });
        const pages: Metric[][] = [];
        let pageToken: string | undefined;
        do {
          const page = await store().getMetricHistoryPage(runId, "m", {
            maxResults: 3,
            ...(pageToken === undefined ? {} : { pageToken }),
          });
          pages.push(page.metrics);
          pageToken = page.nextPageToken;
        } while (pageToken !== undefined && pages.length < 10);
        expect(pages.map((page) => page.length)).toEqual([3, 3, 1]);
        expect(pages.flat()).toEqual(await store().getMetricHistory(runId, "m"));
        expect(pages.flat().map((m) => m.step)).toEqual([5, 3, 9, 3, 0, 1, 2]);
        const whole = await store().getMetricHistoryPage(runId, "m", { maxResults: 1000 });
        expect(whole).toEqual({ metrics: pages.flat() });
        expect(await store().getMetricHistoryPage(runId, "none", { maxResults: 5 })).toEqual({
          metrics: [],
        });
        await expectMlflowError(
          store().getMetricHistoryPage(runId, "m", { maxResults: 0 }),
          "INVALID_PARAMETER_VALUE",
        );
        await expectMlflowError(
          store().getMetricHistoryPage(runId, "m", { maxResults: 2, pageToken: "not a token" }),
          "INVALID_PARAMETER_VALUE",
        );
      });
    });

    describe("inputs", () => {
      test("logInputs records datasets with their tags", async () => {
        const { runId } = await newRun("inputs");
        await store().logInputs(runId, [
          { dataset: iris(), tags: { "mlflow.data.context": "training" } },
          { dataset: { ...iris("e5f6"), name: "wine", schema: '{"cols": []}' }, tags: {} },
        ]);
        const { inputs } = await store().getRun(runId);
        const byName = Object.fromEntries(inputs.map((i) => [i.dataset.name, i]));
        expect(inputs).toHaveLength(2);
        expect(byName.iris).toEqual({
          dataset: iris(),
          tags: { "mlflow.data.context": "training" },
        });
        expect(byName.wine?.dataset).toMatchObject({ digest: "e5f6", schema: '{"cols": []}' });
      });

      test("the same dataset logged twice is kept once, with its first tags", async () => {
        const { runId } = await newRun("inputs-twice");
        await store().logInputs(runId, [
          { dataset: iris(), tags: { "mlflow.data.context": "training" } },
        ]);
        await store().logInputs(runId, [
          { dataset: iris(), tags: { "mlflow.data.context": "eval" } },
        ]);
        let { inputs } = await store().getRun(runId);
        expect(inputs).toHaveLength(1);
        expect(inputs[0]?.tags).toEqual({ "mlflow.data.context": "training" });
        await store().logInputs(runId, [{ dataset: iris("ffff"), tags: {} }]);
        ({ inputs } = await store().getRun(runId));
        expect(inputs.map((i) => i.dataset.digest).sort()).toEqual(["a1b2c3d4", "ffff"]);
      });

      test("invalid dataset inputs are rejected and nothing is logged", async () => {
        const { runId } = await newRun("inputs-bad");
        await expectMlflowError(
          store().logInputs(runId, [
            { dataset: iris(), tags: {} },
            { dataset: iris("d".repeat(37)), tags: {} },
          ]),
          "INVALID_PARAMETER_VALUE",
        );
        await expectMlflowError(
          store().logInputs(runId, [
            { dataset: iris(), tags: { "mlflow.data.context": "x".repeat(501) } },
          ]),
          "INVALID_PARAMETER_VALUE",
        );
        expect((await store().getRun(runId)).inputs).toEqual([]);
      });
    });

    describe("artifacts", () => {
      test("logArtifact of a file puts it at the root under its base name", async () => {
        const { runId } = await newRun("artifact-file");
        const local = await localTree({ "notes.txt": "hello" });
        await store().logArtifact(runId, join(local, "notes.txt"));
        expect(await store().listArtifacts(runId)).toEqual([
          { path: "notes.txt", isDir: false, fileSize: 5 },
        ]);
        expect(text(await store().readArtifact(runId, "notes.txt"))).toBe("hello");
      });

      test("logArtifact under an artifactPath nests it, and listings show each level", async () => {
        const { runId } = await newRun("artifact-path");
        const local = await localTree({ "notes.txt": "hello" });
        await store().logArtifact(runId, join(local, "notes.txt"), "sub/dir");
        expect(await store().listArtifacts(runId)).toEqual([{ path: "sub", isDir: true }]);
        expect(await store().listArtifacts(runId, "sub")).toEqual([
          { path: "sub/dir", isDir: true },
        ]);
        expect(await store().listArtifacts(runId, "sub/dir")).toEqual([
          { path: "sub/dir/notes.txt", isDir: false, fileSize: 5 },
        ]);
        expect(text(await store().readArtifact(runId, "sub/dir/notes.txt"))).toBe("hello");
      });

      test("logArtifact of a directory copies its tree under the directory's name", async () => {
        const { runId } = await newRun("artifact-dir");
        const weights = Uint8Array.from({ length: 256 }, (_, i) => i);
        const local = await localTree({
          "model/MLmodel": "flavors: {}\n",
          "model/b.txt": "bb",
          "model/a.txt": "a",
          "model/data/weights.bin": weights,
        });
        await store().logArtifact(runId, join(local, "model"));
        expect(await store().listArtifacts(runId)).toEqual([{ path: "model", isDir: true }]);
        expect(await store().listArtifacts(runId, "model")).toEqual([
          { path: "model/MLmodel", isDir: false, fileSize: 12 },
          { path: "model/a.txt", isDir: false, fileSize: 1 },
          { path: "model/b.txt", isDir: false, fileSize: 2 },
          { path: "model/data", isDir: true },
        ]);
        expect(await store().listArtifacts(runId, "model/data")).toEqual([
          { path: "model/data/weights.bin", isDir: false, fileSize: 256 },
        ]);
        expect(Buffer.from(await store().readArtifact(runId, "model/data/weights.bin"))).toEqual(
          Buffer.from(weights),
        );
      });

      test("logArtifact of a directory under an artifactPath", async () => {
        const { runId } = await newRun("artifact-dir-path");
        const local = await localTree({ "plots/loss.svg": "<svg/>" });
        await store().logArtifact(runId, join(local, "plots"), "outputs");
        expect(await store().listArtifacts(runId, "outputs")).toEqual([
          { path: "outputs/plots", isDir: true },
        ]);
        expect(text(await store().readArtifact(runId, "outputs/plots/loss.svg"))).toBe("<svg/>");
      });

      test("listArtifacts sorts direct children and gives sizes for files only", async () => {
        const { runId } = await newRun("artifact-list");
        const local = await localTree({ "c.txt": "ccc", "a.txt": "", "b/inner.txt": "x" });
        await store().logArtifact(runId, join(local, "c.txt"));
        await store().logArtifact(runId, join(local, "a.txt"));
        await store().logArtifact(runId, join(local, "b"));
        const listing = await store().listArtifacts(runId);
        expect(listing.map((f) => f.path)).toEqual(["a.txt", "b", "c.txt"]);
        expect(listing[1]).toEqual({ path: "b", isDir: true });
        expect(listing[1]?.fileSize).toBeUndefined();
        expect(listing[2]).toEqual({ path: "c.txt", isDir: false, fileSize: 3 });
        // server: a 0-byte file comes back without file_size; the RestStore should report 0.
        expect(listing[0]).toMatchObject({ path: "a.txt", isDir: false });
        expect(await store().readArtifact(runId, "a.txt")).toHaveLength(0);
      });

      test("logArtifact replaces a file logged at the same path", async () => {
        const { runId } = await newRun("artifact-replace");
        const one = await localTree({ "a.txt": "one" });
        const two = await localTree({ "a.txt": "two!" });
        await store().logArtifact(runId, join(one, "a.txt"));
        await store().logArtifact(runId, join(two, "a.txt"));
        expect(await store().listArtifacts(runId)).toEqual([
          { path: "a.txt", isDir: false, fileSize: 4 },
        ]);
        expect(text(await store().readArtifact(runId, "a.txt"))).toBe("two!");
      });

      test("unknown artifact paths: readArtifact fails, listArtifacts is empty", async () => {
        const { runId } = await newRun("artifact-unknown");
        const local = await localTree({ "d/f.txt": "f" });
        await store().logArtifact(runId, join(local, "d"));
        await expectMlflowError(store().readArtifact(runId, "nope.txt"), "RESOURCE_DOES_NOT_EXIST");
        await expectMlflowError(
          store().readArtifact(runId, "d/nope.txt"),
          "RESOURCE_DOES_NOT_EXIST",
        );
        await expectMlflowError(store().readArtifact(runId, "d"));
        // As MLflow's artifact repositories (and the server) do: a missing folder lists as empty.
        expect(await store().listArtifacts(runId, "nope")).toEqual([]);
        expect(await store().listArtifacts(runId, "d/f.txt")).toEqual([]);
      });

      test("artifact paths that climb out of the run are rejected", async () => {
        const { runId } = await newRun("artifact-escape");
        const local = await localTree({ "x.txt": "x" });
        const file = join(local, "x.txt");
        const code = "INVALID_PARAMETER_VALUE";
        for (const bad of ["../x", "a/../../x", "/abs", "a//b"]) {
          await expectMlflowError(store().logArtifact(runId, file, bad), code);
          await expectMlflowError(store().listArtifacts(runId, bad), code);
          await expectMlflowError(store().readArtifact(runId, bad), code);
        }
        await expectMlflowError(store().readArtifact(runId, "../x.txt"), code);
        expect(await store().listArtifacts(runId)).toEqual([]);
      });

      test("logArtifact of a missing local path is rejected", async () => {
        const { runId } = await newRun("artifact-missing");
        await expectMlflowError(store().logArtifact(runId, join(scratch, "does-not-exist.txt")));
        expect(await store().listArtifacts(runId)).toEqual([]);
      });

      test("an experiment's custom artifact location holds its runs' artifacts", async () => {
        const { customArtifacts } = options;
        const location = customArtifacts.location(unique("location"));
        const experimentId = await store().createExperiment(unique("custom-location"), {
          artifactLocation: location,
        });
        expect((await store().getExperiment(experimentId)).artifactLocation).toBe(location);
        const { info } = await store().createRun({ experimentId });
        expect(info.artifactUri).toBe(`${location}/${info.runId}/artifacts`);
        const local = await localTree({ "notes.txt": "hello" });
        await store().logArtifact(info.runId, join(local, "notes.txt"), "docs");
        expect(await store().listArtifacts(info.runId, "docs")).toEqual([
          { path: "docs/notes.txt", isDir: false, fileSize: 5 },
        ]);
        expect(text(await store().readArtifact(info.runId, "docs/notes.txt"))).toBe("hello");
        if (customArtifacts.stored) {
          const bytes = await customArtifacts.stored(info.artifactUri, "docs/notes.txt");
          expect(bytes && text(bytes)).toBe("hello");
        }
      });

      test("putArtifact writes bytes or a stream, openArtifact streams them back", async () => {
        const { runId } = await newRun("artifact-put");
        await store().putArtifact(runId, "notes.txt", Buffer.from("hello"));
        const big = Buffer.alloc(3 << 20, 7);
        async function* chunks() {
          for (let at = 0; at < big.length; at += 1 << 18) yield big.subarray(at, at + (1 << 18));
        }
        await store().putArtifact(runId, "deep/er/big.bin", chunks());
        expect(await store().listArtifacts(runId)).toEqual([
          { path: "deep", isDir: true },
          { path: "notes.txt", isDir: false, fileSize: 5 },
        ]);
        expect(await store().listArtifacts(runId, "deep/er")).toEqual([
          { path: "deep/er/big.bin", isDir: false, fileSize: big.length },
        ]);
        const opened = await store().openArtifact(runId, "deep/er/big.bin");
        expect(opened.size).toBe(big.length);
        const parts: Uint8Array[] = [];
        for await (const part of opened.stream) parts.push(part);
        expect(Buffer.concat(parts).equals(big)).toBe(true);
        await store().putArtifact(runId, "notes.txt", Buffer.from("replaced"));
        expect(text(await store().readArtifact(runId, "notes.txt"))).toBe("replaced");
      });

      test("openArtifact of a missing file or of a folder fails", async () => {
        const { runId } = await newRun("artifact-open-missing");
        await store().putArtifact(runId, "d/f.txt", Buffer.from("f"));
        await expectMlflowError(store().openArtifact(runId, "nope.txt"), "RESOURCE_DOES_NOT_EXIST");
        await expectMlflowError(store().openArtifact(runId, "d"));
        for (const bad of ["../x", "/abs", "a//b"]) {
          await expectMlflowError(store().openArtifact(runId, bad), "INVALID_PARAMETER_VALUE");
          await expectMlflowError(
            store().putArtifact(runId, bad, Buffer.from("x")),
            "INVALID_PARAMETER_VALUE",
          );
        }
      });

      test("deleteArtifact removes a file or a folder; a missing path is no error", async () => {
        const { runId } = await newRun("artifact-delete");
        await store().putArtifact(runId, "keep.txt", Buffer.from("k"));
        await store().putArtifact(runId, "d/a.txt", Buffer.from("a"));
        await store().putArtifact(runId, "d/e/b.txt", Buffer.from("b"));
        await store().deleteArtifact(runId, "d/e");
        expect(await store().listArtifacts(runId, "d")).toEqual([
          { path: "d/a.txt", isDir: false, fileSize: 1 },
        ]);
        await store().deleteArtifact(runId, "d");
        await store().deleteArtifact(runId, "never-there.txt");
        expect(await store().listArtifacts(runId)).toEqual([
          { path: "keep.txt", isDir: false, fileSize: 1 },
        ]);
        await expectMlflowError(store().deleteArtifact(runId, "../x"), "INVALID_PARAMETER_VALUE");
      });

      test("artifacts belong to one run", async () => {
        const { experimentId, runId } = await newRun("artifact-own");
        const other = (await store().createRun({ experimentId })).info.runId;
        const local = await localTree({ "mine.txt": "m" });
        await store().logArtifact(runId, join(local, "mine.txt"));
        expect(await store().listArtifacts(other)).toEqual([]);
        await expectMlflowError(store().readArtifact(other, "mine.txt"), "RESOURCE_DOES_NOT_EXIST");
      });
    });

    checksContract({ test, store, unique, newExperiment, newRun });

    it("skip list names only tests of this suite", () => {
      expect(Object.keys(skip).filter((title) => !skipped.has(title))).toEqual([]);
    });
  });
}
