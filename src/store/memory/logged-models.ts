/** MLflow 3's logged models in memory, with the same rules as the file store's. */
import { randomBytes } from "node:crypto";
import {
  type ArtifactData,
  type ArtifactStream,
  type Experiment,
  type FileInfo,
  LOGGED_MODEL_STATUSES,
  type LoggedModelRecord,
  type LoggedModelStatus,
  type Metric,
  type Run,
} from "../../entities.ts";
import { invalid, MlflowError, notFound } from "../../errors.ts";
import { generateRunName } from "../../run-name.ts";
import {
  searchLoggedModels,
  type SearchLoggedModelsRequest,
  type SearchLoggedModelsResult,
} from "../../search/logged-models.ts";
import { validateBatch, validateKey, validateTag } from "../../validation.ts";
import {
  type CreateLoggedModelOptions,
  type LoggedModelStore,
  type RunModelLinks,
  latestModelMetrics,
  validateLoggedModelName,
  validateModelId,
} from "../logged-models.ts";
import { MemoryArtifacts } from "./artifacts.ts";

/** What the logged models need of their MemoryStore. */
export interface LoggedModelHost {
  getExperiment(experimentId: string): Promise<Experiment>;
  getRun(runId: string): Promise<Run>;
}

interface ModelState {
  record: Omit<LoggedModelRecord, "metrics">;
  deleted: boolean;
  points: LoggedModelRecord["metrics"];
  artifacts: MemoryArtifacts;
}

export class MemoryLoggedModels implements LoggedModelStore {
  readonly #host: LoggedModelHost;
  readonly #models = new Map<string, ModelState>();
  readonly #links = new Map<string, RunModelLinks>();

  constructor(host: LoggedModelHost) {
    this.#host = host;
  }

