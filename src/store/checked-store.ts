/**
 * The one validating layer of every tracking store. `CheckedStore` is the rich facade: each
 * public method checks its input with MLflow's rules (validation.ts, checks.ts), applies the
 * rules of run names and users, and only then calls the narrow driver method of the same name
 * with a leading `_`, which FileStore, MemoryStore and RestStore implement without checking
 * anything again. Bad input therefore fails in one way, worded once, on every store.
 *
 * Why a base class rather than a wrapper: users construct the stores themselves
 * (`new FileStore(root)`), and a wrapper that only `openStore` applied would leave that path
 * unchecked. Here the checked methods are the only ones the type offers: the driver methods are
 * protected, and a store cannot replace a checked method without writing `override`
 * (`noImplicitOverride`), which no one writes by accident. What only some drivers offer
 * (`openSyncWriter`, `runStamp`) is a public method of that store passing through
 * `checkedSyncWriter` / `checkedRunStamp`; search, history pages and sampling have defaults built
 * on the narrow methods, which a driver that does them itself (a server, an index) overrides.
 * Kept whole past 400 lines: one class, each checked method beside the driver method it calls.
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
  ViewType,
} from "../entities.ts";
import { SYSTEM_TAGS } from "../entities.ts";
import {
  checkSampleOptions,
  type SampledMetric,
  type SampleOptions,
  sampleHistory,
  sampleRuns,
} from "../metric-sampling.ts";
import { resolveRunName, resolveUserId, runNameFromTags } from "../run-name.ts";
import {
  type SearchExperimentsResult,
  type SearchRunsResult,
  searchExperiments,
  searchRuns,
} from "../search/index.ts";
import { checkHistoryPageSize, paginate } from "../search/page.ts";
import {
  validateArtifactPath,
  validateBatch,
  validateExperimentId,
  validateExperimentName,
  validateInputs,
  validateKey,
  validateRunId,
  validateRunName,
  validateTag,
  validateText,
} from "../validation.ts";
import { checkCreateRun, checkNewTags, checkUpdateRun, defaultExperimentKept } from "./checks.ts";
import type {
  CreateRunOptions,
  HistoryPageRequest,
  MetricHistoryPage,
  SearchExperimentsRequest,
  SearchRunsRequest,
  SyncRunWriter,
  TrackingStore,
  UpdateRunOptions,
} from "./store.ts";

/** A run as the layer hands it to a driver: named, owned, timed, its tags complete. */
export interface NewRun {
  experimentId: string;
  runName: string;
  userId: string;
  startTime: number;
  /** With `mlflow.runName`. */
  tags: Record<string, string>;
}

export interface NewExperiment {
  artifactLocation?: string;
  tags: Record<string, string>;
}

/** An update as the layer hands it to a driver: an empty run name (no change) is left out. */
export type RunUpdate = UpdateRunOptions;

const DEFAULT_EXPERIMENT_ID = "0";

/** An artifact path, where "" (the root) is allowed. */
function checkArtifactDir(path: string | undefined): void {
  if (path !== undefined && path !== "") validateArtifactPath(path);
}

export abstract class CheckedStore implements TrackingStore {
  abstract readonly uri: string;
  // ---- experiments ------------------------------------------------------------------------

  async createExperiment(
    name: string,
    options: { artifactLocation?: string; tags?: Record<string, string> } = {},
  ): Promise<string> {
    validateExperimentName(name);
    const tags = { ...options.tags };
    for (const [key, value] of Object.entries(tags)) validateTag("experiment tag", key, value);
    checkNewTags("experiment tag", tags);
    validateText("Artifact location", options.artifactLocation);
    const artifactLocation = options.artifactLocation || undefined;
    return this._createExperiment(
      name,
      artifactLocation === undefined ? { tags } : { artifactLocation, tags },
    );
  }

  async getExperiment(experimentId: string): Promise<Experiment> {
    validateExperimentId(experimentId);
    return this._getExperiment(experimentId);
  }

  async renameExperiment(experimentId: string, newName: string): Promise<void> {
    validateExperimentId(experimentId);
    validateExperimentName(newName);
    return this._renameExperiment(experimentId, newName);
  }

  async setExperimentTag(experimentId: string, key: string, value: string): Promise<void> {
    validateExperimentId(experimentId);
    validateTag("experiment tag", key, value);
    return this._setExperimentTag(experimentId, key, value);
  }

  async deleteExperimentTag(experimentId: string, key: string): Promise<void> {
    validateExperimentId(experimentId);
    validateKey("experiment tag", key);
    return this._deleteExperimentTag(experimentId, key);
  }

  async deleteExperiment(experimentId: string): Promise<void> {
    validateExperimentId(experimentId);
    // MLflow's server lets the default experiment go; every mlruns store keeps it.
    if (experimentId === DEFAULT_EXPERIMENT_ID) throw defaultExperimentKept();
    return this._deleteExperiment(experimentId);
  }

  async restoreExperiment(experimentId: string): Promise<void> {
    validateExperimentId(experimentId);
    return this._restoreExperiment(experimentId);
  }

