/** Runs the MLflow half of a benchmark in the test environment's Python (the tests' helpers). */
import { join } from "node:path";
import { MLFLOW_VERSIONS, REPO_ROOT, runPython, venvBin } from "../../test/helpers/mlflow-env.ts";

export { ensureMlflowEnvs as ensureMlflow } from "../../test/helpers/mlflow-env.ts";

export const MLFLOW_BENCH_VERSION = MLFLOW_VERSIONS.latest;

export function mlflowPython(): string {
  return venvBin(MLFLOW_BENCH_VERSION, "python");
}

/** Runs `scripts/bench/<script>` and parses the JSON it prints last. */
export async function mlflowBench<T>(script: string, args: string[]): Promise<T> {
  const stdout = await runPython(
    MLFLOW_BENCH_VERSION,
    join(REPO_ROOT, "scripts", "bench", script),
    args,
    { fresh: true },
  );
  const last = stdout.trim().split("\n").at(-1) ?? "{}";
  return JSON.parse(last) as T;
}
