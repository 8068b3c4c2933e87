/**
 * The metric buffer of a run: it writes without the event loop on a FileStore (a training loop
 * that never awaits), refuses a clashing key at the call, and when the store refuses part of a
 * batch loses only that part and says so.
 */
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { invalid } from "../src/errors.ts";
import {
  FileStore,
  getTracker,
  isMlflowError,
  type Metric,
  type TrackingStore,
} from "../src/index.ts";
import { MetricBuffer } from "../src/tracker/buffer.ts";
import { expectMlflowError } from "./store-contract.ts";

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});
async function tempTree(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "mlruns-buffer-"));
  dirs.push(dir);
  return join(dir, "mlruns");
}

/** The MlflowError `fn` throws (INVALID_PARAMETER_VALUE), or fails the test. */
function thrownBy(fn: () => void) {
  try {
    fn();
  } catch (error) {
    if (isMlflowError(error, "INVALID_PARAMETER_VALUE")) return error;
    throw error;
  }
  throw new Error("expected an INVALID_PARAMETER_VALUE error");
}

/** Lines in a metric file, read synchronously: what is on disk without any await. */
function linesOnDisk(root: string, experimentId: string, runId: string, key: string): number {
  try {
    return readFileSync(join(root, experimentId, runId, "metrics", key), "utf8")
      .split("\n")
      .filter(Boolean).length;
  } catch {
    return 0;
  }
}

function busyWait(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // a synchronous training step
  }
}

describe("a training loop that never awaits (FileStore)", () => {
  it("writes the buffer from logMetric once its oldest point is intervalMs old", async () => {
    const root = await tempTree();
    const tracker = await getTracker({ trackingUri: root, buffer: { intervalMs: 50 } });
    const run = await tracker.startRun("sync-loop");
    const lines = () => linesOnDisk(root, tracker.experimentId, run.id, "loss");
    run.logMetric("loss", 1, { step: 0 });
    run.logMetric("loss", 2, { step: 1 });
    expect(lines()).toBe(0);
    busyWait(60);
    run.logMetric("loss", 3, { step: 2 });
    // Written before logMetric returned: no await, no timer.
    expect(lines()).toBe(3);
    run.logMetric("loss", 4, { step: 3 });
    expect(lines()).toBe(3);
    await run.end();
    expect(lines()).toBe(4);
  });

  it("writes the buffer from logMetric once maxPoints are waiting", async () => {
    const root = await tempTree();
    const tracker = await getTracker({
      trackingUri: root,
      buffer: { intervalMs: 60_000, maxPoints: 100 },
    });
    const run = await tracker.startRun("count");
    for (let step = 0; step < 250; step++) run.logMetric("loss", step, { step });
    expect(linesOnDisk(root, tracker.experimentId, run.id, "loss")).toBe(200);
    await run.end();
    expect(linesOnDisk(root, tracker.experimentId, run.id, "loss")).toBe(250);
  });
});

describe("a clashing key", () => {
  for (const uri of ["memory:", "file"]) {
    it(`is refused at the call, naming both keys, and nothing else is lost (${uri})`, async () => {
      const tracker = await getTracker({
        trackingUri: uri === "file" ? await tempTree() : uri,
        buffer: { intervalMs: 60_000 },
      });
      const run = await tracker.startRun("clash");
      run.logMetric("acc", 0.5);
      for (let step = 0; step < 100; step++) run.logMetric("loss", 1 / (step + 1), { step });
      const error = thrownBy(() => run.logMetric("acc/top5", 0.9));
      // The stores' wording (keyClashesWith), for a new key beside one the run has.
      expect(error.message).toBe(
        "Invalid metric key 'acc/top5': it clashes with the existing metric 'acc' " +
          "(a key cannot be both a value and a folder of other keys)",
      );
      expect(error.hint).toBe("Rename one of the keys");
      run.logMetric("top/k", 1);
      expect(thrownBy(() => run.logMetric("top", 1)).message).toContain(
        "Invalid metric key 'top': it clashes with the existing metric 'top/k'",
      );
      expect((await run.end()).status).toBe("FINISHED");
      expect(await tracker.getMetricHistory(run.id, "loss")).toHaveLength(100);
      expect(Object.keys((await tracker.getRun(run.id)).metrics).sort()).toEqual([
        "acc",
        "loss",
        "top/k",
      ]);
    });
  }

  it("is refused at the call against the keys a resumed run already has", async () => {
    const tracker = await getTracker({ trackingUri: await tempTree() });
    const first = await tracker.startRun("first");
    first.logMetric("acc/top5", 0.9);
    await first.end();
    const resumed = await tracker.startRun(undefined, { runId: first.id });
    expect(thrownBy(() => resumed.logMetric("acc", 1)).message).toContain(
      "Invalid metric key 'acc': it clashes with the existing metric 'acc/top5'",
    );
    resumed.logMetric("loss", 1);
    await resumed.end();
    expect(await tracker.getMetricHistory(first.id, "loss")).toHaveLength(1);
  });
});

