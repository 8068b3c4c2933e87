/**
 * The store contract. FileStore, MemoryStore and RestStore implement it; the tracker, search,
 * sync and the CLI are written against it and never against a store's internals.
 */
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
  RunStatus,
  ViewType,
} from "../entities.ts";
import { invalid } from "../errors.ts";
import type { SampledMetric, SampleOptions } from "../metric-sampling.ts";
import type { SearchExperimentsResult, SearchQuery, SearchRunsResult } from "../search/index.ts";
import type { LoggedModelStore } from "./logged-models.ts";
import type { RegistryStore } from "./registry.ts";

export interface CreateRunOptions {
  experimentId: string;
  /** Generated as `adjective-noun-N` when absent, as MLflow does. */
  runName?: string;
  /** Milliseconds since the epoch; now when absent. */
  startTime?: number;
  /** Defaults to the `mlflow.user` tag, else `unknown`, as `MlflowClient.create_run` does. */
  userId?: string;
  tags?: Record<string, string>;
}

export interface UpdateRunOptions {
  status?: RunStatus;
  /** `null` clears it, as resuming a run does. */
  endTime?: number | null;
  runName?: string;
}

export interface SearchRunsRequest extends SearchQuery {
  experimentIds: string[];
  /** Active runs only by default. */
  viewType?: ViewType;
}

export interface SearchExperimentsRequest extends SearchQuery {
  viewType?: ViewType;
}

/** Synchronous writes into one run (see `TrackingStore.openSyncWriter`). */
export interface SyncRunWriter {
  /** `logBatch(runId, { metrics })`, done when it returns. */
  logMetrics(metrics: Metric[]): void;
  /** `updateRun(runId, { status, endTime })`, done when it returns. */
  end(status: RunStatus, endTime: number): RunInfo;
}

/** A page of a metric's history: MLflow's get-history `max_results` and `page_token`. */
export interface HistoryPageRequest {
  /** At most this many points (a positive integer). */
  maxResults: number;
  /** Where the previous page ended; none for the first page. */
  pageToken?: string;
}

export interface MetricHistoryPage {
  metrics: Metric[];
  /** Set while more points follow. */
  nextPageToken?: string;
}

export interface TrackingStore {
  /** A URI naming where the data lives: a `file://` URI, `memory:` or a server URL. */
  readonly uri: string;
  /**
   * The folder of the local tree behind the store, when there is one: what sync keeps beside the
   * runs (its ledger and lock, the tree's id; tree-files.ts) lives at its root, and a watch
   * watches it. What a store offers is told by this, never by the scheme of its URI.
   */
  readonly root?: string;

  createExperiment(
    name: string,
    options?: { artifactLocation?: string; tags?: Record<string, string> },
  ): Promise<string>;
  getExperiment(experimentId: string): Promise<Experiment>;
  /** Active or deleted; `null` when no experiment has that name. */
  getExperimentByName(name: string): Promise<Experiment | null>;
  listExperiments(viewType?: ViewType): Promise<Experiment[]>;
  renameExperiment(experimentId: string, newName: string): Promise<void>;
  setExperimentTag(experimentId: string, key: string, value: string): Promise<void>;
  deleteExperimentTag(experimentId: string, key: string): Promise<void>;
  deleteExperiment(experimentId: string): Promise<void>;
  restoreExperiment(experimentId: string): Promise<void>;

  createRun(options: CreateRunOptions): Promise<Run>;
  getRun(runId: string): Promise<Run>;
  /**
   * A run's info alone (name, status, times), without reading its data: a tree's store reads
   * no metric file, where `getRun` reads each to its latest point.
   */
  getRunInfo(runId: string): Promise<RunInfo>;
  updateRun(runId: string, update: UpdateRunOptions): Promise<RunInfo>;
  deleteRun(runId: string): Promise<void>;
  restoreRun(runId: string): Promise<void>;
  /** Every run of the given experiments, in no particular order. */
  listRuns(experimentIds: string[], viewType?: ViewType): Promise<Run[]>;
  /** MLflow's `search_runs`: filter, order and page (on a server, the server does it). */
  searchRuns(request: SearchRunsRequest): Promise<SearchRunsResult>;
  /** MLflow's `search_experiments`. */
  searchExperiments(request?: SearchExperimentsRequest): Promise<SearchExperimentsResult>;
  /**
   * A fingerprint of everything a run holds (data and artifacts), equal only while nothing
   * changed; lets sync skip unchanged runs without reading them. Stores that cannot tell omit it.
   */
  runStamp?(runId: string): Promise<string>;

