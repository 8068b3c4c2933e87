/**
 * The background push of local-first mode (sync/pusher.ts) without a network: passes that fail
 * are tried again until one goes through, a drain waits for a pass that saw everything written
 * before it, and one that runs out of time says what is left. A person's sync of the same tree
 * waits for the background pass instead of being refused; the background push gives way.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { LockBusyError, withLock } from "../../src/lock.ts";
import { FileStore } from "../../src/store/file/index.ts";
import { MemoryStore } from "../../src/store/memory/index.ts";
import { SOURCE_TAGS } from "../../src/sync/identity.ts";
import { sync } from "../../src/sync/index.ts";
import { pendingRuns } from "../../src/sync/pending.ts";
import { Pusher } from "../../src/sync/pusher.ts";
import { SYNC_LOCK_FILE } from "../../src/tree-files.ts";

const dirs: string[] = [];
const pushers: Pusher[] = [];
afterEach(async () => {
  for (const pusher of pushers.splice(0)) await pusher.close();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tree() {
  const dir = await mkdtemp(join(tmpdir(), "mlruns-pusher-"));
  dirs.push(dir);
  const source = new FileStore(join(dir, "mlruns"));
  const experimentId = await source.createExperiment("live");
  const run = await source.createRun({ experimentId, runName: "train" });
  return { source, experimentId, runId: run.info.runId, root: join(dir, "mlruns") };
}

/** A target that refuses every call while `down` is true, as a server that is away. */
function flakyTarget() {
  const target = new MemoryStore();
  const state = { down: true, refused: 0 };
  for (const name of ["getExperimentByName", "createExperiment", "searchRuns"] as const) {
    const call = (target[name] as (...args: unknown[]) => Promise<unknown>).bind(target);
    (target as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      if (!state.down) return call(...args);
      state.refused++;
      return Promise.reject(new Error("connection refused"));
    };
  }
  return { target, state };
}

async function copyOf(target: MemoryStore, runId: string) {
  const experiment = await target.getExperimentByName("live");
  const { runs } = await target.searchRuns({
    experimentIds: [experiment?.experimentId ?? "none"],
    filter: `tags.\`${SOURCE_TAGS.runId}\` = '${runId}'`,
  });
  return runs;
}

const points = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => ({
    key: "loss",
    value: 1 / (from + i + 1),
    timestamp: 1_000 + from + i,
    step: from + i,
  }));

describe("background push", () => {
  it("tries failed passes again until the server is back, then holds every point once", async () => {
    const { source, experimentId, runId } = await tree();
    const { target, state } = flakyTarget();
    const pusher = new Pusher({ source, target, experiments: [experimentId], intervalMs: 20 });
    pushers.push(pusher);
    await source.logBatch(runId, { metrics: points(50) });
    // A failed pass is tried again (however slowly a loaded machine gets there).
    while (state.refused < 2) await sleep(10);
    const away = await pusher.drain(Date.now() + 300);
    expect(away.done).toBe(false);
    expect(away.error).toContain("connection refused");
    expect(away.pending).toEqual([{ runId, runName: "train", points: 50 }]);

    state.down = false;
    await source.logBatch(runId, { metrics: points(25, 50) });
    const back = await pusher.drain(Date.now() + 10_000);
    expect(back).toMatchObject({ done: true, pending: [], issues: [] });
    const copies = await copyOf(target, runId);
    expect(copies).toHaveLength(1);
    const history = await target.getMetricHistory(copies[0]?.info.runId ?? "", "loss");
    expect(history.map((p) => p.step)).toEqual(Array.from({ length: 75 }, (_, i) => i));
  });

  it("sends points logged while it runs, pass after pass", async () => {
    const { source, experimentId, runId } = await tree();
    const target = new MemoryStore();
    const pusher = new Pusher({ source, target, experiments: [experimentId], intervalMs: 10 });
    pushers.push(pusher);
    for (let round = 0; round < 3; round++) {
      await source.logBatch(runId, { metrics: points(10, round * 10) });
      expect(await pusher.drain(Date.now() + 10_000)).toMatchObject({ done: true });
      const [copy] = await copyOf(target, runId);
      const history = await target.getMetricHistory(copy?.info.runId ?? "", "loss");
      expect(history).toHaveLength((round + 1) * 10);
    }
    expect(pusher.state.passes).toBeGreaterThanOrEqual(3);
  });
});

describe("the sync lock between a background push and a person's sync", () => {
  it("makes a person's sync wait for the background pass, and the background push give way", async () => {
    const { source, root } = await tree();
    const lock = join(root, SYNC_LOCK_FILE);
    let release = () => {};
    const held = withLock(lock, () => new Promise<void>((resolve) => (release = resolve)), {
      note: "background-push",
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    let waitedFor: string | undefined;
    const person = sync({
      source,
      target: new MemoryStore(),
      onLockWait: (holder) => {
        waitedFor = holder.pid;
        release();
      },
    });
    await held;
    const report = await person;
    expect(waitedFor).toBe(String(process.pid));
    expect(report.counts.created).toBe(1);

    let done = () => {};
    const personal = withLock(lock, () => new Promise<void>((resolve) => (done = resolve)));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await expect(
      sync({ source, target: new MemoryStore(), background: true }),
    ).rejects.toBeInstanceOf(LockBusyError);
    done();
    await personal;
  });
});

describe("what is left to push", () => {
  it("counts a history longer than a page, a page at a time, every point once", async () => {
    const { source, experimentId, runId } = await tree();
    const total = 120_500;
    for (let from = 0; from < total; from += 1000) {
      await source.logBatch(runId, { metrics: points(Math.min(1000, total - from), from) });
    }
    const pending = await pendingRuns({
      source,
      target: "http://127.0.0.1:9",
      experiments: [experimentId],
    });
    expect(pending).toEqual([{ runId, runName: "train", points: total }]);
  });
});
