import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { getTracker, isMlflowError, MemoryStore, resolveConfig } from "../src/index.ts";
import { expectMlflowError } from "./store-contract.ts";

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "mlruns-tracker-"));
  dirs.push(dir);
  return dir;
}

describe("configuration", () => {
  it("reads MLflow's environment variables, and options win", () => {
    const env = {
      MLFLOW_TRACKING_URI: "http://example.invalid:5000",
      MLFLOW_EXPERIMENT_NAME: "from-env",
      MLFLOW_RUN_ID: "abc",
      MLFLOW_MOCK_MODE: "false",
      MLFLOW_TRACKING_TOKEN: "t0k",
      MLFLOW_HTTP_REQUEST_MAX_RETRIES: "3",
      MLFLOW_HTTP_REQUEST_TIMEOUT: "9",
      MLFLOW_TRACKING_INSECURE_TLS: "true",
    };
    const config = resolveConfig({ experimentName: "from-option" }, env);
    expect(config).toMatchObject({
      trackingUri: "http://example.invalid:5000",
      experimentName: "from-option",
      runId: "abc",
      mockMode: false,
      http: { token: "t0k", maxRetries: 3, timeout: 9, insecureTls: true, backoffFactor: 2 },
    });
    expect(resolveConfig({}, {}).trackingUri).toBe("./mlruns");
  });

  it("rejects malformed values with the variable's name", () => {
    expect(() => resolveConfig({}, { MLFLOW_MOCK_MODE: "maybe" })).toThrow(/MLFLOW_MOCK_MODE/);
    expect(() => resolveConfig({}, { MLFLOW_HTTP_REQUEST_TIMEOUT: "soon" })).toThrow(
      /MLFLOW_HTTP_REQUEST_TIMEOUT/,
    );
  });

  it("mock mode keeps everything in memory", async () => {
    const tracker = await getTracker({ mockMode: true, experimentName: "mocked" });
    expect(tracker.store).toBeInstanceOf(MemoryStore);
    await tracker.withRun("r", {}, async (run) => run.logMetric("m", 1));
    const { runs } = await tracker.searchRuns();
    expect(runs.map((r) => r.metrics.m)).toEqual([1]);
  });

  it("an experiment given by id must exist; one given by name is created once", async () => {
    const root = join(await tempDir(), "mlruns");
    const first = await getTracker({ trackingUri: root, experimentName: "team/rf" });
    const second = await getTracker({ trackingUri: `file://${root}`, experimentName: "team/rf" });
    expect(second.experimentId).toBe(first.experimentId);
    await expectMlflowError(
      getTracker({ trackingUri: root, experimentId: "999" }),
      "RESOURCE_DOES_NOT_EXIST",
    );
    await first.deleteExperiment(first.experimentId);
    await expectMlflowError(
      getTracker({ trackingUri: root, experimentName: "team/rf" }),
      "INVALID_PARAMETER_VALUE",
    );
  });
});

