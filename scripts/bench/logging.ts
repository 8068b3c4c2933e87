/** Metric logging throughput: ours (per point through a run, and batched) against MLflow's. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileStore, getTracker, type Metric, type SyncRunWriter, type Tracker } from "mlruns";
import { freePort } from "../../test/helpers/mlflow-server.ts";
import { mlflowBench } from "./mlflow.ts";
import { type Row, rate } from "./report.ts";

/** A FileStore that keeps count of the time its synchronous writer spends writing. */
class TimedFileStore extends FileStore {
  writing = 0;

  override async openSyncWriter(runId: string): Promise<SyncRunWriter> {
    const writer = await super.openSyncWriter(runId);
    return {
      logMetrics: (metrics) => {
        const started = performance.now();
        writer.logMetrics(metrics);
        this.writing += performance.now() - started;
      },
      end: (status, endTime) => writer.end(status, endTime),
    };
  }
}

async function ours(root: string) {
  const timed = new TimedFileStore(root);
  const tracker = await getTracker({ store: timed });
  const points = 1_000_000;
  const run = await tracker.startRun("bench-per-point");
  const started = performance.now();
  for (let i = 0; i < points; i++)
    run.logMetric("loss", 1 / (i + 1), { step: i, timestamp: 1_700_000_000_000 + i });
  // In a loop that never awaits, the buffer is written from inside logMetric: not the call's cost.
  const calls = performance.now() - started - timed.writing;
  await run.end();
  const total = performance.now() - started;

  const store = new FileStore(root);
  const batchRun = await store.createRun({ experimentId: "0" });
  const batchPoints = 200_000;
  const batchStarted = performance.now();
  for (let offset = 0; offset < batchPoints; offset += 1000) {
    const metrics: Metric[] = [];
    for (let i = offset; i < offset + 1000; i++) {
      metrics.push({ key: "loss", value: 1 / (i + 1), timestamp: 1_700_000_000_000 + i, step: i });
    }
    await store.logBatch(batchRun.info.runId, { metrics });
  }
  const batched = performance.now() - batchStarted;
  return {
    nsPerCall: (calls * 1e6) / points,
    perPoint: (points / total) * 1000,
    batched: (batchPoints / batched) * 1000,
  };
}

/** Points/s of one logMetric call per point, writes included, through `tracker`. */
async function perPoint(tracker: Tracker): Promise<number> {
  const points = 300_000;
  const run = await tracker.startRun("bench-per-point");
  const started = performance.now();
  for (let i = 0; i < points; i++) {
    run.logMetric("loss", 1 / (i + 1), { step: i, timestamp: 1_700_000_000_000 + i });
    // A training loop gives the event loop a turn now and then.
    if (i % 10_000 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await run.end();
  return (points / (performance.now() - started)) * 1000;
}

/**
 * The same loop on a plain tree and in local-first mode with the server away (nothing listens
 * at its port), while the background push keeps trying: logging must cost the same. Rounds
 * alternate and the best of each counts, so that a busy moment of the machine hits neither side.
 */
async function localFirst(dir: string) {
  const plainTracker = await getTracker({ trackingUri: join(dir, "plain") });
  const tracker = await getTracker({
    trackingUri: `http://127.0.0.1:${await freePort()}`,
    localFirst: true,
    localFirstDir: join(dir, "local-first"),
  });
  let plain = 0;
  let away = 0;
  for (let round = 0; round < 3; round++) {
    plain = Math.max(plain, await perPoint(plainTracker));
    away = Math.max(away, await perPoint(tracker));
  }
  await tracker.close(0);
  return { plain, away };
}

export async function loggingBench(): Promise<Row[]> {
  const dir = await mkdtemp(join(tmpdir(), "mlruns-bench-"));
  try {
    const mine = await ours(join(dir, "ours"));
    const lf = await localFirst(dir);
    const perPoint = await mlflowBench<{ points: number; seconds: number }>("mlflow_bench.py", [
      "log-metric",
      join(dir, "mlflow-metric"),
      "3000",
    ]);
    const batch = await mlflowBench<{ points: number; seconds: number }>("mlflow_bench.py", [
      "log-batch",
      join(dir, "mlflow-batch"),
      "50000",
      "1000",
    ]);
    const theirsPerPoint = perPoint.points / perPoint.seconds;
    const theirsBatch = batch.points / batch.seconds;
    return [
      {
        what: "logMetric call inside a training loop (writes excluded)",
        ours: `${mine.nsPerCall.toFixed(0)} ns/call`,
        mlflow: "",
        ratio: "",
      },
      {
        what: "metric points/s, one call per point (run.logMetric vs log_metric)",
        ours: rate(mine.perPoint),
        mlflow: rate(theirsPerPoint),
        ratio: `${(mine.perPoint / theirsPerPoint).toFixed(0)}x (goal 50x)`,
      },
      {
        what: "the same in local-first mode, the server away (vs a plain tree, both yielding)",
        ours: `${rate(lf.away)} (plain ${rate(lf.plain)})`,
        mlflow: "",
        ratio: `${(lf.away / lf.plain).toFixed(2)}x a plain tree (goal ≈ 1x)`,
      },
      {
        what: "metric points/s, 1000 per batch (logBatch vs log_batch)",
        ours: rate(mine.batched),
        mlflow: rate(theirsBatch),
        ratio: `${(mine.batched / theirsBatch).toFixed(1)}x (goal 5x)`,
      },
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
