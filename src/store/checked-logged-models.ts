/**
 * The one validating layer of MLflow 3's logged models, as checked-store.ts is for tracking (and
 * a base class for the same reason): each public method checks model ids, run ids, experiment
 * ids, names, tags, params, metrics, steps and artifact paths, then calls the driver method of
 * the same name with a leading `_` (FileLoggedModels, MemoryLoggedModels, RestLoggedModels).
 */
import type {
  ArtifactData,
  ArtifactStream,
  FileInfo,
  LoggedModelRecord,
  LoggedModelStatus,
  Metric,
} from "../entities.ts";
import { LOGGED_MODEL_STATUSES } from "../entities.ts";
import { invalid } from "../errors.ts";
import type {
  SearchLoggedModelsRequest,
  SearchLoggedModelsResult,
} from "../search/logged-models.ts";
import {
  validateArtifactPath,
  validateBatch,
  validateExperimentId,
  validateKey,
  validateRunId,
  validateTag,
} from "../validation.ts";
import {
  type CreateLoggedModelOptions,
  type LoggedModelStore,
  type RunModelLinks,
  validateLoggedModelName,
  validateModelId,
} from "./logged-models.ts";

type Output = { modelId: string; step: number };

function checkTags(tags: Record<string, string>): void {
  for (const [key, value] of Object.entries(tags)) validateTag("tag", key, value);
}

export abstract class CheckedLoggedModels implements LoggedModelStore {
  async createLoggedModel(options: CreateLoggedModelOptions): Promise<LoggedModelRecord> {
    validateExperimentId(options.experimentId);
    if (options.name) validateLoggedModelName(options.name);
    if (options.sourceRunId) validateRunId(options.sourceRunId);
    validateBatch({ params: options.params ?? {} });
    checkTags(options.tags ?? {});
    return this._createLoggedModel(options);
  }

  async getLoggedModel(
    modelId: string,
    options: { allowDeleted?: boolean } = {},
  ): Promise<LoggedModelRecord> {
    validateModelId(modelId);
    return this._getLoggedModel(modelId, options);
  }

  async finalizeLoggedModel(
    modelId: string,
    status: LoggedModelStatus,
  ): Promise<LoggedModelRecord> {
    validateModelId(modelId);
    if (!LOGGED_MODEL_STATUSES.includes(status)) {
      throw invalid(
        `Invalid logged model status '${String(status)}': use one of ${LOGGED_MODEL_STATUSES.join(", ")}`,
      );
    }
    return this._finalizeLoggedModel(modelId, status);
  }

  async setLoggedModelTags(modelId: string, tags: Record<string, string>): Promise<void> {
    validateModelId(modelId);
    checkTags(tags);
    return this._setLoggedModelTags(modelId, tags);
  }

  async deleteLoggedModelTag(modelId: string, key: string): Promise<void> {
    validateModelId(modelId);
    validateKey("tag", key);
    return this._deleteLoggedModelTag(modelId, key);
  }

  async logLoggedModelParams(modelId: string, params: Record<string, string>): Promise<void> {
    validateModelId(modelId);
    validateBatch({ params });
    return this._logLoggedModelParams(modelId, params);
  }

  async logLoggedModelMetrics(modelId: string, runId: string, metrics: Metric[]): Promise<void> {
    validateModelId(modelId);
    validateRunId(runId);
    validateBatch({ metrics });
    return this._logLoggedModelMetrics(modelId, runId, metrics);
  }

  async deleteLoggedModel(modelId: string): Promise<void> {
    validateModelId(modelId);
    return this._deleteLoggedModel(modelId);
  }

  async searchLoggedModels(request: SearchLoggedModelsRequest): Promise<SearchLoggedModelsResult> {
    for (const id of request.experimentIds) validateExperimentId(id);
    return this._searchLoggedModels(request);
  }

  async logRunOutputs(runId: string, outputs: Output[]): Promise<void> {
    validateRunId(runId);
    for (const { modelId, step } of outputs) {
      validateModelId(modelId);
      if (!Number.isSafeInteger(step)) throw invalid(`step must be an integer, got ${step}`);
    }
    return this._logRunOutputs(runId, outputs);
  }

  async logRunModelInputs(runId: string, modelIds: string[]): Promise<void> {
    validateRunId(runId);
    for (const modelId of modelIds) validateModelId(modelId);
    return this._logRunModelInputs(runId, modelIds);
  }

  async runModelLinks(runId: string): Promise<RunModelLinks> {
    validateRunId(runId);
    return this._runModelLinks(runId);
  }

  async listArtifacts(modelId: string, path?: string): Promise<FileInfo[]> {
    validateModelId(modelId);
    if (path) validateArtifactPath(path);
    return this._listArtifacts(modelId, path || undefined);
  }

  async putArtifact(modelId: string, path: string, data: ArtifactData): Promise<void> {
    validateModelId(modelId);
    validateArtifactPath(path);
    return this._putArtifact(modelId, path, data);
  }

  async openArtifact(modelId: string, path: string): Promise<ArtifactStream> {
    validateModelId(modelId);
    validateArtifactPath(path);
    return this._openArtifact(modelId, path);
  }

  /** "" removes every artifact of the model. */
  async deleteArtifact(modelId: string, path: string): Promise<void> {
    validateModelId(modelId);
    if (path !== "") validateArtifactPath(path);
    return this._deleteArtifact(modelId, path);
  }

  // ---- the driver: called only with checked input ------------------------------------------

  protected abstract _createLoggedModel(
    options: CreateLoggedModelOptions,
  ): Promise<LoggedModelRecord>;
  protected abstract _getLoggedModel(
    modelId: string,
    options: { allowDeleted?: boolean },
  ): Promise<LoggedModelRecord>;
  protected abstract _finalizeLoggedModel(
    modelId: string,
    status: LoggedModelStatus,
  ): Promise<LoggedModelRecord>;
  protected abstract _setLoggedModelTags(
    modelId: string,
    tags: Record<string, string>,
  ): Promise<void>;
  protected abstract _deleteLoggedModelTag(modelId: string, key: string): Promise<void>;
  protected abstract _logLoggedModelParams(
    modelId: string,
    params: Record<string, string>,
  ): Promise<void>;
  protected abstract _logLoggedModelMetrics(
    modelId: string,
    runId: string,
    metrics: Metric[],
  ): Promise<void>;
  protected abstract _deleteLoggedModel(modelId: string): Promise<void>;
  protected abstract _searchLoggedModels(
    request: SearchLoggedModelsRequest,
  ): Promise<SearchLoggedModelsResult>;
  protected abstract _logRunOutputs(runId: string, outputs: Output[]): Promise<void>;
  protected abstract _logRunModelInputs(runId: string, modelIds: string[]): Promise<void>;
  protected abstract _runModelLinks(runId: string): Promise<RunModelLinks>;
  /** `path` is a checked relative path, or absent for the root. */
  protected abstract _listArtifacts(modelId: string, path?: string): Promise<FileInfo[]>;
  protected abstract _putArtifact(modelId: string, path: string, data: ArtifactData): Promise<void>;
  protected abstract _openArtifact(modelId: string, path: string): Promise<ArtifactStream>;
  protected abstract _deleteArtifact(modelId: string, path: string): Promise<void>;
}