describe("runs", () => {
  it("withRun ends FINISHED, or FAILED and rethrows", async () => {
    const tracker = await getTracker({ trackingUri: "memory:" });
    const ok = await tracker.withRun("ok", {}, async (run) => run.id);
    expect((await tracker.getRun(ok)).info.status).toBe("FINISHED");
    let failedId = "";
    await expect(
      tracker.withRun("boom", {}, async (run) => {
        failedId = run.id;
        run.logMetric("before", 1);
        throw new Error("training diverged");
      }),
    ).rejects.toThrow("training diverged");
    const failed = await tracker.getRun(failedId);
    expect(failed.info.status).toBe("FAILED");
    expect(failed.metrics.before).toBe(1);
  });

  it("adds MLflow's system tags, descriptions and parents", async () => {
    const tracker = await getTracker({ trackingUri: "memory:" });
    const parent = await tracker.startRun("parent", { description: "notes" });
    const child = await tracker.startRun("child", { parentRunId: parent.id });
    await child.end();
    await parent.end();
    const tags = (await tracker.getRun(child.id)).tags;
    expect(tags["mlflow.parentRunId"]).toBe(parent.id);
    expect(tags["mlflow.source.type"]).toBe("LOCAL");
    expect(tags["mlflow.user"]).toBeTruthy();
    expect(tags["mlflow.source.git.commit"] ?? "").toMatch(/^([0-9a-f]{40})?$/);
    expect((await tracker.getRun(parent.id)).tags["mlflow.note.content"]).toBe("notes");
  });

  it("buffers metrics until flush, keeping order and steps", async () => {
    const tracker = await getTracker({ trackingUri: "memory:", buffer: { intervalMs: 60_000 } });
    const run = await tracker.startRun("buffered");
    for (let step = 0; step < 5; step++)
      run.logMetric("loss", 5 - step, { step, timestamp: 100 + step });
    expect(await tracker.getMetricHistory(run.id, "loss")).toEqual([]);
    await run.flush();
    const history = await tracker.getMetricHistory(run.id, "loss");
    expect(history.map((m) => [m.step, m.value])).toEqual([
      [0, 5],
      [1, 4],
      [2, 3],
      [3, 2],
      [4, 1],
    ]);
    await run.end();
  });

  it("flushes on its own within the interval", async () => {
    const tracker = await getTracker({ trackingUri: "memory:", buffer: { intervalMs: 20 } });
    const run = await tracker.startRun("timer");
    run.logMetric("m", 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await tracker.getMetricHistory(run.id, "m")).length).toBe(1);
    await run.end();
  });

  it("rejects bad metrics at the call, and logging after the end", async () => {
    const tracker = await getTracker({ trackingUri: "memory:" });
    const run = await tracker.startRun("strict");
    expect(() => run.logMetric("a,b", 1)).toThrow(/a,b/);
    expect(() => run.logMetric("m", 1, { step: 1.5 })).toThrow(/step/);
    expect(() => run.logMetric("m", "1" as unknown as number)).toThrow(/numeric/);
    await run.end();
    let error: unknown;
    try {
      run.logMetric("m", 1);
    } catch (e) {
      error = e;
    }
    expect(isMlflowError(error, "INVALID_PARAMETER_VALUE")).toBe(true);
  });

  it("stores params as Python's str() and artifacts from memory", async () => {
    const tracker = await getTracker({ trackingUri: join(await tempDir(), "mlruns") });
    const file = join(await tempDir(), "data.csv");
    await writeFile(file, "a,b\n");
    const id = await tracker.withRun("p", {}, async (run) => {
      await run.logParams({ flag: true, none: null, list: [1, "a"], rate: 1e-5, n: 3 });
      await run.logDict({ k: [1, 2] }, "cfg/config.yaml");
      await run.logDict({ k: 1 }, "cfg/config.json");
      await run.logText("hello", "notes.md");
      await run.logArtifact(file, "data");
      return run.id;
    });
    const record = await tracker.getRun(id);
    expect(record.params).toEqual({
      flag: "True",
      none: "None",
      list: "[1, 'a']",
      rate: "1e-05",
      n: "3",
    });
    const read = async (path: string) =>
      new TextDecoder().decode(await tracker.store.readArtifact(id, path));
    expect(await read("cfg/config.yaml")).toBe("k:\n  - 1\n  - 2\n");
    expect(JSON.parse(await read("cfg/config.json"))).toEqual({ k: 1 });
    expect(await read("notes.md")).toBe("hello");
    expect(await read("data/data.csv")).toBe("a,b\n");
  });

  it("resumes a run by id and compares runs", async () => {
    const tracker = await getTracker({ trackingUri: "memory:" });
    const a = await tracker.withRun("a", {}, async (run) => {
      await run.logParams({ lr: 0.1, depth: 3 });
      run.logMetric("acc", 0.8);
      return run.id;
    });
    const b = await tracker.withRun("b", {}, async (run) => {
      await run.logParams({ lr: 0.2, depth: 3 });
      run.logMetric("acc", 0.9);
      return run.id;
    });
    const resumed = await tracker.startRun(undefined, { runId: a });
    expect(resumed.info.status).toBe("RUNNING");
    expect(resumed.info.endTime).toBeNull();
    resumed.logMetric("loss", 0.3);
    await resumed.end();
    const comparison = await tracker.compareRuns([a, b]);
    expect(comparison.params).toEqual([
      { key: "depth", values: ["3", "3"], differs: false },
      { key: "lr", values: ["0.1", "0.2"], differs: true },
    ]);
    const acc = comparison.metrics.find((m) => m.key === "acc");
    expect(acc?.values).toEqual([0.8, 0.9]);
    expect(acc?.deltas[1]).toBeCloseTo(0.1);
    expect(comparison.metrics.find((m) => m.key === "loss")?.values).toEqual([0.3, undefined]);
  });
});
