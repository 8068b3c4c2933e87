import { closeSync, openSync, statSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cacheFileOf, FIELDS, loadBlocks } from "../../src/store/file/history-blocks.ts";
import { FileStore } from "../../src/store/file/index.ts";
import { LOCK_FILE } from "../../src/tree-files.ts";
import { runTogether, runWriter, staleLock, startWriter } from "./writer.ts";

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

  it("4 processes logging one long history keep its summary as a reader would build it", async () => {
    const root = join(dir, "summary");
    const store = new FileStore(root);
    const { runId } = (await store.createRun({ experimentId: "0" })).info;
    const file = join(root, "0", runId, "metrics", "shared");
    /** The records kept for the history in the cache folder `cache`, as bytes. */
    const kept = (cache: string) => {
      process.env.XDG_CACHE_HOME = cache;
      const fd = openSync(file, "r");
      try {
        const found = loadBlocks(cacheFileOf(file), fd);
        const count = found?.blocks.count ?? 0;
        const records = found?.blocks.records ?? new Float64Array();
        return {
          count,
          end: found?.blocks.end ?? 0,
          bytes: Buffer.from(records.buffer, 0, count * FIELDS * 8),
        };
      } finally {
        closeSync(fd);
      }
    };
    const cacheBefore = process.env.XDG_CACHE_HOME;
    try {
      process.env.XDG_CACHE_HOME = join(dir, "summary-writers");
      await Promise.all(
        Array.from({ length: 4 }, (_, worker) =>
          runWriter(["log", root, runId, String(worker), "80000", "1000"]),
        ),
      );
      const written = kept(join(dir, "summary-writers"));
      // The writers stored all but their last few blocks, each as a reader builds it.
      expect(written.end).toBeGreaterThan(statSync(file).size - (256 << 10));
      process.env.XDG_CACHE_HOME = join(dir, "summary-reader");
      const sampled = await store.getMetricHistorySampled([runId], "shared", { maxPoints: 500 });
      const read = kept(join(dir, "summary-reader"));
      expect(read.count).toBeGreaterThanOrEqual(written.count);
      expect(read.bytes.subarray(0, written.bytes.length).equals(written.bytes)).toBe(true);
      process.env.XDG_CACHE_HOME = join(dir, "summary-writers");
      expect(await store.getMetricHistorySampled([runId], "shared", { maxPoints: 500 })).toEqual(
        sampled,
      );

      // A writer killed at work, maybe as it adds records: what it left reads true.
      const writer = startWriter(["log", root, runId, "9", "400000", "1000"]);
      const size = statSync(file).size;
      while (statSync(file).size < size + (3 << 20)) await new Promise((r) => setTimeout(r, 5));
      writer.child.kill("SIGKILL");
      await writer.done.catch(() => {});
      const left = kept(join(dir, "summary-writers"));
      expect(left.count).toBeGreaterThan(written.count);
      const after = await store.getMetricHistorySampled([runId], "shared", { maxPoints: 500 });
      process.env.XDG_CACHE_HOME = join(dir, "summary-reader-2");
      expect(await store.getMetricHistorySampled([runId], "shared", { maxPoints: 500 })).toEqual(
        after,
      );
      expect(
        kept(join(dir, "summary-reader-2")).bytes.equals(kept(join(dir, "summary-writers")).bytes),
      ).toBe(true);
    } finally {
      if (cacheBefore === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = cacheBefore;
    }
  });
});
