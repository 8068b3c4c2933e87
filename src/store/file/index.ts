/**
 * FileStore: an MLflow `mlruns` tree on disk, read and written exactly as MLflow's file store
 * does (mlruns-format.md), but crash-safe (atomic meta.yaml, whole metric lines) and safe with
 * concurrent writers (a lock for experiment names, de-duplicated metric points). A driver under
 * the checking layer (checked-store.ts): its `_` methods get checked input and check nothing
 * again. Each does its work in the module of its kind, on the tree they share (tree-handle.ts).
 */
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { exists } from "../../atomic.ts";
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
import type { SampledMetric, SampleOptions } from "../../metric-sampling.ts";
import type { SearchRunsResult } from "../../search/index.ts";
import { CheckedStore, type NewExperiment, type NewRun, type RunUpdate } from "../checked-store.ts";
import type {
  HistoryPageRequest,
  MetricHistoryPage,
  SearchRunsRequest,
  SyncRunWriter,
} from "../store.ts";
import * as experiments from "./experiments.ts";
import { HistoriesAhead } from "./history-ahead.ts";
import { FileLoggedModels } from "./logged-models.ts";
import { FileRegistry } from "./registry.ts";
import * as artifacts from "./run-artifacts.ts";
import * as history from "./run-history.ts";
import * as reads from "./run-reads.ts";
import * as search from "./run-search.ts";
import * as writes from "./run-writes.ts";
import type { SearchIndexStats } from "./search-index.ts";
import { type FileStoreOptions, TreeHandle } from "./tree-handle.ts";

export type { ProblemHandler, TreeProblem } from "./problems.ts";
export { TreeError } from "./problems.ts";
export type { SearchIndexOptions, SearchIndexStats } from "./search-index.ts";
export type { FileStoreOptions } from "./tree-handle.ts";

export class FileStore extends CheckedStore {
  readonly root: string;
  readonly uri: string;
  readonly registry: FileRegistry;
  readonly loggedModels: FileLoggedModels;
  readonly #tree: TreeHandle;
  #ahead: HistoriesAhead | undefined;

  /**
   * The tree at `root`. Nothing is written until the first write (or `init()`), which creates
   * the tree (the folder, `.trash/` and experiment 0) when there is none yet; until then reads
   * see a tree holding only the Default experiment. A folder holding something else, or a file,
   * is refused by reads and writes alike.
   */
  constructor(root: string, options: FileStoreOptions = {}) {
    super();
    this.root = resolve(root);
    this.uri = pathToFileURL(this.root).href;
    const tree = new TreeHandle(this.root, options);
    this.#tree = tree;
    this.loggedModels = new FileLoggedModels({
      experimentDirs: async () =>
        (await tree.state()) === "tree" ? tree.runs.experimentDirs() : [],
      experimentDir: (id) => tree.writableExperimentDir(id),
      getExperiment: (id) => this.getExperiment(id),
      activeRunDir: async (id) => (await tree.activeRun(id)).runDir,
      runDir: (id) => tree.runDir(id),
    });
    this.registry = new FileRegistry({
      root: this.root,
      onProblem: tree.onProblem,
      hasTree: async () => (await tree.state()) === "tree",
      // New models are built inside experiment 0's folder, as new experiments are.
      stagingParent: async () => {
        await tree.create();
        const active = tree.layout.experimentDir("0");
        if (await exists(join(active, "meta.yaml"))) return active;
        return tree.layout.experimentDir("0", true);
      },
    });
  }

