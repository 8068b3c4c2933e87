/** The TrackingStore contract. Dataset inputs. */
import { describe, expect } from "vitest";
import { type Contract, expectMlflowError, iris } from "./context.ts";

export function inputsContract({ test, store, newRun }: Contract): void {
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
}
