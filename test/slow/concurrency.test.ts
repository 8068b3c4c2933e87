import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileStore } from "../../src/store/file/index.ts";
import { LOCK_FILE } from "../../src/tree-files.ts";
import { runTogether, runWriter, staleLock } from "./writer.ts";

const PROCESSES = 8;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mlruns-concurrency-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("several processes writing one tree", () => {
  it("8 processes creating the same experiment name leave exactly one experiment", async () => {
    const root = join(dir, "create");
    for (let round = 0; round < 3; round++) {
      const name = `shared-${round}`;
      const ids = await runTogether(
        Array.from({ length: PROCESSES }, () => ["experiment", root, name]),
      );
      const unique = new Set(ids.map((id) => id.trim()));
      expect(unique.size).toBe(1);
      const store = new FileStore(root);
      const named = (await store.listExperiments("ALL")).filter((e) => e.name === name);
      expect(named.map((e) => e.experimentId)).toEqual([...unique]);
    }
    expect((await readdir(root)).filter((n) => n.includes(".lock"))).toEqual([]);
  });

  it("8 processes finding a stale lock create one experiment, 12 rounds out of 12", async () => {
    const root = join(dir, "stale");
    await new FileStore(root).init();
    const stale = staleLock();
    for (let round = 0; round < 12; round++) {
      await writeFile(join(root, LOCK_FILE), stale);
      const name = `stale-${round}`;
      const ids = await runTogether(
        Array.from({ length: PROCESSES }, () => ["experiment", root, name]),
      );
      const named = (await new FileStore(root).listExperiments("ALL")).filter(
        (e) => e.name === name,
      );
      expect(named, `round ${round}`).toHaveLength(1);
      expect(new Set(ids.map((id) => id.trim()))).toEqual(new Set([named[0]?.experimentId]));
      expect((await readdir(root)).filter((n) => n.includes(".lock"))).toEqual([]);
    }
  });

  it("8 processes logging to the same run lose no line and tear none", async () => {
    const root = join(dir, "log");
    const store = new FileStore(root);
    const run = await store.createRun({ experimentId: "0" });
    const points = 500;
    await Promise.all(
      Array.from({ length: PROCESSES }, (_, worker) =>
        runWriter(["log", root, run.info.runId, String(worker), String(points)]),
      ),
    );
    const shared = await store.getMetricHistory(run.info.runId, "shared");
    expect(shared).toHaveLength(PROCESSES * points);
    expect(new Set(shared.map((m) => m.value)).size).toBe(PROCESSES * points);
    for (let worker = 0; worker < PROCESSES; worker++) {
      const own = await store.getMetricHistory(run.info.runId, `worker_${worker}`);
      expect(own.map((m) => m.value)).toEqual(Array.from({ length: points }, (_, i) => i));
    }
    const text = await readFile(join(root, "0", run.info.runId, "metrics", "shared"), "utf8");
    expect(text.split("\n").filter((line) => line !== "" && line.split(" ").length !== 3)).toEqual(
      [],
    );
    const params = (await store.getRun(run.info.runId)).data.params;
    expect(Object.keys(params)).toHaveLength(PROCESSES);
  });

  it("a process sending points another process logged before writes only the new ones", async () => {
    const root = join(dir, "again");
    const store = new FileStore(root);
    const { runId } = (await store.createRun({ experimentId: "0" })).info;
    // The second process starts with nothing in memory: its first points fall below the file's
    // latest and are looked up in the file; the last 200 are new.
    await runWriter(["log", root, runId, "0", "300"]);
    await runWriter(["log", root, runId, "0", "500"]);
    await runWriter(["log", root, runId, "0", "500"]);
    const own = await store.getMetricHistory(runId, "worker_0");
    expect(own.map((m) => m.step)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(await store.getMetricHistory(runId, "shared")).toHaveLength(500);
  });
});
