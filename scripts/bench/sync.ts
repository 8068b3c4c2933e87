/**
 * Sync against a real `mlflow server` (SQLite backend, artifact proxy): pushing 200 runs x
 * (20 params, 10 metrics x 1,000 steps, 5 artifacts) with `sync`, against the same data pushed
 * by a Python script using `MlflowClient.log_batch` well, to the same server; then a no-op
 * re-sync of 1,000 pushed runs. MLRUNS_BENCH_SYNC_RUNS scales the first part.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileStore, type Metric, RestStore, sync } from "mlruns";
import { startMlflowServer } from "../../test/helpers/mlflow-server.ts";
import { MLFLOW_BENCH_VERSION, mlflowBench } from "./mlflow.ts";
import type { Row } from "./report.ts";

const RUNS = Number(process.env.MLRUNS_BENCH_SYNC_RUNS ?? 200);
const PARAMS = 20;
export const METRICS = 10;
export const STEPS = 1000;
const NOOP_RUNS = 1000;
const T0 = 1_767_225_600_000;

async function writeTree(root: string, artifacts: string, runs: number, steps: number) {
  const store = new FileStore(root);
  const experimentId = await store.createExperiment("bench");
  for (let r = 0; r < runs; r++) {
    const run = await store.createRun({ experimentId, runName: `run-${r}`, startTime: T0 + r });
    const params = Object.fromEntries(
      Array.from({ length: PARAMS }, (_, i) => [`p${i}`, `v${(r + i) % 13}`]),
    );
    const metrics: Metric[] = [];
    for (let k = 0; k < METRICS; k++) {
      for (let s = 0; s < steps; s++) {
        metrics.push({
          key: `m${k}`,
          value: ((r * 7 + k * 13 + s) % 1000) / 1000,
          timestamp: T0 + s,
          step: s,
        });
      }
    }
    await store.logBatch(run.info.runId, { params, metrics });
    if (steps > 1)
      for (const name of ["a", "b", "c", "d", "e"])
        await store.logArtifact(run.info.runId, join(artifacts, name));
    await store.updateRun(run.info.runId, { status: "FINISHED", endTime: T0 + steps });
  }
  await store.close();
}

/** A tree of `runs` runs in `dir`/push, with the five artifacts each run logs in `dir`/artifacts. */
export async function writeBenchTree(dir: string, runs: number) {
  const artifacts = join(dir, "artifacts");
  await mkdir(artifacts);
  for (const name of ["a", "b", "c", "d", "e"])
    await writeFile(join(artifacts, name), "x".repeat(20_000));
  const root = join(dir, "push");
  await writeTree(root, artifacts, runs, STEPS);
  return { root, artifacts };
}

/** Seconds `sync` takes to push the tree at `root` to the server; it must push every point. */
export async function timedSync(root: string, url: string, runs: number): Promise<number> {
  const source = new FileStore(root);
  const started = performance.now();
  const report = await sync({ source, target: new RestStore(url) });
  const elapsed = (performance.now() - started) / 1000;
  await source.close();
  if (report.issues.length > 0 || report.counts.points !== runs * METRICS * STEPS) {
    throw new Error(`the benchmark's sync was incomplete: ${JSON.stringify(report.counts)}`);
  }
  return elapsed;
}

/** The same runs pushed by MLflow's Python client (`mlflow_push.py`, log_batch done well). */
export function pythonPush<T>(url: string, experiment: string, runs: number, artifacts: string) {
  return mlflowBench<T>("mlflow_push.py", [
    url,
    experiment,
    String(runs),
    String(PARAMS),
    String(METRICS),
    String(STEPS),
    artifacts,
  ]);
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

export async function syncBench(): Promise<Row[]> {
  const dir = await mkdtemp(join(tmpdir(), "mlruns-bench-sync-"));
  const server = await startMlflowServer({ version: MLFLOW_BENCH_VERSION, readyTimeout: 180 });
  try {
    const { root, artifacts } = await writeBenchTree(dir, RUNS);
    const ours = (await timedSync(root, server.url, RUNS)) * 1000;
    const python = await pythonPush<{ seconds: number }>(
      server.url,
      "bench-python",
      RUNS,
      artifacts,
    );

    const noop = join(dir, "noop");
    await writeTree(noop, artifacts, NOOP_RUNS, 1);
    const noopSync = async () => {
      const source = new FileStore(noop);
      const report = await sync({
        source,
        target: new RestStore(server.url),
        experimentPrefix: "noop/",
      });
      await source.close();
      return report;
    };
    await noopSync();
    const started = performance.now();
    const again = await noopSync();
    const noopMs = performance.now() - started;
    if (again.counts.unchanged !== NOOP_RUNS)
      throw new Error(`no-op re-sync changed runs: ${JSON.stringify(again.counts)}`);

    const points = RUNS * METRICS * STEPS;
    return [
      {
        what: `push ${RUNS} runs (${points.toLocaleString("en")} points, ${RUNS * 5} artifacts)`,
        ours: seconds(ours),
        mlflow: seconds(python.seconds * 1000),
        ratio: `${((python.seconds * 1000) / ours).toFixed(2)}x (goal ≥ 1x)`,
      },
      {
        what: `no-op re-sync of ${NOOP_RUNS} pushed runs`,
        ours: seconds(noopMs),
        mlflow: "",
        ratio: "goal < 1 s",
      },
    ];
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
