/**
 * RestStore: the TrackingStore on a real MLflow tracking server, over REST API 2.0. A thin
 * translator under the checking layer (checked-store.ts, so bad input fails the same way as on
 * every store and nothing half-valid is sent): it calls one endpoint per method through
 * `client.ts`, and maps the JSON back to our entities.
 */

import { isRemoteUri, openRepository } from "../../artifacts/open.ts";
import { type ArtifactRepository, putFiles, readAll } from "../../artifacts/repository.ts";
import type { HttpConfig } from "../../config.ts";
import type {
  ArtifactData,
  ArtifactStream,
  Batch,
  DatasetInput,
  Experiment,
  FileInfo,
  Metric,
  Run,
  RunInfo,
  ViewType,
} from "../../entities.ts";
import { isMlflowError, MlflowError } from "../../errors.ts";
import { collectLocalArtifacts } from "../../local-artifacts.ts";
import type { SampledMetric, SampleOptions } from "../../metric-sampling.ts";
import type { SearchExperimentsResult, SearchRunsResult } from "../../search/index.ts";
import {
  datasetInputToJson,
  type ExperimentJson,
  experimentFromJson,
  type MetricJson,
  metricFromJson,
  type RunInfoJson,
  type RunJson,
  runFromJson,
  runInfoFromJson,
  tagsToJson,
} from "../../wire/tracking.ts";
import { CheckedStore, type NewExperiment, type NewRun, type RunUpdate } from "../checked-store.ts";
import { experimentExists } from "../checks.ts";
import type {
  HistoryPageRequest,
  MetricHistoryPage,
  SearchExperimentsRequest,
  SearchRunsRequest,
} from "../store.ts";
import { checkProxyName, ProxyRepository, proxyRoot, unreachableArtifacts } from "./artifacts.ts";
import { requestBody } from "./batch.ts";
import { type CallOptions, DEFAULT_HTTP, RestClient } from "./client.ts";
import { allPages, ENDPOINTS, type Endpoint, PAGE_SIZE } from "./endpoints.ts";
import { sendBatch } from "./log-batch.ts";
import { RestLoggedModels } from "./logged-models.ts";
import { RestRegistry } from "./registry.ts";

export class RestStore extends CheckedStore {
  readonly uri: string;
  readonly #client: RestClient;
  /** Artifact roots by run id: they never change once a run exists. */
  readonly #artifactRoots = new Map<string, string>();
  readonly registry: RestRegistry;
  readonly loggedModels: RestLoggedModels;
  #serverInfo: Promise<boolean> | undefined;

  constructor(baseUrl: string, http: HttpConfig = DEFAULT_HTTP) {
    super();
    this.#client = new RestClient(baseUrl, http);
    this.uri = this.#client.url;
    this.registry = new RestRegistry(this.#client);
    this.loggedModels = new RestLoggedModels(this.#client, {
      repositoryAt: (owner, uri) => this.#repositoryAt(owner, uri),
      serverVersion: () => this.serverVersion(),
    });
  }

