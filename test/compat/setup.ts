/** Vitest global set-up for the `compat` and `slow` projects: the pinned MLflow venvs exist. */
import { ensureMlflowEnvs } from "../helpers/mlflow-env.ts";

export default async function setup(): Promise<void> {
  await ensureMlflowEnvs();
}
