/** Vitest global set-up for the `cloud` project: the emulators and MLflow with its cloud clients exist. */
import { ensureMlflowEnvs } from "../helpers/mlflow-env.ts";

export default async function setup(): Promise<void> {
  await ensureMlflowEnvs(["emulators", "cloud", "azurite"]);
}
