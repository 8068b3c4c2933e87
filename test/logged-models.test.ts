import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FileStore } from "../src/store/file/index.ts";
import { MemoryStore } from "../src/store/memory/index.ts";
import { describeLoggedModelStore } from "./logged-models-contract.ts";

describeLoggedModelStore("MemoryStore", async () => ({ store: new MemoryStore() }));

describeLoggedModelStore("FileStore", async () => {
  const dir = await mkdtemp(join(tmpdir(), "mlruns-lm-"));
  return {
    store: new FileStore(join(dir, "mlruns"), { onProblem: () => {} }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

describe("FileStore logged models on disk", () => {
  it("writes MLflow's layout: meta.yaml with an int status, metric lines with the run id", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mlruns-lm-"));
    try {
      const store = new FileStore(join(dir, "mlruns"));
      const experimentId = await store.createExperiment("layout");
      const run = (await store.createRun({ experimentId })).info.runId;
      const model = await store.loggedModels.createLoggedModel({ experimentId, name: "m" });
      const folder = join(store.root, experimentId, "models", model.modelId);
      const created = await readFile(join(folder, "meta.yaml"), "utf8");
      expect(created).toContain("lifecycle_stage: 'active'");
      expect(created).toContain("status: 1\n");
      await store.loggedModels.finalizeLoggedModel(model.modelId, "READY");
      const finalized = await readFile(join(folder, "meta.yaml"), "utf8");
      expect(finalized).not.toContain("lifecycle_stage");
      expect(finalized).toContain("status: 2\n");
      await store.loggedModels.logLoggedModelMetrics(model.modelId, run, [
        { key: "acc", value: 1, timestamp: 5, step: 2, datasetName: "d", datasetDigest: "x" },
      ]);
      expect(await readFile(join(folder, "metrics", "acc"), "utf8")).toBe(`5 1.0 2 ${run} d x\n`);
      await store.loggedModels.logRunOutputs(run, [{ modelId: model.modelId, step: 0 }]);
      const output = await readFile(
        join(store.root, experimentId, run, "outputs", model.modelId, "meta.yaml"),
        "utf8",
      );
      expect(output).toContain("source_type: 'RUN_OUTPUT'");
      expect((await store.getRun(run)).inputs).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
