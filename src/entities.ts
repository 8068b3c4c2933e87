/** The data model shared by every store, mirroring MLflow's entities with string ids. */

export const RUN_STATUSES = ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export type LifecycleStage = "active" | "deleted";

/** Which runs or experiments a listing includes. */
export type ViewType = "ACTIVE_ONLY" | "DELETED_ONLY" | "ALL";

export interface Experiment {
  experimentId: string;
  name: string;
  artifactLocation: string;
  lifecycleStage: LifecycleStage;
  creationTime: number | null;
  lastUpdateTime: number | null;
  tags: Record<string, string>;
}

export interface RunInfo {
  runId: string;
  experimentId: string;
  runName: string;
  userId: string;
  status: RunStatus;
  startTime: number;
  endTime: number | null;
  artifactUri: string;
  lifecycleStage: LifecycleStage;
}

/** One metric point. `datasetName`/`datasetDigest` are set when MLflow linked it to a dataset. */
export interface Metric {
  key: string;
  value: number;
  timestamp: number;
  step: number;
  datasetName?: string;
  datasetDigest?: string;
}

export interface RunData {
  params: Record<string, string>;
  /** The latest point of each metric: the maximum by (step, timestamp, value). */
  metrics: Record<string, Metric>;
  tags: Record<string, string>;
}

export interface Dataset {
  name: string;
  digest: string;
  sourceType: string;
  source: string;
  schema: string | null;
  profile: string | null;
}

export interface DatasetInput {
  dataset: Dataset;
  tags: Record<string, string>;
}

export interface Run {
  info: RunInfo;
  data: RunData;
  inputs: DatasetInput[];
}

export interface FileInfo {
  /** Relative to the run's artifact root, `/`-separated. */
  path: string;
  isDir: boolean;
  /** Bytes; absent for directories. */
  fileSize?: number;
}

/** What `logBatch` takes; every part is optional. */
export interface Batch {
  metrics?: Metric[];
  params?: Record<string, string>;
  tags?: Record<string, string>;
}

/** Tag keys MLflow itself reads and writes. */
export const SYSTEM_TAGS = {
  runName: "mlflow.runName",
  user: "mlflow.user",
  sourceName: "mlflow.source.name",
  sourceType: "mlflow.source.type",
  gitCommit: "mlflow.source.git.commit",
  parentRunId: "mlflow.parentRunId",
  note: "mlflow.note.content",
  datasetContext: "mlflow.data.context",
} as const;
