/**
 * Cold start of the command line: `mlruns runs list` against `mlflow runs list` on the same tree
 * (a copy of a generated 200-run tree), each started afresh several times; the median counts.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { FileStore } from "mlruns";
import { MLFLOW_ENV, REPO_ROOT, venvBin } from "../../test/helpers/mlflow-env.ts";
import { MLFLOW_BENCH_VERSION } from "./mlflow.ts";
import type { Row } from "./report.ts";

const run = promisify(execFile);
const REPEATS = 5;
const RUNS = 200;

async function medianMs(
  command: string,
  args: string[],
  env: Record<string, string>,
): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const started = performance.now();
    await run(command, args, { env: { ...process.env, ...env }, maxBuffer: 1 << 26 });
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[Math.floor(REPEATS / 2)] as number;
}

export async function cliBench(): Promise<Row[]> {
  const dir = await mkdtemp(join(tmpdir(), "mlruns-bench-cli-"));
  try {
    const root = join(dir, "mlruns");
    const store = new FileStore(root);
    const experimentId = await store.createExperiment("cli-bench");
    for (let r = 0; r < RUNS; r++) {
      const created = await store.createRun({ experimentId, runName: `run-${r}` });
      await store.logBatch(created.info.runId, {
        params: { lr: String(r / 1000), depth: String(r % 7) },
        metrics: [{ key: "acc", value: (r % 100) / 100, timestamp: 1000 + r, step: 0 }],
      });
    }
    await store.flush();
    // A tree as users meet it: written a while ago (stamps younger than 3 s are not trusted).
    await new Promise((resolve) => setTimeout(resolve, 3500));
    const cli = [
      join(REPO_ROOT, "dist", "cli", "mlruns.js"),
      "runs",
      "list",
      "-u",
      root,
      "-e",
      experimentId,
    ];
    await rm(join(root, ".mlruns-index.json"), { force: true });
    const first = performance.now();
    await run(process.execPath, cli, { maxBuffer: 1 << 26 });
    const firstMs = performance.now() - first;
    const ours = await medianMs(process.execPath, cli, {});
    const theirs = await medianMs(
      venvBin(MLFLOW_BENCH_VERSION, "mlflow"),
      ["runs", "list", "--experiment-id", experimentId],
      { ...MLFLOW_ENV, MLFLOW_TRACKING_URI: root },
    );
    return [
      {
        what: "first `runs list`, no search index yet (builds it)",
        ours: `${firstMs.toFixed(0)} ms`,
        mlflow: "",
        ratio: "",
      },
      {
        what: `\`runs list\` of ${RUNS} runs, cold start (median of ${REPEATS})`,
        ours: `${ours.toFixed(0)} ms`,
        mlflow: `${theirs.toFixed(0)} ms`,
        ratio: `${(theirs / ours).toFixed(1)}x (goal 20x)`,
      },
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
