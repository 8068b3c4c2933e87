/** Runs the MLflow half of a benchmark in the test environment's Python. */
import { execFile } from "node:child_process";
import { homedir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
export const MLFLOW_BENCH_VERSION = "3.17.2";
const here = join(import.meta.dirname, "..", "..", "..", "scripts", "bench");

/** Creates the MLflow environments when missing (the same script the tests use). */
export async function ensureMlflow(): Promise<void> {
  await run("bash", [join(here, "..", "mlflow-env.sh")], { maxBuffer: 1 << 26 });
}

export function mlflowPython(): string {
  const cache = process.env.MLRUNS_TEST_CACHE ?? join(homedir(), ".cache", "mlruns");
  return join(cache, "venvs", `mlflow-${MLFLOW_BENCH_VERSION}`, "bin", "python");
}

/** Runs `scripts/bench/<script>` and parses the JSON it prints last. */
export async function mlflowBench<T>(script: string, args: string[]): Promise<T> {
  const { stdout } = await run(mlflowPython(), [join(here, script), ...args], {
    env: { ...process.env, MLFLOW_ALLOW_FILE_STORE: "true", PYTHONWARNINGS: "ignore" },
    maxBuffer: 1 << 26,
  });
  const last = stdout.trim().split("\n").at(-1) ?? "{}";
  return JSON.parse(last) as T;
}
