/**
 * Sync of histories longer than one page: each point arrives once, in order, whichever way the
 * copy goes, and a history is only ever read a page at a time (a whole one could be millions of
 * points). A copy killed mid-history resumes without sending anything twice.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Batch, Metric } from "../../src/entities.ts";
import { MlflowError } from "../../src/errors.ts";
import { FileStore } from "../../src/store/file/index.ts";
import { MemoryStore } from "../../src/store/memory/index.ts";
import type { TrackingStore } from "../../src/store/store.ts";
import { CHECKPOINT_POINTS } from "../../src/sync/histories.ts";
import { sync } from "../../src/sync/index.ts";
import type { RunEntry } from "../../src/sync/ledger.ts";
import { LEDGER_FILE } from "../../src/tree-files.ts";

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempTree(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "mlruns-long-"));
  dirs.push(dir);
  return join(dir, "mlruns");
}

const T = 1_767_225_600_000;
/** Points of "m" (several read pages, and more than two checkpoints), and of a short "n". */
const LONG = 2 * CHECKPOINT_POINTS + 12_345;

/** One finished run whose "m" repeats values and timestamps, so only (time, step, value) tells. */
async function longRun(store: TrackingStore): Promise<string> {
  const experimentId = await store.createExperiment("long");
  const { runId } = (await store.createRun({ experimentId, runName: "long", startTime: T })).info;
  for (let at = 0; at < LONG; at += 5000) {
    const metrics: Metric[] = [];
    for (let step = at; step < Math.min(LONG, at + 5000); step++) {
      metrics.push({ key: "m", value: step % 97, timestamp: T + Math.floor(step / 3), step });
    }
    await store.logBatch(runId, { metrics });
  }
  await store.logBatch(runId, { metrics: [{ key: "n", value: 1, timestamp: T, step: 0 }] });
  await store.updateRun(runId, { status: "FINISHED", endTime: T + LONG });
  return runId;
}

interface Watched {
  store: TrackingStore;
  /** Points each logBatch sent, in order. */
  sent: number[];
  /** Throw TEMPORARILY_UNAVAILABLE on this logBatch call (1-based), as a server gone away. */
  failAt?: number;
}

/**
 * The store, refusing whole-history reads and pages over 25,000 points, counting the points
 * sent to it, and failing a chosen logBatch: what the copy does, seen from the stores.
 */
function watched(store: TrackingStore, failAt?: number): Watched {
  const watch: Watched = { store, sent: [], ...(failAt === undefined ? {} : { failAt }) };
  watch.store = new Proxy(store, {
    get(target, property, receiver) {
      if (property === "getMetricHistory") {
        return () => Promise.reject(new Error("sync read a whole history"));
      }
      if (property === "getMetricHistoryPage") {
        return (runId: string, key: string, page: { maxResults: number }) => {
          expect(page.maxResults).toBeLessThanOrEqual(25_000);
          return target.getMetricHistoryPage(runId, key, page);
        };
      }
      if (property === "logBatch") {
        return (runId: string, batch: Batch) => {
          const points = batch.metrics?.length ?? 0;
          if (points > 0) {
            expect(points).toBeLessThanOrEqual(1000);
            watch.sent.push(points);
            if (watch.sent.length === watch.failAt) {
              return Promise.reject(new MlflowError("TEMPORARILY_UNAVAILABLE", "gone away"));
            }
          }
          return target.logBatch(runId, batch);
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return watch;
}

const identities = (points: Metric[]) => points.map((p) => `${p.timestamp} ${p.step} ${p.value}`);

async function copyIn(store: TrackingStore): Promise<string> {
  const experiment = await store.getExperimentByName("long");
  const { runs } = await store.searchRuns({ experimentIds: [experiment?.experimentId ?? ""] });
  expect(runs).toHaveLength(1);
  return runs[0]?.info.runId ?? "";
}

describe("sync of histories longer than a page", () => {
  it("pushes and pulls each point exactly once, in order, reading pages only", async () => {
    const root = await tempTree();
    const tree = new FileStore(root);
    const runId = await longRun(tree);
    const expected = identities(await tree.getMetricHistory(runId, "m"));
    expect(expected).toHaveLength(LONG);

    const server = new MemoryStore();
    const pushed = await sync({ source: watched(tree).store, target: watched(server).store });
    expect(pushed.issues).toEqual([]);
    expect(pushed.counts.points).toBe(LONG + 1);
    const copy = await copyIn(server);
    expect(identities(await server.getMetricHistory(copy, "m"))).toEqual(expected);
    expect(await server.getMetricHistory(copy, "n")).toHaveLength(1);

    const pulledRoot = await tempTree();
    const pulledTree = new FileStore(pulledRoot);
    const pulled = await sync({
      source: watched(server).store,
      target: watched(pulledTree).store,
    });
    expect(pulled.issues).toEqual([]);
    expect(pulled.counts.points).toBe(LONG + 1);
    const back = await copyIn(pulledTree);
    expect(identities(await pulledTree.getMetricHistory(back, "m"))).toEqual(expected);

    // Nothing new either way: nothing read twice into a copy.
    const again = await sync({ source: watched(tree).store, target: watched(server).store });
    expect(again.counts).toMatchObject({ unchanged: 1, points: 0 });
    const dry = await sync({
      source: watched(server).store,
      target: watched(new FileStore(pulledRoot)).store,
      dryRun: true,
    });
    expect(dry.counts).toMatchObject({ unchanged: 1, points: 0 });
  });

  it("resumes a copy that stopped mid-history, sending no point twice", async () => {
    const root = await tempTree();
    const tree = new FileStore(root);
    const runId = await longRun(tree);
    const expected = identities(await tree.getMetricHistory(runId, "m"));

    // The 70th batch fails, past the first checkpoint (at 50 batches of 1000).
    const server = new MemoryStore();
    const first = watched(server, 70);
    await expect(sync({ source: tree, target: first.store })).rejects.toThrow("gone away");
    const ledger = JSON.parse(await readFile(join(root, LEDGER_FILE), "utf8"));
    const entry = Object.values(
      ledger.targets as Record<string, { runs: Record<string, RunEntry> }>,
    )[0]?.runs[runId] as RunEntry;
    expect(entry).toMatchObject({ dirty: true, metrics: { m: 50_000 }, unsure: { m: 100_000 } });
    const landed = 69_000;
    const copy = await copyIn(server);
    expect(await server.getMetricHistory(copy, "m")).toHaveLength(landed);

    const second = watched(server);
    const report = await sync({ source: watched(tree).store, target: second.store });
    expect(report.issues).toEqual([]);
    expect(report.counts).toMatchObject({ updated: 1, points: LONG + 1 - landed });
    expect(second.sent.reduce((a, b) => a + b, 0)).toBe(LONG + 1 - landed);
    expect(identities(await server.getMetricHistory(copy, "m"))).toEqual(expected);
  });
});
