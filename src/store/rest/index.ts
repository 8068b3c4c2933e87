/**
 * RestStore: the TrackingStore on a real MLflow tracking server, over REST API 2.0. A thin
 * translator under the checking layer (checked-store.ts, so bad input fails the same way as on
 * every store and nothing half-valid is sent): each method calls one endpoint through
 * `client.ts`, in the module of its kind (experiments.ts, runs.ts, metric-history.ts,
 * log-batch.ts, artifact-roots.ts), and maps the JSON back to our entities.
 */

import { putFiles, readAll } from "../../artifacts/repository.ts";
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
import { collectLocalArtifacts } from "../../local-artifacts.ts";
import type { SampledMetric, SampleOptions } from "../../metric-sampling.ts";
import type { SearchExperimentsResult, SearchRunsResult } from "../../search/index.ts";
import { CheckedStore, type NewExperiment, type NewRun, type RunUpdate } from "../checked-store.ts";
import type {
  HistoryPageRequest,
  MetricHistoryPage,
  SearchExperimentsRequest,
  SearchRunsRequest,
} from "../store.ts";
import { ArtifactRoots } from "./artifact-roots.ts";
import { checkProxyName, ProxyRepository } from "./artifacts.ts";
import { requestBody } from "./batch.ts";
import { DEFAULT_HTTP, RestClient } from "./client.ts";
import { callEndpoint, serverVersion } from "./endpoints.ts";
import * as experiments from "./experiments.ts";
import { sendBatch } from "./log-batch.ts";
import { RestLoggedModels } from "./logged-models.ts";
import * as history from "./metric-history.ts";
import { RestRegistry } from "./registry.ts";
import * as runs from "./runs.ts";

export class RestStore extends CheckedStore {
  readonly uri: string;
  readonly #client: RestClient;
  readonly #artifacts: ArtifactRoots;
  readonly registry: RestRegistry;
  readonly loggedModels: RestLoggedModels;

  constructor(baseUrl: string, http: HttpConfig = DEFAULT_HTTP) {
    super();
    this.#client = new RestClient(baseUrl, http);
    this.uri = this.#client.url;
    this.#artifacts = new ArtifactRoots(this.#client);
    this.registry = new RestRegistry(this.#client);
    this.loggedModels = new RestLoggedModels(this.#client, {
      repositoryAt: (owner, uri) => this.#artifacts.at(owner, uri),
      serverVersion: () => this.serverVersion(),
    });
  }

  // ---- experiments (experiments.ts) -------------------------------------------------------

