/**
 * The TrackingStore contract. Experiments: create, read, rename, tag, delete and restore, and the
 * errors of each.
 */
import { describe, expect } from "vitest";
import { type Contract, expectMlflowError } from "./context.ts";

export function experimentsContract({
  test,
  store,
  unique,
  newExperiment,
  UNKNOWN_EXPERIMENT,
}: Contract): void {
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
        await expectMlflowError(store().setExperimentTag(id, key, "v"), "INVALID_PARAMETER_VALUE");
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
}