  abstract getExperimentByName(name: string): Promise<Experiment | null>;
  abstract listExperiments(viewType?: ViewType): Promise<Experiment[]>;

  /** MLflow's `search_experiments` over `listExperiments`, unless the driver searches itself. */
  async searchExperiments(
    request: SearchExperimentsRequest = {},
  ): Promise<SearchExperimentsResult> {
    return searchExperiments(await this.listExperiments(request.viewType), request);
  }

  // ---- runs -------------------------------------------------------------------------------

  async createRun(options: CreateRunOptions): Promise<Run> {
    validateExperimentId(options.experimentId);
    checkCreateRun(options);
    const runName = resolveRunName(options.runName, options.tags);
    const tags = { ...options.tags, [SYSTEM_TAGS.runName]: runName };
    validateBatch({ tags });
    return this._createRun({
      experimentId: options.experimentId,
      runName,
      userId: resolveUserId(options.userId, tags),
      startTime: options.startTime ?? Date.now(),
      tags,
    });
  }

  async getRun(runId: string): Promise<Run> {
    validateRunId(runId);
    return this._getRun(runId);
  }

  async getRunInfo(runId: string): Promise<RunInfo> {
    validateRunId(runId);
    return this._getRunInfo(runId);
  }

  async updateRun(runId: string, update: UpdateRunOptions): Promise<RunInfo> {
    validateRunId(runId);
    checkUpdateRun(update);
    // As MLflow does, an empty name leaves the name unchanged.
    const { runName, ...rest } = update;
    return this._updateRun(runId, runName ? { ...rest, runName } : rest);
  }

  async deleteRun(runId: string): Promise<void> {
    validateRunId(runId);
    return this._deleteRun(runId);
  }

  async restoreRun(runId: string): Promise<void> {
    validateRunId(runId);
    return this._restoreRun(runId);
  }

  async listRuns(experimentIds: string[], viewType: ViewType = "ACTIVE_ONLY"): Promise<Run[]> {
    for (const id of experimentIds) validateExperimentId(id);
    return this._listRuns(experimentIds, viewType);
  }

  async searchRuns(request: SearchRunsRequest): Promise<SearchRunsResult> {
    for (const id of request.experimentIds) validateExperimentId(id);
    return this._searchRuns(request);
  }

  // ---- run data ---------------------------------------------------------------------------

  async logBatch(runId: string, batch: Batch): Promise<void> {
    validateRunId(runId);
    checkBatch(batch);
    return this._logBatch(runId, batch);
  }

  async deleteTag(runId: string, key: string): Promise<void> {
    validateRunId(runId);
    validateKey("tag", key);
    return this._deleteTag(runId, key);
  }

  async getMetricHistory(runId: string, key: string): Promise<Metric[]> {
    validateRunId(runId);
    validateKey("metric", key);
    return this._getMetricHistory(runId, key);
  }

  async getMetricHistoryPage(
    runId: string,
    key: string,
    page: HistoryPageRequest,
  ): Promise<MetricHistoryPage> {
    validateRunId(runId);
    validateKey("metric", key);
    checkHistoryPageSize(page.maxResults);
    return this._getMetricHistoryPage(runId, key, page);
  }

  async getMetricHistorySampled(
    runIds: string[],
    key: string,
    options: SampleOptions,
  ): Promise<SampledMetric[]> {
    for (const id of runIds) validateRunId(id);
    validateKey("metric", key);
    checkSampleOptions(options);
    return this._getMetricHistorySampled(runIds, key, options);
  }

  async logInputs(runId: string, inputs: DatasetInput[]): Promise<void> {
    validateRunId(runId);
    validateInputs(inputs);
    return this._logInputs(runId, inputs);
  }

  // ---- artifacts --------------------------------------------------------------------------

  async logArtifact(runId: string, localPath: string, artifactPath?: string): Promise<void> {
    validateRunId(runId);
    checkArtifactDir(artifactPath);
    return this._logArtifact(runId, localPath, artifactPath);
  }

  async listArtifacts(runId: string, path?: string): Promise<FileInfo[]> {
    validateRunId(runId);
    checkArtifactDir(path);
    return this._listArtifacts(runId, path || undefined);
  }

  async readArtifact(runId: string, path: string): Promise<Uint8Array> {
    validateRunId(runId);
    validateArtifactPath(path);
    return this._readArtifact(runId, path);
  }

  async putArtifact(runId: string, path: string, data: ArtifactData): Promise<void> {
    validateRunId(runId);
    validateArtifactPath(path);
    return this._putArtifact(runId, path, data);
  }

  async openArtifact(runId: string, path: string): Promise<ArtifactStream> {
    validateRunId(runId);
    validateArtifactPath(path);
    return this._openArtifact(runId, path);
  }

  async deleteArtifact(runId: string, path: string): Promise<void> {
    validateRunId(runId);
    checkArtifactDir(path);
    return this._deleteArtifact(runId, path);
  }

