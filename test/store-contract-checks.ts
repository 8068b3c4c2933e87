/**
 * The TrackingStore contract, continued: what every store refuses, and in the same words. These
 * are the cases where the stores had drifted apart (FileStore took a negative start or end time,
 * a numeric user id, clashing experiment tags and an over-long `mlflow.runName` tag that
 * MemoryStore refused; "already exists" had three wordings, the kept default experiment two);
 * they now go through one checking layer (src/store/checked-store.ts, checks.ts). Bad input
 * changes nothing.
 */
import { describe, expect } from "vitest";
import type { Run } from "../src/entities.ts";
import type { CreateRunOptions, TrackingStore } from "../src/store/store.ts";
import { expectMlflowError } from "./store-contract.ts";

export interface ChecksContract {
  test: (title: string, fn: () => Promise<void>) => unknown;
  store: () => TrackingStore;
  unique: (label: string) => string;
  newExperiment: (label: string) => Promise<string>;
  newRun: (
    label: string,
    extra?: Omit<CreateRunOptions, "experimentId">,
  ) => Promise<{ experimentId: string; run: Run; runId: string }>;
}

export function checksContract({ test, store, unique, newExperiment, newRun }: ChecksContract) {
  describe("checks every store makes alike", () => {
    test("createRun refuses a negative or fractional startTime and creates no run", async () => {
      const experimentId = await newExperiment("bad-start");
      for (const startTime of [-5, 1.5]) {
        const error = await expectMlflowError(
          store().createRun({ experimentId, startTime }),
          "INVALID_PARAMETER_VALUE",
        );
        expect(error.message).toBe(
          `startTime must be a non-negative integer (milliseconds since the epoch), got ${startTime}`,
        );
      }
      expect(await store().listRuns([experimentId], "ALL")).toEqual([]);
    });

    test("createRun refuses a userId that is not a string and creates no run", async () => {
      const experimentId = await newExperiment("bad-user");
      const error = await expectMlflowError(
        store().createRun({ experimentId, userId: 42 as unknown as string }),
        "INVALID_PARAMETER_VALUE",
      );
      expect(error.message).toBe("userId must be a string, got number 42");
      expect(await store().listRuns([experimentId], "ALL")).toEqual([]);
    });

    test("updateRun refuses a negative endTime and changes nothing", async () => {
      const { runId } = await newRun("bad-end");
      const error = await expectMlflowError(
        store().updateRun(runId, { status: "FINISHED", endTime: -7 }),
        "INVALID_PARAMETER_VALUE",
      );
      expect(error.message).toBe(
        "endTime must be a non-negative integer (milliseconds since the epoch), got -7",
      );
      const { info } = await store().getRun(runId);
      expect(info).toMatchObject({ status: "RUNNING", endTime: null });
    });

    test("createExperiment refuses tags that clash as file and folder and creates nothing", async () => {
      const name = unique("clashing-tags");
      const error = await expectMlflowError(
        store().createExperiment(name, { tags: { a: "1", "a/b": "2" } }),
        "INVALID_PARAMETER_VALUE",
      );
      expect(error.message).toBe(
        "experiment tag keys 'a' and 'a/b' clash: one would be a file, the other a folder",
      );
      expect(await store().getExperimentByName(name)).toBeNull();
    });

    test("the default experiment cannot be deleted, in one wording", async () => {
      const error = await expectMlflowError(
        store().deleteExperiment("0"),
        "INVALID_PARAMETER_VALUE",
      );
      expect(error.message).toBe("Cannot delete the default experiment '0': it is reserved");
      expect(error.hint).toBe("Delete its runs instead.");
      expect((await store().getExperiment("0")).lifecycleStage).toBe("active");
    });

    test("logBatch refuses an mlflow.runName tag longer than a run name may be", async () => {
      const { runId, run } = await newRun("long-name-tag");
      const error = await expectMlflowError(
        store().logBatch(runId, { tags: { "mlflow.runName": "n".repeat(251) } }),
        "INVALID_PARAMETER_VALUE",
      );
      expect(error.message).toMatch(/^Invalid run name 'n{40}\.\.\.': longer than 250 characters$/);
      const after = await store().getRun(runId);
      expect(after.info.runName).toBe(run.info.runName);
      expect(after.data.tags["mlflow.runName"]).toBe(run.info.runName);
    });

    test("a key that clashes with one already stored is refused in one wording", async () => {
      const { runId } = await newRun("stored-clash");
      const point = (key: string) => ({ key, value: 1, timestamp: 1, step: 0 });
      await store().logBatch(runId, { metrics: [point("acc/top5")], params: { p: "1" } });
      const metric = await expectMlflowError(
        store().logBatch(runId, { metrics: [point("acc")] }),
        "INVALID_PARAMETER_VALUE",
      );
      expect(metric.message).toContain(
        "Invalid metric key 'acc': it clashes with the existing metric 'acc/top5' " +
          "(a key cannot be both a value and a folder of other keys)",
      );
      const param = await expectMlflowError(
        store().logBatch(runId, { params: { "p/q": "1" } }),
        "INVALID_PARAMETER_VALUE",
      );
      expect(param.message).toContain(
        "Invalid param key 'p/q': it clashes with the existing param 'p'",
      );
      const experimentId = await newExperiment("stored-tag-clash");
      await store().setExperimentTag(experimentId, "team", "a");
      const tag = await expectMlflowError(
        store().setExperimentTag(experimentId, "team/lead", "b"),
        "INVALID_PARAMETER_VALUE",
      );
      expect(tag.message).toContain(
        "Invalid experiment tag key 'team/lead': it clashes with the existing experiment tag 'team'",
      );
      expect((await store().getExperiment(experimentId)).tags).toEqual({ team: "a" });
    });

    test("a taken experiment name is refused in one wording, active or deleted", async () => {
      const name = unique("taken");
      const id = await store().createExperiment(name);
      const active = await expectMlflowError(
        store().createExperiment(name),
        "RESOURCE_ALREADY_EXISTS",
      );
      expect(active.message).toBe(`Experiment '${name}' already exists (id ${id})`);
      const other = await newExperiment("rename-onto");
      const renamed = await expectMlflowError(
        store().renameExperiment(other, name),
        "RESOURCE_ALREADY_EXISTS",
      );
      expect(renamed.message).toBe(active.message);
      await store().deleteExperiment(id);
      const deleted = await expectMlflowError(
        store().createExperiment(name),
        "RESOURCE_ALREADY_EXISTS",
      );
      expect(deleted.message).toBe(
        `Experiment '${name}' already exists in deleted state (id ${id})`,
      );
      expect(deleted.hint).toMatch(/Restore the deleted experiment, or choose another name/);
    });
  });
}
