/** MLflow 3's logged models in memory, with the same rules as the file store's. */
import { randomBytes } from "node:crypto";
import type {
  ArtifactData,
  ArtifactStream,
  Experiment,
  FileInfo,
  LoggedModelRecord,
  LoggedModelStatus,
  Metric,
  Run,
} from "../../entities.ts";
import { generateRunName } from "../../run-name.ts";
import {
  type SearchLoggedModelsRequest,
  type SearchLoggedModelsResult,
  searchLoggedModels,
} from "../../search/logged-models.ts";
import { CheckedLoggedModels } from "../checked-logged-models.ts";
import { runNotActive } from "../checks.ts";
import {
  type CreateLoggedModelOptions,
  experimentNotActiveForModel,
  latestModelMetrics,
  loggedModelNotFound,
  loggedModelTagNotFound,
  type RunModelLinks,
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

export class MemoryLoggedModels extends CheckedLoggedModels {
  readonly #host: LoggedModelHost;
  readonly #models = new Map<string, ModelState>();
  readonly #links = new Map<string, RunModelLinks>();

  constructor(host: LoggedModelHost) {
    super();
    this.#host = host;
  }

  #state(modelId: string, allowDeleted = false): ModelState {
    const state = this.#models.get(modelId);
    if (state === undefined || (state.deleted && !allowDeleted)) {
      throw loggedModelNotFound(modelId);
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
      throw runNotActive(runId);
    }
  }

  protected async _createLoggedModel(
    options: CreateLoggedModelOptions,
  ): Promise<LoggedModelRecord> {
    const name = options.name || generateRunName();
    const experiment = await this.#host.getExperiment(options.experimentId);
    if (experiment.lifecycleStage !== "active") {
      throw experimentNotActiveForModel(options.experimentId);
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

  protected async _getLoggedModel(
    modelId: string,
    options: { allowDeleted?: boolean } = {},
  ): Promise<LoggedModelRecord> {
    return this.#view(this.#state(modelId, options.allowDeleted));
  }

  protected async _finalizeLoggedModel(
    modelId: string,
    status: LoggedModelStatus,
  ): Promise<LoggedModelRecord> {
    const state = this.#state(modelId);
    state.record.status = status;
    state.record.lastUpdatedTimestamp = Date.now();
    return this.#view(state);
  }

  protected async _setLoggedModelTags(
    modelId: string,
    tags: Record<string, string>,
  ): Promise<void> {
    Object.assign(this.#state(modelId).record.tags, tags);
  }

  protected async _deleteLoggedModelTag(modelId: string, key: string): Promise<void> {
    const { tags } = this.#state(modelId).record;
    if (!Object.hasOwn(tags, key)) {
      throw loggedModelTagNotFound(modelId, key);
    }
    delete tags[key];
  }

  protected async _logLoggedModelParams(
    modelId: string,
    params: Record<string, string>,
  ): Promise<void> {
    Object.assign(this.#state(modelId).record.params, params);
  }

  protected async _logLoggedModelMetrics(
    modelId: string,
    runId: string,
    metrics: Metric[],
  ): Promise<void> {
    const state = this.#state(modelId);
    for (const metric of metrics) state.points.push({ ...metric, runId });
  }

  protected async _deleteLoggedModel(modelId: string): Promise<void> {
    const state = this.#state(modelId);
    state.deleted = true;
    state.record.lastUpdatedTimestamp = Date.now();
  }

  protected async _searchLoggedModels(
    request: SearchLoggedModelsRequest,
  ): Promise<SearchLoggedModelsResult> {
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

  protected async _logRunOutputs(
    runId: string,
    outputs: { modelId: string; step: number }[],
  ): Promise<void> {
    await this.#activeRun(runId);
    const links = this.#linksOf(runId);
    for (const output of outputs) {
      // The first record of a model stays, as the file store keeps its first folder.
      if (!links.outputs.some((o) => o.modelId === output.modelId))
        links.outputs.push({ ...output });
    }
    links.outputs.sort((a, b) => (a.modelId < b.modelId ? -1 : 1));
  }

  protected async _logRunModelInputs(runId: string, modelIds: string[]): Promise<void> {
    await this.#activeRun(runId);
    const links = this.#linksOf(runId);
    links.inputs = [...new Set([...links.inputs, ...modelIds])].sort();
  }

  protected async _runModelLinks(runId: string): Promise<RunModelLinks> {
    await this.#host.getRun(runId);
    return structuredClone(this.#links.get(runId) ?? { outputs: [], inputs: [] });
  }

  protected async _listArtifacts(modelId: string, path?: string): Promise<FileInfo[]> {
    return this.#state(modelId, true).artifacts.list(path);
  }

  protected async _putArtifact(modelId: string, path: string, data: ArtifactData): Promise<void> {
    await this.#state(modelId, true).artifacts.put(path, data);
  }

  protected async _openArtifact(modelId: string, path: string): Promise<ArtifactStream> {
    return this.#state(modelId, true).artifacts.open(path);
  }

  protected async _deleteArtifact(modelId: string, path: string): Promise<void> {
    this.#state(modelId, true).artifacts.delete(path);
  }
}
