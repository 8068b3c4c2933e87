/** Where things live in an mlruns tree. Pure path arithmetic; nothing here touches the disk. */
import { join } from "node:path";
import { LOCK_FILE } from "../../tree-files.ts";

export const TRASH = ".trash";
export const REGISTRY = "models";
/** Folders inside an experiment that are never runs. */
export const RESERVED_EXPERIMENT_FOLDERS = new Set(["tags", "datasets", "traces", "models"]);
export const RUN_FOLDERS = ["metrics", "params", "artifacts", "tags"] as const;

export type Namespace = "metrics" | "params" | "tags";

export class Layout {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  experimentDir(experimentId: string, deleted = false): string {
    return deleted ? join(this.root, TRASH, experimentId) : join(this.root, experimentId);
  }

  runDir(experimentDir: string, runId: string): string {
    return join(experimentDir, runId);
  }

  /** A key with `/` becomes nested folders, as in MLflow. Keys are validated before use. */
  keyFile(runDir: string, namespace: Namespace, key: string): string {
    return join(runDir, namespace, ...key.split("/"));
  }

  datasetDir(experimentDir: string, datasetId: string): string {
    return join(experimentDir, "datasets", datasetId);
  }

  inputDir(runDir: string, inputId: string): string {
    return join(runDir, "inputs", inputId);
  }

  get trash(): string {
    return join(this.root, TRASH);
  }

  get lock(): string {
    return join(this.root, LOCK_FILE);
  }
}
