import { describe, expect, it } from "vitest";
import { MemoryStore } from "../src/store/memory/index.ts";
import { describeTrackingStore } from "./store-contract.ts";

describeTrackingStore("MemoryStore", async () => ({ store: new MemoryStore() }), {
  customArtifacts: { location: (label) => `memory:/${label}` },
});

describe("MemoryStore", () => {
  it("has the uri memory:", () => {
    expect(new MemoryStore().uri).toBe("memory:");
  });

  it("gives experiments 18-digit ids with a non-zero first digit", async () => {
    const store = new MemoryStore();
    const ids = await Promise.all(
      Array.from({ length: 20 }, (_, i) => store.createExperiment(`exp-${i}`)),
    );
    for (const id of ids) expect(id).toMatch(/^[1-9]\d{17}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("keeps separate instances apart", async () => {
    const a = new MemoryStore();
    const b = new MemoryStore();
    const id = await a.createExperiment("only-in-a");
    expect(await b.getExperimentByName("only-in-a")).toBeNull();
    await expect(b.getExperiment(id)).rejects.toMatchObject({ code: "RESOURCE_DOES_NOT_EXIST" });
  });

  it("lists experiments newest first, then by id", async () => {
    const store = new MemoryStore();
    const first = await store.createExperiment("first");
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = await store.createExperiment("second");
    const ids = (await store.listExperiments()).map((e) => e.experimentId);
    expect(ids.indexOf(second)).toBeLessThan(ids.indexOf(first));
  });

  it("lists runs by start time, newest first", async () => {
    const store = new MemoryStore();
    const experimentId = await store.createExperiment("order");
    const old = await store.createRun({ experimentId, startTime: 1000 });
    const recent = await store.createRun({ experimentId, startTime: 2000 });
    const ids = (await store.listRuns([experimentId])).map((r) => r.info.runId);
    expect(ids).toEqual([recent.info.runId, old.info.runId]);
  });

  it("derives artifact URIs from the experiment's artifact location", async () => {
    const store = new MemoryStore();
    const experimentId = await store.createExperiment("loc", { artifactLocation: "s3://b/x" });
    const run = await store.createRun({ experimentId });
    expect(run.info.artifactUri).toBe(`s3://b/x/${run.info.runId}/artifacts`);
    const plain = await store.createExperiment("plain");
    expect((await store.getExperiment(plain)).artifactLocation).toBe(`memory:/${plain}`);
  });

  it("keeps the first record of a dataset across the runs of an experiment", async () => {
    const store = new MemoryStore();
    const experimentId = await store.createExperiment("datasets");
    const dataset = {
      name: "d",
      digest: "1",
      sourceType: "local",
      source: "a",
      schema: null,
      profile: null,
    };
    const one = await store.createRun({ experimentId });
    const two = await store.createRun({ experimentId });
    await store.logInputs(one.info.runId, [{ dataset, tags: {} }]);
    await store.logInputs(two.info.runId, [{ dataset: { ...dataset, source: "b" }, tags: {} }]);
    expect((await store.getRun(two.info.runId)).inputs[0]?.dataset.source).toBe("a");
  });

  it("refuses a file where a directory was logged, and the reverse, writing nothing", async () => {
    const { mkdtemp, mkdir, writeFile, rm } = await import("node:fs/promises");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const root = await mkdtemp(join(tmpdir(), "mlruns-memory-"));
    try {
      await mkdir(join(root, "x"));
      await writeFile(join(root, "x", "f.txt"), "f");
      await mkdir(join(root, "y"));
      await writeFile(join(root, "y", "x"), "file named x");
      const store = new MemoryStore();
      const { runId } = (await store.createRun({ experimentId: "0" })).info;
      await store.logArtifact(runId, join(root, "x"));
      await expect(store.logArtifact(runId, join(root, "y", "x"))).rejects.toMatchObject({
        code: "INVALID_PARAMETER_VALUE",
      });
      await store.logArtifact(runId, join(root, "y", "x"), "file");
      await expect(store.logArtifact(runId, join(root, "x"), "file/x")).rejects.toMatchObject({
        code: "INVALID_PARAMETER_VALUE",
      });
      expect((await store.listArtifacts(runId)).map((f) => f.path)).toEqual(["file", "x"]);
      expect(await store.listArtifacts(runId, "file/x")).toEqual([]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it("lets artifacts be logged to a deleted run, as MLflow's artifact stores do", async () => {
    const { mkdtemp, writeFile, rm } = await import("node:fs/promises");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const root = await mkdtemp(join(tmpdir(), "mlruns-memory-"));
    try {
      await writeFile(join(root, "a.txt"), "a");
      const store = new MemoryStore();
      const { runId } = (await store.createRun({ experimentId: "0" })).info;
      await store.deleteRun(runId);
      await store.logArtifact(runId, join(root, "a.txt"));
      expect((await store.listArtifacts(runId)).map((f) => f.path)).toEqual(["a.txt"]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
