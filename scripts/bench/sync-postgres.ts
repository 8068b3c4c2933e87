/**
 * Sync against MLflow as teams run it: `mlflow server --workers 4` on PostgreSQL (Debian's
 * package, started here in a temp dir). 40 runs x (20 params, 10 metrics x 1,000 steps, 5
 * artifacts) pushed with `sync`, against the same data pushed by one Python `MlflowClient`
 * script (log_batch, 1,000 points a call), and against 8 such scripts at once, which is about
 * what the server can ingest at all here. MLRUNS_BENCH_SYNC_PG_RUNS scales it (a multiple of 8).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureMlflowEnvs } from "../../test/helpers/mlflow-env.ts";
import { startMlflowServer } from "../../test/helpers/mlflow-server.ts";
import { startPostgres } from "../../test/helpers/postgres.ts";
import { MLFLOW_BENCH_VERSION } from "./mlflow.ts";
import type { Row } from "./report.ts";
import { METRICS, pythonPush, STEPS, timedSync, writeBenchTree } from "./sync.ts";

const RUNS = Number(process.env.MLRUNS_BENCH_SYNC_PG_RUNS ?? 40);
const CLIENTS = 8;

interface Pushed {
  seconds: number;
  started: number;
  ended: number;
}

const seconds = (s: number) => `${s.toFixed(2)} s`;
const rate = (points: number, s: number) =>
  `${Math.round(points / s).toLocaleString("en")} points/s`;

export async function syncPostgresBench(): Promise<Row[]> {
  await ensureMlflowEnvs(["postgres"]);
  const dir = await mkdtemp(join(tmpdir(), "mlruns-bench-sync-pg-"));
  const postgres = await startPostgres();
  try {
    const server = await startMlflowServer({
      version: MLFLOW_BENCH_VERSION,
      backendStoreUri: postgres.uri,
      workers: 4,
      readyTimeout: 300,
    });
    try {
      const { root, artifacts } = await writeBenchTree(dir, RUNS);
      const points = RUNS * METRICS * STEPS;
      const push = (experiment: string, runs: number) =>
        pythonPush<Pushed>(server.url, experiment, runs, artifacts);
      const ours = await timedSync(root, server.url, RUNS);
      const one = await push("bench-python", RUNS);
      const many = await Promise.all(
        Array.from({ length: CLIENTS }, (_, i) => push(`bench-python-${i}`, RUNS / CLIENTS)),
      );
      const wall = Math.max(...many.map((p) => p.ended)) - Math.min(...many.map((p) => p.started));
      const what = `${RUNS} runs (${points.toLocaleString("en")} points, ${RUNS * 5} artifacts)`;
      return [
        {
          what: `push ${what}, 1 Python client`,
          ours: `${seconds(ours)} (${rate(points, ours)})`,
          mlflow: `${seconds(one.seconds)} (${rate(points, one.seconds)})`,
          ratio: `${(one.seconds / ours).toFixed(2)}x (goal ≥ 3x)`,
        },
        {
          what: `push ${what}, ${CLIENTS} Python clients at once`,
          ours: `${seconds(ours)} (${rate(points, ours)})`,
          mlflow: `${seconds(wall)} (${rate(points, wall)})`,
          ratio: `${((100 * wall) / ours).toFixed(0)}% of the server's intake (goal ≥ 90%)`,
        },
      ];
    } finally {
      await server.stop();
    }
  } finally {
    await postgres.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
