/**
 * Sync against MLflow as teams run it: `mlflow server --workers 4` on PostgreSQL (Debian's
 * package, started here in a temp dir). 40 runs x (20 params, 10 metrics x 1,000 steps, 5
 * artifacts) pushed with `sync`, against the same data pushed by one Python `MlflowClient`
 * script (log_batch, 1,000 points a call), and against 8 such scripts at once, which is about
 * what the server can ingest at all here. MLRUNS_BENCH_SYNC_PG_RUNS scales it (a multiple of 8).
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileStore, RestStore, sync } from "mlruns";
import { ensureMlflowEnvs } from "../../test/helpers/mlflow-env.ts";
import { startMlflowServer } from "../../test/helpers/mlflow-server.ts";
import { startPostgres } from "../../test/helpers/postgres.ts";
import { MLFLOW_BENCH_VERSION, mlflowBench } from "./mlflow.ts";
import type { Row } from "./report.ts";
import { METRICS, PARAMS, STEPS, writeTree } from "./sync.ts";

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
      const artifacts = join(dir, "artifacts");
      await mkdir(artifacts);
      for (const name of ["a", "b", "c", "d", "e"])
        await writeFile(join(artifacts, name), "x".repeat(20_000));
      const root = join(dir, "push");
      await writeTree(root, artifacts, RUNS, STEPS);
      const points = RUNS * METRICS * STEPS;
      const push = (experiment: string, runs: number) =>
        mlflowBench<Pushed>("mlflow_push.py", [
          server.url,
          experiment,
          String(runs),
          String(PARAMS),
          String(METRICS),
          String(STEPS),
          artifacts,
        ]);

      const source = new FileStore(root);
      const started = performance.now();
      const report = await sync({ source, target: new RestStore(server.url) });
      const ours = (performance.now() - started) / 1000;
      await source.close();
      if (report.issues.length > 0 || report.counts.points !== points) {
        throw new Error(`the benchmark's sync was incomplete: ${JSON.stringify(report.counts)}`);
      }
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
