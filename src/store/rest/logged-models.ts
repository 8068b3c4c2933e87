/**
 * MLflow 3's logged models on a tracking server: the `logged-models` endpoints, metric points
 * through log-batch (each with its `model_id`, as MLflow's client sends them), run links through
 * `runs/outputs`, `runs/log-inputs` and the run's `inputs`/`outputs`, and artifacts at the
 * model's artifact URI (the server's proxy or a bucket). MLflow 2 servers have none of this: every
 * method there fails with one error that says so.
 */
import type { ArtifactRepository } from "../../artifacts/repository.ts";
import type {
  ArtifactData,
  ArtifactStream,
  FileInfo,
  LoggedModelRecord,
  LoggedModelStatus,
  Metric,
} from "../../entities.ts";
import { isMlflowError, MlflowError } from "../../errors.ts";
import type { HttpMethod } from "../../http-transport.ts";
import type {
  SearchLoggedModelsRequest,
  SearchLoggedModelsResult,
} from "../../search/logged-models.ts";
import {
  type LoggedModelJson,
  loggedModelFromJson,
  STATUS_NAMES,
} from "../../wire/logged-models.ts";
import { metricToJson, tagsToJson } from "../../wire/tracking.ts";
import { CheckedLoggedModels } from "../checked-logged-models.ts";
import {
  type CreateLoggedModelOptions,
  latestModelMetrics,
  type RunModelLinks,
} from "../logged-models.ts";
import { BATCH_LIMITS } from "./batch.ts";
import type { CallOptions, RestClient } from "./client.ts";
import { ENDPOINTS, LOGGED_MODELS } from "./endpoints.ts";

/** What the logged models need of their RestStore. */
export interface LoggedModelsHost {
  /** The repository behind an artifact URI (`owner` names it in errors). */
  repositoryAt(owner: string, artifactUri: string): Promise<ArtifactRepository>;
  serverVersion(): Promise<string>;
}

interface RunLinksJson {
  run?: {
    inputs?: { model_inputs?: { model_id?: string }[] };
    outputs?: { model_outputs?: { model_id?: string; step?: number | string }[] };
  };
}

export class RestLoggedModels extends CheckedLoggedModels {
  readonly #client: RestClient;
  readonly #host: LoggedModelsHost;
  /** Artifact URIs by model id: they never change once a model exists. */
  readonly #artifactUris = new Map<string, string>();

  constructor(client: RestClient, host: LoggedModelsHost) {
    super();
    this.#client = client;
    this.#host = host;
  }

