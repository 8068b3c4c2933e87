/**
 * MLflow 3's logged models: a model logged in an experiment (`m-<32 hex>`), with its own tags,
 * params, metrics and artifacts, made by a run (`source_run_id`) and linked to runs as their
 * output or input. FileStore keeps them as MLflow's file store does (`<experiment>/models/m-…`),
 * MemoryStore in memory; the tracking server serves them through this interface
 * (`store.loggedModels`, `loggedModelsOf`).
 */
import type {
  ArtifactData,
  ArtifactStream,
  FileInfo,
  LoggedModelRecord,
  LoggedModelStatus,
  Metric,
} from "../entities.ts";
import { invalid, MlflowError, notFound } from "../errors.ts";
import { isLaterPoint } from "../metric-latest.ts";
import type {
  SearchLoggedModelsRequest,
  SearchLoggedModelsResult,
} from "../search/logged-models.ts";

export interface CreateLoggedModelOptions {
  experimentId: string;
  /** A random name (`adjective-noun-N`) when absent, as MLflow gives. */
  name?: string;
  modelType?: string;
  sourceRunId?: string;
  params?: Record<string, string>;
  tags?: Record<string, string>;
}

/** A run's links to logged models: outputs (models it made, at a step) and inputs. */
export interface RunModelLinks {
  outputs: { modelId: string; step: number }[];
  inputs: string[];
}

export interface LoggedModelStore {
  createLoggedModel(options: CreateLoggedModelOptions): Promise<LoggedModelRecord>;
  /** RESOURCE_DOES_NOT_EXIST for a missing model, or a deleted one unless `allowDeleted`. */
  getLoggedModel(modelId: string, options?: { allowDeleted?: boolean }): Promise<LoggedModelRecord>;
  /** Sets the final status (READY or FAILED) once its artifacts are uploaded. */
  finalizeLoggedModel(modelId: string, status: LoggedModelStatus): Promise<LoggedModelRecord>;
  setLoggedModelTags(modelId: string, tags: Record<string, string>): Promise<void>;
  deleteLoggedModelTag(modelId: string, key: string): Promise<void>;
  /** Params are immutable, as a run's. */
  logLoggedModelParams(modelId: string, params: Record<string, string>): Promise<void>;
  /** Metric points about the model, logged by `runId` (MLflow's `log_metric(model_id=…)`). */
  logLoggedModelMetrics(modelId: string, runId: string, metrics: Metric[]): Promise<void>;
  deleteLoggedModel(modelId: string): Promise<void>;
  searchLoggedModels(request: SearchLoggedModelsRequest): Promise<SearchLoggedModelsResult>;

  /** Records models as outputs of a run (`log_outputs`), each at a step. */
  logRunOutputs(runId: string, outputs: { modelId: string; step: number }[]): Promise<void>;
  /** Records models as inputs of a run (`log_inputs(models=…)`). */
  logRunModelInputs(runId: string, modelIds: string[]): Promise<void>;
  runModelLinks(runId: string): Promise<RunModelLinks>;

  listArtifacts(modelId: string, path?: string): Promise<FileInfo[]>;
  putArtifact(modelId: string, path: string, data: ArtifactData): Promise<void>;
  openArtifact(modelId: string, path: string): Promise<ArtifactStream>;
  deleteArtifact(modelId: string, path: string): Promise<void>;
}

const MODEL_ID = /^m-[0-9a-f]{32}$/;

export function validateModelId(modelId: string): void {
  if (!MODEL_ID.test(modelId)) {
    throw invalid(`Invalid logged model id '${modelId}': expected m- and 32 hex digits`);
  }
}

/** MLflow's rule for logged model names: they become path segments and URIs. */
export function validateLoggedModelName(name: string): void {
  if (name.includes("/") || name.includes(":")) {
    throw invalid(`Invalid model name '${name}'. Names cannot contain '/' or ':'.`);
  }
}

export const loggedModelNotFound = (modelId: string) => notFound(`Model '${modelId}' not found`);

export const loggedModelTagNotFound = (modelId: string, key: string) =>
  notFound(`No tag with key '${key}' found for model with ID '${modelId}'.`);

/** MLflow's words (and code) for a model created in a deleted experiment. */
export const experimentNotActiveForModel = (experimentId: string) =>
  new MlflowError(
    "INVALID_STATE",
    `Could not create model under non-active experiment with ID ${experimentId}.`,
  );

/** The latest point of each metric per (key, dataset name, digest), as a model shows them. */
export function latestModelMetrics(
  points: LoggedModelRecord["metrics"],
): LoggedModelRecord["metrics"] {
  const latest = new Map<string, LoggedModelRecord["metrics"][number]>();
  for (const point of points) {
    const group = `${point.key}\0${point.datasetName ?? ""}\0${point.datasetDigest ?? ""}`;
    const best = latest.get(group);
    if (best === undefined || isLaterPoint(point, best)) latest.set(group, point);
  }
  return [...latest.values()];
}