  /** True when the folder holds a tree; false while nothing is there; refused for anything else. */
  async exists(): Promise<boolean> {
    return (await this.#tree.state()) === "tree";
  }

  /**
   * Makes the folder an mlruns tree, as `mlruns init` does, also when it holds other things:
   * the folder, `.trash/` and the Default experiment, each only when missing.
   */
  async init(): Promise<void> {
    await this.#tree.init();
  }

  // ---- experiments (experiments.ts) ----

  protected _createExperiment(name: string, options: NewExperiment): Promise<string> {
    return experiments.createExperiment(this.#tree, name, options);
  }

  protected _getExperiment(experimentId: string): Promise<Experiment> {
    return experiments.getExperiment(this.#tree, experimentId);
  }

  listExperiments(viewType: ViewType = "ACTIVE_ONLY"): Promise<Experiment[]> {
    return experiments.listExperiments(this.#tree, viewType);
  }

  getExperimentByName(name: string): Promise<Experiment | null> {
    return experiments.getExperimentByName(this.#tree, name);
  }

  protected _renameExperiment(experimentId: string, newName: string): Promise<void> {
    return experiments.renameExperiment(this.#tree, experimentId, newName);
  }

  protected _setExperimentTag(experimentId: string, key: string, value: string): Promise<void> {
    return experiments.setExperimentTag(this.#tree, experimentId, key, value);
  }

  protected _deleteExperimentTag(experimentId: string, key: string): Promise<void> {
    return experiments.deleteExperimentTag(this.#tree, experimentId, key);
  }

  protected _deleteExperiment(experimentId: string): Promise<void> {
    return experiments.deleteExperiment(this.#tree, experimentId);
  }

  protected _restoreExperiment(experimentId: string): Promise<void> {
    return experiments.restoreExperiment(this.#tree, experimentId);
  }

  // ---- runs (run-writes.ts, run-reads.ts) ----

  protected _createRun(options: NewRun): Promise<Run> {
    return writes.createRun(this.#tree, options);
  }

  protected _getRun(runId: string): Promise<Run> {
    return reads.getRun(this.#tree, runId);
  }

  protected _getRunInfo(runId: string): Promise<RunInfo> {
    return reads.getRunInfo(this.#tree, runId);
  }

  protected _updateRun(runId: string, update: RunUpdate): Promise<RunInfo> {
    return writes.updateRun(this.#tree, runId, update);
  }

  protected _deleteRun(runId: string): Promise<void> {
    return writes.setRunDeleted(this.#tree, runId, true);
  }

  protected _restoreRun(runId: string): Promise<void> {
    return writes.setRunDeleted(this.#tree, runId, false);
  }

  protected _listRuns(experimentIds: string[], viewType: ViewType): Promise<Run[]> {
    return reads.listRuns(this.#tree, experimentIds, viewType);
  }

  protected _logBatch(runId: string, batch: Batch): Promise<void> {
    return writes.logBatch(this.#tree, runId, batch);
  }

  protected _deleteTag(runId: string, key: string): Promise<void> {
    return writes.deleteTag(this.#tree, runId, key);
  }

  protected _logInputs(runId: string, inputs: DatasetInput[]): Promise<void> {
    return writes.logInputs(this.#tree, runId, inputs);
  }

  openSyncWriter(runId: string): Promise<SyncRunWriter> {
    return this.checkedSyncWriter(runId, (id) => writes.openSyncWriter(this.#tree, id));
  }

  // ---- metric histories (run-history.ts) ----

  protected _getMetricHistory(runId: string, key: string): Promise<Metric[]> {
    return history.getMetricHistory(this.#tree, runId, key);
  }

  protected override _getMetricHistoryPage(
    runId: string,
    key: string,
    page: HistoryPageRequest,
  ): Promise<MetricHistoryPage> {
    return history.getMetricHistoryPage(this.#tree, runId, key, page);
  }

  protected override _getMetricHistorySampled(
    runIds: string[],
    key: string,
    options: SampleOptions,
  ): Promise<SampledMetric[]> {
    return history.getMetricHistorySampled(this.#tree, runIds, key, options);
  }

  // ---- search (run-search.ts) ----

  protected override _searchRuns(request: SearchRunsRequest): Promise<SearchRunsResult> {
    return search.searchRuns(this.#tree, request);
  }

  /**
   * Every run matching the filter, in order, unpaged and not copied: the index's own summaries,
   * which the caller must not change. For a server that pages and projects runs itself (the UI's
   * runs table over 100,000 runs), where copying every match would cost more than the search.
   * Given `first`, only the first `first` are in order, the others follow in no order.
   */
  matchRuns(
    request: Omit<SearchRunsRequest, "maxResults" | "pageToken">,
    first?: number,
  ): Promise<readonly Run[]> {
    return search.matchRuns(this.#tree, request, first);
  }

  /**
   * Calls `listener` with the experiment (and run) of every change the search index's watches
   * see (`searchIndex: { watch: true }`): experiments and runs searched at least once. A live
   * view's feed; returns the function that stops the calls.
   */
  onChange(listener: (change: { experimentId: string; runId?: string }) => void): () => void {
    return search.onChange(this.#tree, listener);
  }

  /**
   * Re-checks these runs now (the runs a live view shows), so that a change another process
   * made to one the watches do not cover reaches `onChange` without waiting for the search
   * index's sweep. Unknown and malformed ids are skipped.
   */
  recheckRuns(runIds: readonly string[]): Promise<void> {
    return search.recheckRuns(this.#tree, runIds);
  }

  /** Runs held by the search index, how many are watched, the watches, and its sweep. */
  get searchIndexStats(): SearchIndexStats {
    return this.#tree.index.stats;
  }

  /**
   * Builds, in the background, the history summaries a chart of these runs' long metrics will
   * read (history-ahead.ts), these runs first: for a live view, with the runs a person looks at.
   * `idle` says when the host (a server) has nothing else to do: the work waits for it.
   */
  summarizeAhead(runIds: readonly string[], idle: () => boolean = () => true): void {
    this.#ahead ??= new HistoriesAhead(this.#tree);
    this.#ahead.want(runIds, idle);
  }

  /** Stops watching the tree for the search index and saves the index file. */
  async close(): Promise<void> {
    await this.#ahead?.close();
    await this.#tree.index.close();
  }

  async flush(): Promise<void> {
    await this.#tree.index.save();
  }

  // ---- artifacts (run-artifacts.ts) ----

  protected _logArtifact(runId: string, localPath: string, artifactPath?: string): Promise<void> {
    return artifacts.logArtifact(this.#tree, runId, localPath, artifactPath);
  }

  protected _listArtifacts(runId: string, path?: string): Promise<FileInfo[]> {
    return artifacts.listArtifacts(this.#tree, runId, path);
  }

  protected _readArtifact(runId: string, path: string): Promise<Uint8Array> {
    return artifacts.readArtifact(this.#tree, runId, path);
  }

  protected _putArtifact(runId: string, path: string, data: ArtifactData): Promise<void> {
    return artifacts.putArtifact(this.#tree, runId, path, data);
  }

  protected _openArtifact(runId: string, path: string): Promise<ArtifactStream> {
    return artifacts.openArtifact(this.#tree, runId, path);
  }

  protected _deleteArtifact(runId: string, path: string): Promise<void> {
    return artifacts.deleteArtifact(this.#tree, runId, path);
  }

  /**
   * Changes whenever anything in the run's folder, or its artifacts kept elsewhere, changes
   * (run-artifacts.ts `runStamp`).
   */
  runStamp(runId: string): Promise<string> {
    return this.checkedRunStamp(runId, (id) => artifacts.runStamp(this.#tree, id));
  }
}
