/**
 * The TrackingStore contract, continued: what every store refuses, and in the same words. These
 * are the cases where the stores had drifted apart (FileStore took a negative start or end time
 * and a numeric user id that MemoryStore refused; "already exists" had three wordings); they now
 * go through one set of checks (src/store/checks.ts). Bad input changes nothing.
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
