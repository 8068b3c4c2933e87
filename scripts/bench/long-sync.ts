/**
 * One long run synced with a server: a finished run of 10 metrics pushed by `sync`, then pulled
 * by `sync` into a new tree, each in a child process of its own (long-run.ts) so that the RSS
 * growth measured is the copy's alone. Against a real `mlflow server` (SQLite, one run's batches
 * at a time: about 1,000 to 7,000 points/s here) with MLRUNS_BENCH_SYNC_MLFLOW_STEPS steps
 * (default 100,000), and against `mlruns server`, which ingests fast enough for the goal's
 * 10 M points, with MLRUNS_BENCH_SYNC_STEPS (default 1,000,000).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileStore, startServer } from "mlruns";
import { startMlflowServer } from "../../test/helpers/mlflow-server.ts";
import { child, mb, writeLongMetric } from "./histories.ts";
import { MLFLOW_BENCH_VERSION } from "./mlflow.ts";
import type { Row } from "./report.ts";

const METRICS = 10;
const T0 = 1_767_225_600_000;

/** A tree of one finished run whose METRICS metric files hold `steps` points each. */
async function writeLongRun(root: string, steps: number): Promise<void> {
  const store = new FileStore(root);
  const experimentId = await store.createExperiment("long-sync");
  const { runId } = (await store.createRun({ experimentId, runName: "long", startTime: T0 })).info;
  const keys = Array.from({ length: METRICS }, (_, k) => `m${k}`);
  await store.logBatch(runId, {
    metrics: keys.map((key) => ({ key, value: 0, timestamp: T0, step: 0 })),
  });
  for (const key of keys) writeLongMetric(join(root, experimentId, runId, "metrics", key), steps);
  await store.updateRun(runId, { status: "FINISHED", endTime: T0 + steps });
  await store.close();
}

interface Server {
  name: string;
  steps: number;
  start(dir: string): Promise<{ url: string; stop(): Promise<void> }>;
}

const SERVERS: Server[] = [
  {
    name: "mlflow server",
    steps: Number(process.env.MLRUNS_BENCH_SYNC_MLFLOW_STEPS ?? 100_000),
    async start() {
      const server = await startMlflowServer({ version: MLFLOW_BENCH_VERSION, readyTimeout: 180 });
      return { url: server.url, stop: () => server.stop() };
    },
  },
  {
    name: "mlruns server",
    steps: Number(process.env.MLRUNS_BENCH_SYNC_STEPS ?? 1_000_000),
    async start(dir) {
      const server = await startServer({ root: join(dir, "served"), port: 0, log: () => {} });
      return { url: server.url, stop: () => server.close() };
    },
  },
];

type Copy = { ms: number; cpuMs: number; rssGrowth: number; points: number };

/** Pushes a long run to a fresh server, then pulls it into a new tree. */
async function pushAndPull(server: Server): Promise<Row[]> {
  const dir = await mkdtemp(join(tmpdir(), "mlruns-bench-long-sync-"));
  const running = await server.start(dir);
  try {
    const source = join(dir, "source");
    await writeLongRun(source, server.steps);
    const pushed = await child<Copy>(["push", source, running.url]);
    const pulled = await child<Copy>(["pull", join(dir, "pulled"), running.url]);
    const points = METRICS * server.steps;
    for (const [what, copy] of [
      ["push", pushed],
      ["pull", pulled],
    ] as const) {
      if (copy.points !== points) throw new Error(`the ${what} copied ${copy.points} points`);
    }
    const time = (copy: Copy) =>
      `${(copy.ms / 1000).toFixed(0)} s (${Math.round(points / (copy.ms / 1000))}/s, ` +
      `CPU ${(copy.cpuMs / 1000).toFixed(0)} s)`;
    const run = `${points.toLocaleString("en")} points (10 metrics)`;
    return [
      {
        what: `sync of one run of ${run} to ${server.name}: RSS growth, time (CPU of the sync)`,
        ours: mb(pushed.rssGrowth),
        mlflow: time(pushed),
        ratio: "goal <= 64 MB",
      },
      {
        what: `pull of that run from ${server.name} into a new tree: RSS growth, time (CPU)`,
        ours: mb(pulled.rssGrowth),
        mlflow: time(pulled),
        ratio: "goal <= 64 MB",
      },
    ];
  } finally {
    await running.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

export async function longSyncBench(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const server of SERVERS) rows.push(...(await pushAndPull(server)));
  return rows;
}
