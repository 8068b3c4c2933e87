/** The data model shared by every store, mirroring MLflow's entities with string ids. */

export const RUN_STATUSES = ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export type LifecycleStage = "active" | "deleted";

/** Which runs or experiments a listing includes. */
export type ViewType = "ACTIVE_ONLY" | "DELETED_ONLY" | "ALL";

/** Whether something in this lifecycle stage is shown for this view type. */
export const inView = (stage: LifecycleStage, view: ViewType): boolean =>
  view === "ALL" || (view === "ACTIVE_ONLY") === (stage === "active");

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

/**
 * An artifact file's content: bytes, a stream of chunks (read once, in order), or a local file
 * (read in place, in parts: a large upload of it can resume after a crash).
 */
export type ArtifactData = Uint8Array | AsyncIterable<Uint8Array> | { file: string };

/** An artifact file being read: its size in bytes and its content, chunk by chunk. */
export interface ArtifactStream {
  size: number;
  stream: AsyncIterable<Uint8Array>;
  /** The local file holding these bytes, when the store keeps one (a copy may read it instead). */
  file?: string;
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

// ---- the model registry ----

/** MLflow's stages (deprecated by MLflow in favour of aliases, but still served). */
export const MODEL_STAGES = ["None", "Staging", "Production", "Archived"] as const;
export type ModelStage = (typeof MODEL_STAGES)[number];

export interface ModelVersion {
  name: string;
  /** A decimal integer, as MLflow's REST API sends it. */
  version: string;
  creationTimestamp: number | null;
  lastUpdatedTimestamp: number | null;
  currentStage: string;
  description: string | null;
  /** Where the model came from, as given: `runs:/<id>/model`, a `file://` URI, `models:/m-…`. */
  source: string;
  runId: string | null;
  runLink: string | null;
  status: string;
  statusMessage: string | null;
  userId: string | null;
  /** The MLflow 3 logged model it was promoted from, if any. */
  modelId: string | null;
  tags: Record<string, string>;
  /** Aliases pointing at this version, sorted. */
  aliases: string[];
}

export interface RegisteredModel {
  name: string;
  creationTimestamp: number | null;
  lastUpdatedTimestamp: number | null;
  description: string | null;
  tags: Record<string, string>;
  /** alias → version. */
  aliases: Record<string, string>;
  /** The newest version in each stage (deleted versions excluded), by version number. */
  latestVersions: ModelVersion[];
}

// ---- MLflow 3's logged models ----

export const LOGGED_MODEL_STATUSES = ["UNSPECIFIED", "PENDING", "READY", "FAILED"] as const;
export type LoggedModelStatus = (typeof LOGGED_MODEL_STATUSES)[number];

export interface LoggedModelRecord {
  modelId: string;
  experimentId: string;
  name: string;
  /** Where its files are: `<experiment artifact location>/models/<model id>/artifacts`. */
  artifactLocation: string;
  creationTimestamp: number;
  lastUpdatedTimestamp: number;
  modelType: string | null;
  sourceRunId: string | null;
  status: LoggedModelStatus;
  statusMessage: string | null;
  tags: Record<string, string>;
  params: Record<string, string>;
  /** The latest point of each metric, per (dataset name, digest), with the run that logged it. */
  metrics: (Metric & { runId: string })[];
}