  /** Metrics, params and tags in one call; validated whole before anything is written. */
  logBatch(runId: string, batch: Batch): Promise<void>;
  /**
   * A writer for one run whose writes are done when they return, without the event loop: how
   * the tracker bounds the loss window of a training loop that never awaits, and ends its runs on
   * `process.exit()`. Stores that cannot write that way (a server) omit it.
   */
  openSyncWriter?(runId: string): Promise<SyncRunWriter>;
  deleteTag(runId: string, key: string): Promise<void>;
  /** Every point of one metric, in the order it was logged. */
  getMetricHistory(runId: string, key: string): Promise<Metric[]>;
  /** The points of one metric a page at a time, in the order logged: any length, bounded memory. */
  getMetricHistoryPage(
    runId: string,
    key: string,
    page: HistoryPageRequest,
  ): Promise<MetricHistoryPage>;
  /**
   * One metric of several runs, sampled for a chart: per run at most `maxPoints` points by
   * step, the first and last always and each stretch's lowest and highest, so spikes survive
   * (metric-sampling.ts). A server samples as it does (MLflow: evenly spaced steps).
   */
  getMetricHistorySampled(
    runIds: string[],
    key: string,
    options: SampleOptions,
  ): Promise<SampledMetric[]>;
  logInputs(runId: string, inputs: DatasetInput[]): Promise<void>;

  /** Copies a local file or directory into the run's artifacts, under `artifactPath` if given. */
  logArtifact(runId: string, localPath: string, artifactPath?: string): Promise<void>;
  /** The direct children of `path` (the artifact root when absent), sorted by path. */
  listArtifacts(runId: string, path?: string): Promise<FileInfo[]>;
  readArtifact(runId: string, path: string): Promise<Uint8Array>;
  /**
   * Writes one artifact file at `path` (replacing it), from bytes or a stream, with bounded
   * memory; the file appears whole or not at all.
   */
  putArtifact(runId: string, path: string, data: ArtifactData): Promise<void>;
  /** Streams one artifact file (RESOURCE_DOES_NOT_EXIST when missing, refused for a folder). */
  openArtifact(runId: string, path: string): Promise<ArtifactStream>;
  /** Removes a file or a folder of artifacts ("" removes them all); a missing path is no error. */
  deleteArtifact(runId: string, path: string): Promise<void>;

  /** A run's page in the store's web UI (a server's MLflow UI), for people to open. */
  runPageUrl?(experimentId: string, runId: string): string;

  /** The model registry kept with this store (every built-in store has one). */
  readonly registry?: RegistryStore;
  /** MLflow 3's logged models (file and memory stores; not a RestStore yet). */
  readonly loggedModels?: LoggedModelStore;

  /** Waits for pending writes; the store stays usable. */
  flush(): Promise<void>;
  /** Stops background work (watches) and saves what it keeps; the store is not used after. */
  close?(): Promise<void>;
}

/** The registry of `store`, or a clear error when it has none. */
export function registryOf(store: TrackingStore): RegistryStore {
  if (store.registry === undefined)
    throw invalid(`The store at ${store.uri} has no model registry`);
  return store.registry;
}

/** The logged models of `store`, or a clear error when it keeps none. */
export function loggedModelsOf(store: TrackingStore): LoggedModelStore {
  if (store.loggedModels === undefined) {
    throw invalid(`The store at ${store.uri} keeps no MLflow 3 logged models`);
  }
  return store.loggedModels;
}