  protected _createExperiment(name: string, options: NewExperiment): Promise<string> {
    return experiments.createExperiment(this.#client, name, options);
  }

  protected _getExperiment(experimentId: string): Promise<Experiment> {
    return experiments.getExperiment(this.#client, experimentId);
  }

  getExperimentByName(name: string): Promise<Experiment | null> {
    return experiments.getExperimentByName(this.#client, name);
  }

  listExperiments(viewType: ViewType = "ACTIVE_ONLY"): Promise<Experiment[]> {
    return experiments.listExperiments(this.#client, viewType);
  }

  /** The server's own `search_experiments`. */
  override searchExperiments(
    request: SearchExperimentsRequest = {},
  ): Promise<SearchExperimentsResult> {
    return experiments.searchExperiments(this.#client, request);
  }

  protected _renameExperiment(experimentId: string, newName: string): Promise<void> {
    return experiments.renameExperiment(this.#client, experimentId, newName);
  }

  protected _setExperimentTag(experimentId: string, key: string, value: string): Promise<void> {
    return experiments.setExperimentTag(this.#client, experimentId, key, value);
  }

  protected _deleteExperimentTag(experimentId: string, key: string): Promise<void> {
    return experiments.deleteExperimentTag(this.#client, experimentId, key);
  }

  protected _deleteExperiment(experimentId: string): Promise<void> {
    return experiments.deleteExperiment(this.#client, experimentId);
  }

  protected _restoreExperiment(experimentId: string): Promise<void> {
    return experiments.restoreExperiment(this.#client, experimentId);
  }

  // ---- runs (runs.ts) ---------------------------------------------------------------------

  protected async _createRun(options: NewRun): Promise<Run> {
    return this.#artifacts.remember(await runs.createRun(this.#client, options));
  }

  protected async _getRun(runId: string): Promise<Run> {
    return this.#artifacts.remember(await runs.getRun(this.#client, runId));
  }

  /** MLflow has no call for the info alone; the server reads the latest metrics, not us. */
  protected async _getRunInfo(runId: string): Promise<RunInfo> {
    return (await this._getRun(runId)).info;
  }

  protected _updateRun(runId: string, update: RunUpdate): Promise<RunInfo> {
    return runs.updateRun(this.#client, runId, update);
  }

  protected _deleteRun(runId: string): Promise<void> {
    return runs.deleteRun(this.#client, runId);
  }

  protected _restoreRun(runId: string): Promise<void> {
    return runs.restoreRun(this.#client, runId);
  }

  protected _listRuns(experimentIds: string[], viewType: ViewType): Promise<Run[]> {
    return runs.listRuns(this.#client, experimentIds, viewType);
  }

  /** The server's own `search_runs`: the filter, order and paging are evaluated there. */
  protected override _searchRuns(request: SearchRunsRequest): Promise<SearchRunsResult> {
    return runs.searchRuns(this.#client, request);
  }

  protected _deleteTag(runId: string, key: string): Promise<void> {
    return runs.deleteTag(this.#client, runId, key);
  }

  protected _logInputs(runId: string, inputs: DatasetInput[]): Promise<void> {
    return runs.logInputs(this.#client, runId, inputs);
  }

  // ---- metrics (log-batch.ts, metric-history.ts) ------------------------------------------

  protected async _logBatch(runId: string, batch: Batch): Promise<void> {
    await sendBatch(runId, batch, {
      post: (request) =>
        callEndpoint(this.#client, "logBatch", {
          body: Buffer.from(requestBody(runId, request)),
          contentType: "application/json",
        }),
      getRun: (id) => this._getRun(id),
      getMetricHistoryPage: (id, key, page) => this._getMetricHistoryPage(id, key, page),
    });
  }

  protected _getMetricHistory(runId: string, key: string): Promise<Metric[]> {
    return history.getMetricHistory(this.#client, runId, key);
  }

  protected override _getMetricHistoryPage(
    runId: string,
    key: string,
    page: HistoryPageRequest,
  ): Promise<MetricHistoryPage> {
    return history.getMetricHistoryPage(this.#client, runId, key, page);
  }

  /** The server's own sampling (`get-history-bulk-interval`), 100 runs a request. */
  protected override _getMetricHistorySampled(
    runIds: string[],
    key: string,
    options: SampleOptions,
  ): Promise<SampledMetric[]> {
    return history.getMetricHistorySampled(this.#client, runIds, key, options);
  }

  // ---- artifacts (artifact-roots.ts) ------------------------------------------------------

  protected async _logArtifact(
    runId: string,
    localPath: string,
    artifactPath?: string,
  ): Promise<void> {
    const repository = await this.#artifacts.ofRun(runId);
    const { files } = await collectLocalArtifacts(localPath, artifactPath);
    if (repository instanceof ProxyRepository) for (const file of files) checkProxyName(file.path);
    await putFiles(repository, files);
  }

  protected async _listArtifacts(runId: string, path?: string): Promise<FileInfo[]> {
    return (await this.#artifacts.ofRun(runId)).list(path);
  }

  protected async _readArtifact(runId: string, path: string): Promise<Uint8Array> {
    return readAll(await this.#artifacts.ofRun(runId), path);
  }

  protected async _putArtifact(runId: string, path: string, data: ArtifactData): Promise<void> {
    await (await this.#artifacts.ofRun(runId)).put(path, data);
  }

  protected async _openArtifact(runId: string, path: string): Promise<ArtifactStream> {
    return (await this.#artifacts.ofRun(runId)).get(path);
  }

  protected async _deleteArtifact(runId: string, path: string): Promise<void> {
    await (await this.#artifacts.ofRun(runId)).delete(path || undefined);
  }

  async flush(): Promise<void> {}

  /** The run's page in MLflow's UI, which routes by the URL's fragment. */
  runPageUrl(experimentId: string, runId: string): string {
    return `${this.uri}/#/experiments/${encodeURIComponent(experimentId)}/runs/${encodeURIComponent(runId)}`;
  }

  /** The server's MLflow version, from `/version` (plain text). */
  serverVersion(): Promise<string> {
    return serverVersion(this.#client);
  }
}
