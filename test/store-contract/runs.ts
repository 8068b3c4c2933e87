/**
 * The TrackingStore contract. Runs: create, name, update, list, delete and restore, and the errors
 * of each.
 */
import { describe, expect } from "vitest";
import { type Contract, expectMlflowError, iris, point, T } from "./context.ts";

export function runsContract({ test, store, newExperiment, newRun, unknownRunId }: Contract): void {
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

    test("getRunInfo is getRun's info, as the run changes", async () => {
      const { run } = await newRun("run-info", { runName: "first" });
      const { runId } = run.info;
      expect(await store().getRunInfo(runId)).toEqual(run.info);
      await store().logBatch(runId, { metrics: [point("m", 1, T, 0)], tags: { t: "1" } });
      await store().updateRun(runId, { status: "FINISHED", endTime: T + 5, runName: "second" });
      const info = await store().getRunInfo(runId);
      expect(info).toEqual((await store().getRun(runId)).info);
      expect(info).toMatchObject({ runName: "second", status: "FINISHED", endTime: T + 5 });
    });

    test("unknown run ids give RESOURCE_DOES_NOT_EXIST, malformed ones are rejected", async () => {
      const code = "RESOURCE_DOES_NOT_EXIST";
      const id = unknownRunId();
      await expectMlflowError(store().getRun(id), code);
      await expectMlflowError(store().getRunInfo(id), code);
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
      const ids = async (experimentIds: string[], view?: "ACTIVE_ONLY" | "DELETED_ONLY" | "ALL") =>
        (await store().listRuns(experimentIds, view)).map((r) => r.info.runId).sort();
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
}