  /** One call; a server without MLflow 3's endpoints (MLflow 2.x) gets an error that says so. */
  async #call<T>(method: HttpMethod, path: string, options: CallOptions = {}): Promise<T> {
    try {
      return await this.#client.json<T>(method, path, options);
    } catch (error) {
      if (!isMlflowError(error, "ENDPOINT_NOT_FOUND")) throw error;
      const version = await this.#host.serverVersion().catch(() => "unknown");
      if (/^[3-9]\.|^\d{2,}\./.test(version)) throw error;
      throw new MlflowError(
        "ENDPOINT_NOT_FOUND",
        `The MLflow server at ${this.#client.url} (version ${version}) has no logged models: ` +
          `${method} ${path} is one of MLflow 3's logged-models endpoints, which MLflow 2.x servers lack`,
        {
          cause: error,
          hint: "Upgrade the server to MLflow 3 to keep logged models there, or keep them in a local tree.",
        },
      );
    }
  }

  #model(modelId: string): string {
    return `${LOGGED_MODELS}/${modelId}`;
  }

  /** A model from the server: MLflow's SQL store answers every metric point; we keep the latest. */
  #remember(json: Partial<LoggedModelJson> | undefined): LoggedModelRecord {
    const model = loggedModelFromJson(json ?? {});
    model.metrics = latestModelMetrics(model.metrics);
    this.#artifactUris.set(model.modelId, model.artifactLocation);
    return model;
  }

  protected async _createLoggedModel(
    options: CreateLoggedModelOptions,
  ): Promise<LoggedModelRecord> {
    const json: Record<string, unknown> = {
      experiment_id: options.experimentId,
      params: tagsToJson(options.params),
      tags: tagsToJson(options.tags),
    };
    if (options.name) json.name = options.name;
    if (options.modelType) json.model_type = options.modelType;
    if (options.sourceRunId) json.source_run_id = options.sourceRunId;
    try {
      // Not retried once sent: a lost answer would leave a second model behind.
      const response = await this.#call<{ model?: LoggedModelJson }>("POST", LOGGED_MODELS, {
        json,
        retry: "unsent",
      });
      return this.#remember(response.model);
    } catch (error) {
      // The SQL store calls a deleted experiment a bad parameter; every other store, a bad state.
      const deleted =
        isMlflowError(error, "INVALID_PARAMETER_VALUE") && /'active' state/.test(error.message);
      if (!deleted) throw error;
      throw new MlflowError("INVALID_STATE", error.message, { cause: error });
    }
  }

  protected async _getLoggedModel(
    modelId: string,
    options: { allowDeleted?: boolean } = {},
  ): Promise<LoggedModelRecord> {
    const response = await this.#call<{ model?: LoggedModelJson }>("GET", this.#model(modelId), {
      query: options.allowDeleted ? { allow_deleted: "true" } : {},
    });
    return this.#remember(response.model);
  }

  protected async _finalizeLoggedModel(
    modelId: string,
    status: LoggedModelStatus,
  ): Promise<LoggedModelRecord> {
    const response = await this.#call<{ model?: LoggedModelJson }>("PATCH", this.#model(modelId), {
      json: { model_id: modelId, status: STATUS_NAMES[status] },
    });
    return this.#remember(response.model);
  }

  protected async _setLoggedModelTags(
    modelId: string,
    tags: Record<string, string>,
  ): Promise<void> {
    const path = `${this.#model(modelId)}/tags`;
    // MLflow's SQL store tags a deleted model; every other store refuses, as for a missing one.
    await this.getLoggedModel(modelId);
    await this.#call("PATCH", path, { json: { model_id: modelId, tags: tagsToJson(tags) } });
  }

  protected async _deleteLoggedModelTag(modelId: string, key: string): Promise<void> {
    const path = this.#model(modelId);
    const segments = key.split("/").map(encodeURIComponent).join("/");
    try {
      await this.#call("DELETE", `${path}/tags/${segments}`);
    } catch (error) {
      if (!key.includes("/") || !isMlflowError(error, "ENDPOINT_NOT_FOUND")) throw error;
      // MLflow's route takes the key as one path segment: a key with '/' never reaches it.
      throw new MlflowError(
        "ENDPOINT_NOT_FOUND",
        `The MLflow server at ${this.#client.url} cannot delete the logged model tag '${key}': ` +
          "its delete-tag route takes a key without '/'",
        { cause: error, hint: "Set the tag to an empty value instead, or use keys without '/'." },
      );
    }
  }

  protected async _logLoggedModelParams(
    modelId: string,
    params: Record<string, string>,
  ): Promise<void> {
    const path = `${this.#model(modelId)}/params`;
    await this.#call("POST", path, { json: { model_id: modelId, params: tagsToJson(params) } });
  }

  protected async _logLoggedModelMetrics(
    modelId: string,
    runId: string,
    metrics: Metric[],
  ): Promise<void> {
    const [method, path] = ENDPOINTS.logBatch;
    for (let at = 0; at < metrics.length; at += BATCH_LIMITS.metrics) {
      const part = metrics.slice(at, at + BATCH_LIMITS.metrics);
      await this.#call(method, path, {
        json: {
          run_id: runId,
          metrics: part.map((m) => ({ ...metricToJson(m), model_id: modelId })),
        },
      });
    }
  }

  protected async _deleteLoggedModel(modelId: string): Promise<void> {
    await this.#call("DELETE", this.#model(modelId), { json: { model_id: modelId } });
  }

  protected async _searchLoggedModels(
    request: SearchLoggedModelsRequest,
  ): Promise<SearchLoggedModelsResult> {
    type Page = { models?: LoggedModelJson[]; next_page_token?: string };
    const page = await this.#call<Page>("POST", `${LOGGED_MODELS}/search`, {
      json: {
        experiment_ids: request.experimentIds,
        filter: request.filter,
        datasets: request.datasets?.map((d) => ({
          dataset_name: d.datasetName,
          dataset_digest: d.datasetDigest,
        })),
        max_results: request.maxResults,
        order_by: request.orderBy?.map((o) => ({
          field_name: o.fieldName,
          ascending: o.ascending ?? true,
          dataset_name: o.datasetName,
          dataset_digest: o.datasetDigest,
        })),
        page_token: request.pageToken,
      },
    });
    const result: SearchLoggedModelsResult = {
      models: (page.models ?? []).map((m) => this.#remember(m)),
    };
    if (page.next_page_token) result.nextPageToken = page.next_page_token;
    return result;
  }

  protected async _logRunOutputs(
    runId: string,
    outputs: { modelId: string; step: number }[],
  ): Promise<void> {
    const [method, path] = ENDPOINTS.logOutputs;
    await this.#call(method, path, {
      json: { run_id: runId, models: outputs.map((o) => ({ model_id: o.modelId, step: o.step })) },
    });
  }

  protected async _logRunModelInputs(runId: string, modelIds: string[]): Promise<void> {
    const [method, path] = ENDPOINTS.logInputs;
    await this.#call(method, path, {
      json: { run_id: runId, models: modelIds.map((id) => ({ model_id: id })) },
    });
  }

  protected async _runModelLinks(runId: string): Promise<RunModelLinks> {
    const [method, path] = ENDPOINTS.getRun;
    const { run } = await this.#client.json<RunLinksJson>(method, path, {
      query: { run_id: runId },
    });
    return {
      outputs: (run?.outputs?.model_outputs ?? []).map((o) => ({
        modelId: o.model_id ?? "",
        step: Number(o.step ?? 0),
      })),
      inputs: (run?.inputs?.model_inputs ?? []).map((i) => i.model_id ?? ""),
    };
  }

  // ---- artifacts, at the model's artifact URI -----------------------------------------------

  async #repository(modelId: string): Promise<ArtifactRepository> {
    const uri =
      this.#artifactUris.get(modelId) ?? (await this.getLoggedModel(modelId)).artifactLocation;
    return this.#host.repositoryAt(`Logged model ${modelId}`, uri);
  }

  protected async _listArtifacts(modelId: string, path?: string): Promise<FileInfo[]> {
    return (await this.#repository(modelId)).list(path || undefined);
  }

  protected async _putArtifact(modelId: string, path: string, data: ArtifactData): Promise<void> {
    await (await this.#repository(modelId)).put(path, data);
  }

  protected async _openArtifact(modelId: string, path: string): Promise<ArtifactStream> {
    return (await this.#repository(modelId)).get(path);
  }

  protected async _deleteArtifact(modelId: string, path: string): Promise<void> {
    await (await this.#repository(modelId)).delete(path || undefined);
  }
}