  #state(modelId: string, allowDeleted = false): ModelState {
    validateModelId(modelId);
    const state = this.#models.get(modelId);
    if (state === undefined || (state.deleted && !allowDeleted)) {
      throw notFound(`Model '${modelId}' not found`);
    }
    return state;
  }

  /** The latest point per (key, dataset), as the file store reads them. */
  #view(state: ModelState): LoggedModelRecord {
    return structuredClone({ ...state.record, metrics: latestModelMetrics(state.points) });
  }

  async #activeRun(runId: string): Promise<void> {
    const run = await this.#host.getRun(runId);
    if (run.info.lifecycleStage !== "active") {
      throw invalid(`The run ${runId} must be in the 'active' state. Current state is deleted.`);
    }
  }

  async createLoggedModel(options: CreateLoggedModelOptions): Promise<LoggedModelRecord> {
    const name = options.name || generateRunName();
    validateLoggedModelName(name);
    validateBatch({ params: options.params ?? {} });
    for (const [key, value] of Object.entries(options.tags ?? {})) validateTag("tag", key, value);
    const experiment = await this.#host.getExperiment(options.experimentId);
    if (experiment.lifecycleStage !== "active") {
      throw new MlflowError(
        "INVALID_STATE",
        `Could not create model under non-active experiment with ID ${options.experimentId}.`,
      );
    }
    const modelId = `m-${randomBytes(16).toString("hex")}`;
    const now = Date.now();
    const state: ModelState = {
      record: {
        modelId,
        experimentId: options.experimentId,
        name,
        artifactLocation: `${experiment.artifactLocation.replace(/\/+$/, "")}/models/${modelId}/artifacts`,
        creationTimestamp: now,
        lastUpdatedTimestamp: now,
        modelType: options.modelType || null,
        sourceRunId: options.sourceRunId || null,
        status: "PENDING",
        statusMessage: null,
        tags: { ...options.tags },
        params: { ...options.params },
      },
      deleted: false,
      points: [],
      artifacts: new MemoryArtifacts(`model ${modelId}`),
    };
    this.#models.set(modelId, state);
    return this.#view(state);
  }

  async getLoggedModel(
    modelId: string,
    options: { allowDeleted?: boolean } = {},
  ): Promise<LoggedModelRecord> {
    return this.#view(this.#state(modelId, options.allowDeleted));
  }

  async finalizeLoggedModel(
    modelId: string,
    status: LoggedModelStatus,
  ): Promise<LoggedModelRecord> {
    if (!LOGGED_MODEL_STATUSES.includes(status)) {
      throw invalid(`Invalid logged model status '${String(status)}'`);
    }
    const state = this.#state(modelId);
    state.record.status = status;
    state.record.lastUpdatedTimestamp = Date.now();
    return this.#view(state);
  }

  async setLoggedModelTags(modelId: string, tags: Record<string, string>): Promise<void> {
    for (const [key, value] of Object.entries(tags)) validateTag("tag", key, value);
    Object.assign(this.#state(modelId).record.tags, tags);
  }

  async deleteLoggedModelTag(modelId: string, key: string): Promise<void> {
    validateKey("tag", key);
    const { tags } = this.#state(modelId).record;
    if (!Object.hasOwn(tags, key)) {
      throw notFound(`No tag with key '${key}' found for model with ID '${modelId}'.`);
    }
    delete tags[key];
  }

  async logLoggedModelParams(modelId: string, params: Record<string, string>): Promise<void> {
    validateBatch({ params });
    Object.assign(this.#state(modelId).record.params, params);
  }

  async logLoggedModelMetrics(modelId: string, runId: string, metrics: Metric[]): Promise<void> {
    validateBatch({ metrics });
    const state = this.#state(modelId);
    for (const metric of metrics) state.points.push({ ...metric, runId });
  }

  async deleteLoggedModel(modelId: string): Promise<void> {
    const state = this.#state(modelId);
    state.deleted = true;
    state.record.lastUpdatedTimestamp = Date.now();
  }

  async searchLoggedModels(request: SearchLoggedModelsRequest): Promise<SearchLoggedModelsResult> {
    const wanted = new Set(request.experimentIds);
    const models = [...this.#models.values()]
      .filter((s) => !s.deleted && wanted.has(s.record.experimentId))
      .map((s) => this.#view(s));
    return searchLoggedModels(models, request);
  }

  #linksOf(runId: string): RunModelLinks {
    const links = this.#links.get(runId) ?? { outputs: [], inputs: [] };
    this.#links.set(runId, links);
    return links;
  }

  async logRunOutputs(runId: string, outputs: { modelId: string; step: number }[]): Promise<void> {
    await this.#activeRun(runId);
    for (const { modelId, step } of outputs) {
      validateModelId(modelId);
      if (!Number.isSafeInteger(step)) throw invalid(`step must be an integer, got ${step}`);
    }
    const links = this.#linksOf(runId);
    for (const output of outputs) {
      // The first record of a model stays, as the file store keeps its first folder.
      if (!links.outputs.some((o) => o.modelId === output.modelId))
        links.outputs.push({ ...output });
    }
    links.outputs.sort((a, b) => (a.modelId < b.modelId ? -1 : 1));
  }

  async logRunModelInputs(runId: string, modelIds: string[]): Promise<void> {
    await this.#activeRun(runId);
    for (const modelId of modelIds) validateModelId(modelId);
    const links = this.#linksOf(runId);
    links.inputs = [...new Set([...links.inputs, ...modelIds])].sort();
  }

  async runModelLinks(runId: string): Promise<RunModelLinks> {
    await this.#host.getRun(runId);
    return structuredClone(this.#links.get(runId) ?? { outputs: [], inputs: [] });
  }

  async listArtifacts(modelId: string, path?: string): Promise<FileInfo[]> {
    return this.#state(modelId, true).artifacts.list(path);
  }

  async putArtifact(modelId: string, path: string, data: ArtifactData): Promise<void> {
    await this.#state(modelId, true).artifacts.put(path, data);
  }

  async openArtifact(modelId: string, path: string): Promise<ArtifactStream> {
    return this.#state(modelId, true).artifacts.open(path);
  }

  async deleteArtifact(modelId: string, path: string): Promise<void> {
    this.#state(modelId, true).artifacts.delete(path);
  }
}
