/** Sync against the newest MLflow 2 server (sync-suite.ts). */
import { MLFLOW_VERSIONS } from "../helpers/mlflow-env.ts";
import { syncToServer } from "./sync-suite.ts";

syncToServer(MLFLOW_VERSIONS.v2);