  #call<T>(endpoint: Endpoint, options: CallOptions = {}): Promise<T> {
    const [method, path] = ENDPOINTS[endpoint];
    return this.#client.json<T>(method, path, options);
  }

  // ---- experiments ------------------------------------------------------------------------

  protected async _createExperiment(name: string, options: NewExperiment): Promise<string> {
    const json: Record<string, unknown> = { name, tags: tagsToJson(options.tags) };
    if (options.artifactLocation) json.artifact_location = options.artifactLocation;
    try {
      // Not retried once sent: a lost answer would make the retry fail as a duplicate name.
      const response = await this.#call<{ experiment_id?: string }>("createExperiment", {
        json,
        retry: "unsent",
      });
      return String(response.experiment_id);
    } catch (error) {
      // Worded as every store words it (the server's wording depends on its backend).
      if (!isMlflowError(error, "RESOURCE_ALREADY_EXISTS")) throw error;
      const holder = await this.getExperimentByName(name).catch(() => null);
      if (holder === null) throw error;
      throw experimentExists(name, holder, error);
    }
  }

  protected async _getExperiment(experimentId: string): Promise<Experiment> {
    const response = await this.#call<{ experiment?: ExperimentJson }>("getExperiment", {
      query: { experiment_id: experimentId },
    });
    return experimentFromJson(response.experiment ?? {});
  }

  async getExperimentByName(name: string): Promise<Experiment | null> {
    try {
      const response = await this.#call<{ experiment?: ExperimentJson }>("getExperimentByName", {
        query: { experiment_name: name },
      });
      return experimentFromJson(response.experiment ?? {});
    } catch (error) {
      if (isMlflowError(error, "RESOURCE_DOES_NOT_EXIST")) return null;
      throw error;
    }
  }

  async listExperiments(viewType: ViewType = "ACTIVE_ONLY"): Promise<Experiment[]> {
    return allPages(async (pageToken) => {
      const page = await this.searchExperiments({
        viewType,
        maxResults: PAGE_SIZE.experiments,
        ...(pageToken === undefined ? {} : { pageToken }),
      });
      return { items: page.experiments, next: page.nextPageToken };
    });
  }

  /** The server's own `search_experiments`. */
  override async searchExperiments(
    request: SearchExperimentsRequest = {},
  ): Promise<SearchExperimentsResult> {
    type Page = { experiments?: ExperimentJson[]; next_page_token?: string };
    const page = await this.#call<Page>("searchExperiments", {
      json: {
        view_type: request.viewType ?? "ACTIVE_ONLY",
        max_results: request.maxResults ?? 1000,
        filter: request.filter ?? "",
        order_by: request.orderBy ?? [],
        page_token: request.pageToken,
      },
    });
    const result: SearchExperimentsResult = {
      experiments: (page.experiments ?? []).map(experimentFromJson),
    };
    if (page.next_page_token) result.nextPageToken = page.next_page_token;
    return result;
  }

  protected async _renameExperiment(experimentId: string, newName: string): Promise<void> {
    try {
      await this.#call("updateExperiment", {
        json: { experiment_id: experimentId, new_name: newName },
      });
    } catch (error) {
      // The SQL store reports a taken name as a bare unique-constraint failure (BAD_REQUEST);
      // other servers word RESOURCE_ALREADY_EXISTS their own way.
      const taken =
        isMlflowError(error, "BAD_REQUEST") || isMlflowError(error, "RESOURCE_ALREADY_EXISTS");
      if (!taken) throw error;
      const holder = await this.getExperimentByName(newName).catch(() => null);
      if (holder === null || holder.experimentId === experimentId) throw error;
      throw experimentExists(newName, holder, error);
    }
  }

  protected async _setExperimentTag(
    experimentId: string,
    key: string,
    value: string,
  ): Promise<void> {
    await this.#call("setExperimentTag", { json: { experiment_id: experimentId, key, value } });
  }

  protected async _deleteExperimentTag(experimentId: string, key: string): Promise<void> {
    try {
      await this.#call("deleteExperimentTag", { json: { experiment_id: experimentId, key } });
    } catch (error) {
      if (!isMlflowError(error, "ENDPOINT_NOT_FOUND")) throw error;
      const version = await this.serverVersion().catch(() => "unknown");
      throw new MlflowError(
        "ENDPOINT_NOT_FOUND",
        `The MLflow server at ${this.uri} (version ${version}) cannot delete experiment tags: ` +
          "it has no experiments/delete-experiment-tag endpoint (MLflow 2.x servers lack it; MLflow 3 has it)",
        {
          cause: error,
          hint: "Upgrade the server to MLflow 3, or set the tag to an empty value instead.",
        },
      );
    }
  }

  protected async _deleteExperiment(experimentId: string): Promise<void> {
    await this.#call("deleteExperiment", { json: { experiment_id: experimentId } });
  }

  protected async _restoreExperiment(experimentId: string): Promise<void> {
    await this.#call("restoreExperiment", { json: { experiment_id: experimentId } });
  }

  // ---- runs -------------------------------------------------------------------------------

  protected async _createRun(options: NewRun): Promise<Run> {
    const { experimentId, runName, userId, startTime, tags } = options;
    // The server stores an omitted start_time as 0 and an omitted user_id as "": send both.
    const response = await this.#call<{ run?: RunJson }>("createRun", {
      json: {
        experiment_id: experimentId,
        run_name: runName,
        user_id: userId,
        start_time: startTime,
        tags: tagsToJson(tags),
      },
      retry: "unsent",
    });
    const run = runFromJson(response.run ?? {});
    this.#artifactRoots.set(run.info.runId, run.info.artifactUri);
    return run;
  }

  protected async _getRun(runId: string): Promise<Run> {
    const response = await this.#call<{ run?: RunJson }>("getRun", { query: { run_id: runId } });
    const run = runFromJson(response.run ?? {});
    this.#artifactRoots.set(run.info.runId, run.info.artifactUri);
    return run;
  }

  /** MLflow has no call for the info alone; the server reads the latest metrics, not us. */
  protected async _getRunInfo(runId: string): Promise<RunInfo> {
    return (await this._getRun(runId)).info;
  }

  protected async _updateRun(runId: string, update: RunUpdate): Promise<RunInfo> {
    const { status, endTime, runName } = update;
    const json: Record<string, unknown> = { run_id: runId };
    if (status !== undefined) json.status = status;
    // An omitted end_time leaves it unchanged; 0 is what the server reports as "no end time".
    if (endTime !== undefined) json.end_time = endTime ?? 0;
    if (runName !== undefined) json.run_name = runName;
    const response = await this.#call<{ run_info?: RunInfoJson }>("updateRun", { json });
    const info = runInfoFromJson(response.run_info ?? {});
    // Older servers leave run_name out of run_info; the run's tag has it.
    if (info.runName === "") info.runName = (await this.getRun(runId)).info.runName;
    return info;
  }

  protected async _deleteRun(runId: string): Promise<void> {
    await this.#call("deleteRun", { json: { run_id: runId } });
  }

  protected async _restoreRun(runId: string): Promise<void> {
    await this.#call("restoreRun", { json: { run_id: runId } });
  }

  protected async _listRuns(experimentIds: string[], viewType: ViewType): Promise<Run[]> {
    if (experimentIds.length === 0) return [];
    return allPages(async (pageToken) => {
      const page = await this._searchRuns({
        experimentIds,
        viewType,
        maxResults: PAGE_SIZE.runs,
        ...(pageToken === undefined ? {} : { pageToken }),
      });
      return { items: page.runs, next: page.nextPageToken };
    });
  }

  /** The server's own `search_runs`: the filter, order and paging are evaluated there. */
  protected override async _searchRuns(request: SearchRunsRequest): Promise<SearchRunsResult> {
    type Page = { runs?: RunJson[]; next_page_token?: string };
    const page = await this.#call<Page>("searchRuns", {
      json: {
        experiment_ids: request.experimentIds,
        filter: request.filter ?? "",
        run_view_type: request.viewType ?? "ACTIVE_ONLY",
        max_results: request.maxResults ?? 1000,
        order_by: request.orderBy ?? [],
        page_token: request.pageToken,
      },
    });
    const result: SearchRunsResult = { runs: (page.runs ?? []).map(runFromJson) };
    if (page.next_page_token) result.nextPageToken = page.next_page_token;
    return result;
  }

  // ---- run data ---------------------------------------------------------------------------

  protected async _logBatch(runId: string, batch: Batch): Promise<void> {
    await sendBatch(runId, batch, {
      post: (request) =>
        this.#call("logBatch", {
          body: Buffer.from(requestBody(runId, request)),
          contentType: "application/json",
        }),
      getRun: (id) => this._getRun(id),
      getMetricHistoryPage: (id, key, page) => this._getMetricHistoryPage(id, key, page),
    });
  }

  protected async _deleteTag(runId: string, key: string): Promise<void> {
    await this.#call("deleteTag", { json: { run_id: runId, key } });
  }

  protected async _getMetricHistory(runId: string, key: string): Promise<Metric[]> {
    type Page = { metrics?: MetricJson[]; next_page_token?: string };
    const points = await allPages(async (pageToken) => {
      const page = await this.#call<Page>("getMetricHistory", {
        query: {
          run_id: runId,
          metric_key: key,
          max_results: PAGE_SIZE.metricHistory,
          page_token: pageToken,
        },
      });
      return { items: page.metrics, next: page.next_page_token };
    });
    // The server answers an unknown run with an empty history; other stores say it is unknown.
    if (points.length === 0) await this._getRun(runId);
    return points.map(metricFromJson);
  }

  protected override async _getMetricHistoryPage(
    runId: string,
    key: string,
    page: HistoryPageRequest,
  ): Promise<MetricHistoryPage> {
    const found = await this.#call<{ metrics?: MetricJson[]; next_page_token?: string }>(
      "getMetricHistory",
      {
        query: {
          run_id: runId,
          metric_key: key,
          max_results: page.maxResults,
          page_token: page.pageToken,
        },
      },
    );
    const metrics = (found.metrics ?? []).map(metricFromJson);
    // The server answers an unknown run with an empty history; other stores say it is unknown.
    if (metrics.length === 0 && page.pageToken === undefined) await this._getRun(runId);
    return found.next_page_token ? { metrics, nextPageToken: found.next_page_token } : { metrics };
  }

  /** The server's own sampling (`get-history-bulk-interval`), 100 runs a request. */
  protected override async _getMetricHistorySampled(
    runIds: string[],
    key: string,
    options: SampleOptions,
  ): Promise<SampledMetric[]> {
    const out: SampledMetric[] = [];
    for (let at = 0; at < runIds.length; at += 100) {
      const page = await this.#call<{ metrics?: MetricJson[] }>("getMetricHistorySampled", {
        query: {
          run_ids: runIds.slice(at, at + 100),
          metric_key: key,
          max_results: options.maxPoints,
          start_step: options.startStep,
          end_step: options.endStep,
        },
      });
      for (const m of page.metrics ?? []) out.push({ ...metricFromJson(m), runId: m.run_id ?? "" });
    }
    return out;
  }

  protected async _logInputs(runId: string, inputs: DatasetInput[]): Promise<void> {
    if (inputs.length === 0) {
      await this._getRun(runId);
      return;
    }
    await this.#call("logInputs", {
      json: { run_id: runId, datasets: inputs.map(datasetInputToJson) },
    });
  }

  // ---- artifacts --------------------------------------------------------------------------

  protected async _logArtifact(
    runId: string,
    localPath: string,
    artifactPath?: string,
  ): Promise<void> {
    const repository = await this.#repository(runId);
    const { files } = await collectLocalArtifacts(localPath, artifactPath);
    if (repository instanceof ProxyRepository) for (const file of files) checkProxyName(file.path);
    await putFiles(repository, files);
  }

  protected async _listArtifacts(runId: string, path?: string): Promise<FileInfo[]> {
    return (await this.#repository(runId)).list(path);
  }

  protected async _readArtifact(runId: string, path: string): Promise<Uint8Array> {
    return readAll(await this.#repository(runId), path);
  }

  protected async _putArtifact(runId: string, path: string, data: ArtifactData): Promise<void> {
    await (await this.#repository(runId)).put(path, data);
  }

  protected async _openArtifact(runId: string, path: string): Promise<ArtifactStream> {
    return (await this.#repository(runId)).get(path);
  }

  protected async _deleteArtifact(runId: string, path: string): Promise<void> {
    await (await this.#repository(runId)).delete(path || undefined);
  }

  async flush(): Promise<void> {}

  /** The run's page in MLflow's UI, which routes by the URL's fragment. */
  runPageUrl(experimentId: string, runId: string): string {
    return `${this.uri}/#/experiments/${encodeURIComponent(experimentId)}/runs/${encodeURIComponent(runId)}`;
  }

  /** The server's MLflow version, from `/version` (plain text). */
  async serverVersion(): Promise<string> {
    const response = await this.#client.send("GET", "/version", { retry: "unsent" });
    return response.body.toString("utf8").trim();
  }

  /**
   * Where a run's artifacts are: the server's proxy, or a bucket this process reaches with its
   * own credentials (`mlflow server --no-serve-artifacts` hands those URIs to its clients).
   */
  async #repository(runId: string): Promise<ArtifactRepository> {
    const uri = this.#artifactRoots.get(runId) ?? (await this._getRun(runId)).info.artifactUri;
    return this.#repositoryAt(`Run ${runId}`, uri);
  }

  /** The repository behind an artifact URI; `owner` ("Run …", "Logged model …") names it in errors. */
  async #repositoryAt(owner: string, uri: string): Promise<ArtifactRepository> {
    const root = proxyRoot(this.#client, owner, uri);
    if (root !== undefined) {
      return new ProxyRepository(this.#client, root, () => this.#multipartUploads());
    }
    if (!isRemoteUri(uri) || /^https?:/i.test(uri)) {
      throw unreachableArtifacts(this.#client, owner, uri);
    }
    return openRepository(uri);
  }

  /** Whether the proxy offers MLflow 3's presigned multipart uploads (`server-info`). */
  #multipartUploads(): Promise<boolean> {
    this.#serverInfo ??= this.#client
      .json<{ multipart_uploads_enabled?: boolean }>("GET", "/api/3.0/mlflow/server-info", {
        retry: "unsent",
      })
      .then(
        (info) =>
          info.multipart_uploads_enabled === true &&
          !/^(0|false)$/i.test(process.env.MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD ?? ""),
      )
      .catch(() => false);
    return this.#serverInfo;
  }
}