  abstract flush(): Promise<void>;

  // ---- the driver: called only with checked input ------------------------------------------

  protected abstract _createExperiment(name: string, options: NewExperiment): Promise<string>;
  protected abstract _getExperiment(experimentId: string): Promise<Experiment>;
  protected abstract _renameExperiment(experimentId: string, newName: string): Promise<void>;
  protected abstract _setExperimentTag(
    experimentId: string,
    key: string,
    value: string,
  ): Promise<void>;
  protected abstract _deleteExperimentTag(experimentId: string, key: string): Promise<void>;
  protected abstract _deleteExperiment(experimentId: string): Promise<void>;
  protected abstract _restoreExperiment(experimentId: string): Promise<void>;
  protected abstract _createRun(run: NewRun): Promise<Run>;
  protected abstract _getRun(runId: string): Promise<Run>;
  protected abstract _getRunInfo(runId: string): Promise<RunInfo>;
  protected abstract _updateRun(runId: string, update: RunUpdate): Promise<RunInfo>;
  protected abstract _deleteRun(runId: string): Promise<void>;
  protected abstract _restoreRun(runId: string): Promise<void>;
  protected abstract _listRuns(experimentIds: string[], viewType: ViewType): Promise<Run[]>;

  /** MLflow's `search_runs` over `_listRuns`, unless the driver searches itself. */
  protected async _searchRuns(request: SearchRunsRequest): Promise<SearchRunsResult> {
    return searchRuns(
      await this._listRuns(request.experimentIds, request.viewType ?? "ACTIVE_ONLY"),
      request,
    );
  }

  protected abstract _logBatch(runId: string, batch: Batch): Promise<void>;
  protected abstract _deleteTag(runId: string, key: string): Promise<void>;
  protected abstract _getMetricHistory(runId: string, key: string): Promise<Metric[]>;

  /** A page of `_getMetricHistory`, unless the driver reads a page by itself. */
  protected async _getMetricHistoryPage(
    runId: string,
    key: string,
    page: HistoryPageRequest,
  ): Promise<MetricHistoryPage> {
    const history = await this._getMetricHistory(runId, key);
    const found = paginate(history, page.pageToken, page.maxResults, {
      kind: "metric-history",
      filter: `${runId}/${key}`,
    });
    return found.nextPageToken === undefined
      ? { metrics: found.items }
      : { metrics: found.items, nextPageToken: found.nextPageToken };
  }

  /** Each run's `_getMetricHistory` sampled, unless the driver samples by itself. */
  protected async _getMetricHistorySampled(
    runIds: string[],
    key: string,
    options: SampleOptions,
  ): Promise<SampledMetric[]> {
    const sample = async (id: string) =>
      sampleHistory(await this._getMetricHistory(id, key), options);
    return sampleRuns(sample, runIds, options);
  }

  protected abstract _logInputs(runId: string, inputs: DatasetInput[]): Promise<void>;
  /** `artifactPath` is a checked relative path, or absent. */
  protected abstract _logArtifact(
    runId: string,
    localPath: string,
    artifactPath?: string,
  ): Promise<void>;
  /** `path` is a checked relative path, or absent for the root. */
  protected abstract _listArtifacts(runId: string, path?: string): Promise<FileInfo[]>;
  protected abstract _readArtifact(runId: string, path: string): Promise<Uint8Array>;
  protected abstract _putArtifact(runId: string, path: string, data: ArtifactData): Promise<void>;
  protected abstract _openArtifact(runId: string, path: string): Promise<ArtifactStream>;
  /** `path` is a checked relative path, or "" for every artifact of the run. */
  protected abstract _deleteArtifact(runId: string, path: string): Promise<void>;

  // ---- what only some drivers offer: their public method passes through these -----------

  /** `openSyncWriter` of a driver that writes synchronously, with the checks of every write. */
  protected async checkedSyncWriter(
    runId: string,
    open: (runId: string) => Promise<SyncRunWriter>,
  ): Promise<SyncRunWriter> {
    validateRunId(runId);
    return checkedWriter(await open(runId));
  }

  /** `runStamp` of a driver that can fingerprint a run. */
  protected async checkedRunStamp(
    runId: string,
    stamp: (runId: string) => Promise<string>,
  ): Promise<string> {
    validateRunId(runId);
    return stamp(runId);
  }
}

/** A batch: MLflow's batch rules, and a run name given as the `mlflow.runName` tag. */
function checkBatch(batch: Batch): void {
  validateBatch(batch);
  const newName = runNameFromTags(batch.tags);
  if (newName !== undefined) validateRunName(newName);
}

/** A driver's synchronous writer with the checks of `logBatch` and `updateRun`. */
function checkedWriter(writer: SyncRunWriter): SyncRunWriter {
  return {
    logMetrics: (metrics) => {
      validateBatch({ metrics });
      writer.logMetrics(metrics);
    },
    end: (status, endTime) => {
      checkUpdateRun({ status, endTime });
      return writer.end(status, endTime);
    },
  };
}