describe("points the store refuses when they are written", () => {
  /** A run with `acc` and 100 `loss` points buffered, then `acc/top5` written by another process. */
  async function clashAtFlush(store: TrackingStore, other: TrackingStore) {
    const tracker = await getTracker({ store, buffer: { intervalMs: 60_000 } });
    const run = await tracker.startRun("refused");
    run.logMetric("acc", 0.5);
    for (let step = 0; step < 100; step++) run.logMetric("loss", 1 / (step + 1), { step });
    await other.logBatch(run.id, {
      metrics: [{ key: "acc/top5", value: 1, timestamp: 1, step: 0 }],
    });
    return { tracker, run };
  }

  it("lose only the refused key's points; flush rejects saying which", async () => {
    const root = await tempTree();
    const { tracker, run } = await clashAtFlush(new FileStore(root), new FileStore(root));
    const error = await expectMlflowError(run.flush(), "INVALID_PARAMETER_VALUE");
    expect(error.message).toBe(
      "Invalid metric key 'acc': it clashes with the existing metric 'acc/top5' (a key cannot " +
        "be both a value and a folder of other keys) (1 point of 'acc' not written)",
    );
    expect(await tracker.getMetricHistory(run.id, "loss")).toHaveLength(100);
    // Reported once; the run goes on.
    run.logMetric("loss", 0, { step: 100 });
    expect((await run.end()).status).toBe("FINISHED");
    expect(await tracker.getMetricHistory(run.id, "loss")).toHaveLength(101);
  });

  it("make end() reject and the run end FAILED rather than FINISHED", async () => {
    const root = await tempTree();
    const { tracker, run } = await clashAtFlush(new FileStore(root), new FileStore(root));
    const error = await expectMlflowError(run.end(), "INVALID_PARAMETER_VALUE");
    expect(error.message).toContain("(1 point of 'acc' not written)");
    const record = await tracker.getRun(run.id);
    expect(record.info.status).toBe("FAILED");
    expect(record.metrics).toMatchObject({ "acc/top5": 1, loss: 0.01 });
    expect(await tracker.getMetricHistory(run.id, "loss")).toHaveLength(100);
  });

  it("are thrown by the next logMetric when the timer wrote them", async () => {
    const root = await tempTree();
    const tracker = await getTracker({ trackingUri: root, buffer: { intervalMs: 20 } });
    const run = await tracker.startRun("timer");
    run.logMetric("acc", 0.5);
    await new FileStore(root).logBatch(run.id, {
      metrics: [{ key: "acc/top5", value: 1, timestamp: 1, step: 0 }],
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(thrownBy(() => run.logMetric("loss", 1)).message).toContain("'acc' not written");
    await run.end();
  });
});

describe("a buffer whose store writes only asynchronously (a server)", () => {
  /** Keeps what it is given, refusing any batch that holds the key `bad`, as a server would. */
  function sink() {
    const written: Metric[] = [];
    return {
      written,
      write: async (metrics: Metric[]) => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        if (metrics.some((m) => m.key === "bad")) throw invalid("metric 'bad' is refused");
        written.push(...metrics);
      },
    };
  }
  const add = (buffer: MetricBuffer, key: string, step: number) =>
    buffer.add(key, step, 1, step, Date.now());

  it("sends due batches when the event loop runs, and flush() waits for them", async () => {
    const target = sink();
    const buffer = new MetricBuffer(target, { intervalMs: 60_000, maxPoints: 10 });
    for (let step = 0; step < 25; step++) add(buffer, "loss", step);
    expect(target.written).toHaveLength(0);
    await buffer.flush();
    expect(target.written.map((m) => m.step)).toEqual([...Array(25).keys()]);
  });

  it("loses only the refused key's points and reports them on flush", async () => {
    const target = sink();
    const buffer = new MetricBuffer(target, { intervalMs: 60_000 });
    add(buffer, "bad", 0);
    for (let step = 0; step < 5; step++) add(buffer, "loss", step);
    const error = await expectMlflowError(buffer.flush(), "INVALID_PARAMETER_VALUE");
    expect(error.message).toBe("metric 'bad' is refused (1 point of 'bad' not written)");
    expect(target.written).toHaveLength(5);
    await buffer.flush();
  });
});
