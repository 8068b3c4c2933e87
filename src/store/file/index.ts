/**
 * FileStore: an MLflow `mlruns` tree on disk, read and written exactly as MLflow's file store
 * does (mlruns-format.md), but crash-safe (atomic meta.yaml, whole metric lines) and safe with
 * concurrent writers (a lock for experiment names, de-duplicated metric points). A driver under
 * the checking layer (checked-store.ts): its `_` methods get checked input and check nothing again.
 */
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import { basename, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { isRemoteUri, openRepository } from "../../artifacts/open.ts";
import { type ArtifactRepository, putFiles, readAll } from "../../artifacts/repository.ts";
import {
  createFile,
  exists,
  isMissing,
  readTextIfExists,
  replaceFile,
  replaceFileSync,
  TEMP_PREFIX,
} from "../../atomic.ts";
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
import { SYSTEM_TAGS } from "../../entities.ts";
import { invalid, isMlflowError, notFound } from "../../errors.ts";
import { collectLocalArtifacts } from "../../local-artifacts.ts";
import { withLock } from "../../lock.ts";
import {
  type SampledMetric,
  type SampleOptions,
  sampleHistory,
  sampleRuns,
} from "../../metric-sampling.ts";
import { runNameFromTags } from "../../run-name.ts";
import { matchRuns, type SearchRunsResult, searchRuns } from "../../search/index.ts";
import { decodePageToken, encodePageToken } from "../../search/page.ts";
import { validateExperimentId, validateRunId } from "../../validation.ts";
import { CheckedStore, type NewExperiment, type NewRun, type RunUpdate } from "../checked-store.ts";
import {
  experimentExists,
  experimentNotActive,
  experimentNotFound,
  experimentNotIn,
  paramChanged,
  runNotActive,
  tagNotFound,
} from "../checks.ts";
import type {
  HistoryPageRequest,
  MetricHistoryPage,
  SearchRunsRequest,
  SyncRunWriter,
} from "../store.ts";
import {
  artifactDirOf,
  copyIntoArtifacts,
  deleteArtifactPath,
  listArtifactDir,
  openArtifactFile,
  readArtifactFile,
  writeArtifactFile,
} from "./artifacts.ts";
import { SUMMARY_FROM_BYTES, sampleMetricFile } from "./history-summary.ts";
import { writeInputs } from "./inputs.ts";
import { prepareKeyFile, readKeyValues } from "./key-files.ts";
import { Layout, RUN_FOLDERS } from "./layout.ts";
import { FileLoggedModels } from "./logged-models.ts";
import { experimentDocument, readExperimentDocument, runDocument, type StoredRun } from "./meta.ts";
import { MetricFiles } from "./metric-files.ts";
import { asTreeError, type ProblemHandler, utf8Text, warnProblem } from "./problems.ts";
import { FileRegistry } from "./registry.ts";
import { isTreeError, RunReader, TreeError } from "./runs.ts";
import {
  SearchIndex,
  type SearchIndexOptions,
  type SearchIndexStats,
  type TreeChange,
} from "./search-index.ts";
import { stampFolder } from "./stamp.ts";
import { notATree, treeState } from "./tree.ts";
import { fromYaml, toYaml, yamlProblem } from "./yaml.ts";

export type { ProblemHandler, TreeProblem } from "./problems.ts";
export { TreeError } from "./problems.ts";
export type { SearchIndexOptions, SearchIndexStats } from "./search-index.ts";

/** How long after a search its summary of a run may be trusted for the run's artifact URI. */
const STAMP_REUSE_MS = 10_000;

export interface FileStoreOptions {
  /** Called for each broken file found while listing; the default emits a Node warning. */
  onProblem?: ProblemHandler;
  /** Where the search index lives and how it stays current (search-index.ts). */
  searchIndex?: SearchIndexOptions;
}

/** 18 decimal digits, first non-zero, as MLflow's experiment ids. */
function newExperimentId(): string {
  const n = randomBytes(8).readBigUInt64BE() % 900_000_000_000_000_000n;
  return String(n + 100_000_000_000_000_000n);
}

/** An experiment's artifact location: a relative path made absolute, as MLflow does. */
function artifactLocationOf(location: string | undefined): string | undefined {
  if (location === undefined || location === "") return undefined;
  return /^[a-z][a-z0-9+.-]*:/i.test(location) ? location : resolve(location);
}

const inView = (stage: "active" | "deleted", view: ViewType) =>
  view === "ALL" || (view === "ACTIVE_ONLY") === (stage === "active");

export class FileStore extends CheckedStore {
  readonly root: string;
  readonly uri: string;
  readonly #layout: Layout;
  readonly #runs: RunReader;
  readonly #metrics = new MetricFiles();
  readonly #onProblem: ProblemHandler;
  readonly #index: SearchIndex;
  readonly registry: FileRegistry;
  readonly loggedModels: FileLoggedModels;
  /** Set once the root is known to hold a tree. */
  #isTree = false;

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
    this.#layout = new Layout(this.root);
    this.#runs = new RunReader(this.#layout);
    this.#onProblem = options.onProblem ?? warnProblem;
    this.#index = new SearchIndex(this.root, this.#runs, options.searchIndex);
    this.loggedModels = new FileLoggedModels({
      experimentDirs: async () =>
        (await this.#tree()) === "tree" ? this.#runs.experimentDirs() : [],
      experimentDir: (id) => this.#writableExperimentDir(id),
      getExperiment: (id) => this.getExperiment(id),
      activeRunDir: async (id) => (await this.#activeRun(id)).runDir,
      runDir: (id) => this.#runDir(id),
    });
    this.registry = new FileRegistry({
      root: this.root,
      onProblem: this.#onProblem,
      hasTree: async () => (await this.#tree()) === "tree",
      // New models are built inside experiment 0's folder, as new experiments are.
      stagingParent: async () => {
        await this.#create();
        const active = this.#layout.experimentDir("0");
        if (await exists(join(active, "meta.yaml"))) return active;
        return this.#layout.experimentDir("0", true);
      },
    });
  }

  /** `tree`, or `none` while nothing is there yet; anything else is refused (tree.ts). */
  async #tree(): Promise<"tree" | "none"> {
    if (this.#isTree) return "tree";
    const state = await treeState(this.root);
    if (state === "file" || state === "foreign") throw notATree(this.root, state);
    this.#isTree = state === "tree";
    return state;
  }

  /** True when the folder holds a tree; false while nothing is there; refused for anything else. */
  async exists(): Promise<boolean> {
    return (await this.#tree()) === "tree";
  }

  /** What a write needs: the tree, created when there is none yet, with experiment 0. */
  async #create(): Promise<void> {
    await this.#tree();
    await this.init();
  }

  /**
   * Makes the folder an mlruns tree, as `mlruns init` does, also when it holds other things:
   * the folder, `.trash/` and the Default experiment, each only when missing.
   */
  async init(): Promise<void> {
    await fs.mkdir(this.#layout.trash, { recursive: true }).catch((error: unknown) => {
      // A .trash that is not a folder is the tree's problem (`mlruns verify` reports it).
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    });
    await this.#ensureDefaultExperiment();
    this.#isTree = true;
  }

  /** The Default experiment as the first write will create it: what reads show until then. */
  #defaultExperiment(): Experiment {
    return {
      experimentId: "0",
      name: "Default",
      artifactLocation: pathToFileURL(this.#layout.experimentDir("0")).href,
      lifecycleStage: "active",
      creationTime: null,
      lastUpdateTime: null,
      tags: {},
    };
  }

  async #ensureDefaultExperiment(): Promise<void> {
    const dir = this.#layout.experimentDir("0");
    if (await exists(join(dir, "meta.yaml"))) return;
    if (await exists(join(this.#layout.trash, "0", "meta.yaml"))) return;
    await fs.mkdir(dir, { recursive: true });
    const now = Date.now();
    const document = experimentDocument({
      experimentId: "0",
      name: "Default",
      artifactLocation: pathToFileURL(dir).href,
      lifecycleStage: "active",
      creationTime: now,
      lastUpdateTime: now,
      tags: {},
    });
    await createFile(join(dir, "meta.yaml"), toYaml(document), dir);
  }

  // ---- experiments ----

  async #readExperiment(dir: string, id: string): Promise<Experiment> {
    const path = join(dir, "meta.yaml");
    let text: string | undefined;
    try {
      text = utf8Text(path, await fs.readFile(path));
    } catch (error) {
      if (!isMissing(error)) throw asTreeError(path, error);
    }
    if (text === undefined || text.trim() === "") {
      throw new TreeError({ path, message: "experiment meta.yaml is missing or empty" });
    }
    let document: unknown;
    try {
      document = fromYaml(text);
    } catch (error) {
      throw new TreeError({ path, message: yamlProblem(error) });
    }
    const experiment = readExperimentDocument(document, id);
    if (typeof experiment === "string") throw new TreeError({ path, message: experiment });
    experiment.tags = await readKeyValues(join(dir, "tags"));
    return experiment;
  }

  async #experimentDir(experimentId: string): Promise<{ dir: string; deleted: boolean }> {
    if ((await this.#tree()) === "none" && experimentId === "0") {
      return { dir: this.#layout.experimentDir("0"), deleted: false };
    }
    for (const deleted of [false, true]) {
      const dir = this.#layout.experimentDir(experimentId, deleted);
      if (await exists(join(dir, "meta.yaml"))) return { dir, deleted };
    }
    throw experimentNotFound(experimentId);
  }

  protected async _getExperiment(experimentId: string): Promise<Experiment> {
    const { dir } = await this.#experimentDir(experimentId);
    if ((await this.#tree()) === "none") return this.#defaultExperiment();
    return this.#readExperiment(dir, experimentId);
  }

  async listExperiments(viewType: ViewType = "ACTIVE_ONLY"): Promise<Experiment[]> {
    if ((await this.#tree()) === "none") {
      return inView("active", viewType) ? [this.#defaultExperiment()] : [];
    }
    const experiments: Experiment[] = [];
    for (const { id, dir, deleted } of await this.#runs.experimentDirs()) {
      if (!inView(deleted ? "deleted" : "active", viewType)) continue;
      try {
        experiments.push(await this.#readExperiment(dir, id));
      } catch (error) {
        if (!isTreeError(error)) throw error;
        this.#onProblem(error.problem);
      }
    }
    return experiments.filter((e) => inView(e.lifecycleStage, viewType));
  }

  async getExperimentByName(name: string): Promise<Experiment | null> {
    const all = await this.listExperiments("ALL");
    return all.find((e) => e.name === name) ?? null;
  }

  async #assertNameFree(name: string): Promise<void> {
    const existing = await this.getExperimentByName(name);
    if (existing) throw experimentExists(name, existing);
  }

  protected async _createExperiment(name: string, options: NewExperiment): Promise<string> {
    await this.#create();
    return withLock(this.#layout.lock, async () => {
      await this.#assertNameFree(name);
      const id = newExperimentId();
      const dir = this.#layout.experimentDir(id);
      // Built complete in a staging folder inside experiment 0 (a folder without meta.yaml,
      // which MLflow skips silently), then renamed into place: never half an experiment.
      const stage = join(
        this.#layout.experimentDir("0"),
        `${TEMP_PREFIX}${randomBytes(8).toString("hex")}`,
      );
      const staged = join(stage, id);
      await fs.mkdir(staged, { recursive: true });
      try {
        for (const [key, value] of Object.entries(options.tags)) {
          const file = prepareKeyFile(join(staged, "tags"), "experiment tag", key);
          await replaceFile(file, value, stage);
        }
        const now = Date.now();
        const document = experimentDocument({
          experimentId: id,
          name,
          artifactLocation: artifactLocationOf(options.artifactLocation) ?? pathToFileURL(dir).href,
          lifecycleStage: "active",
          creationTime: now,
          lastUpdateTime: now,
          tags: {},
        });
        await createFile(join(staged, "meta.yaml"), toYaml(document), stage);
        await fs.rename(staged, dir);
      } finally {
        await fs.rm(stage, { recursive: true, force: true });
      }
      return id;
    });
  }

  async #rewriteExperiment(dir: string, change: Partial<Experiment>): Promise<void> {
    const id = dir.split(/[\\/]/).at(-1) as string;
    const experiment = { ...(await this.#readExperiment(dir, id)), ...change };
    experiment.lastUpdateTime = Date.now();
    await replaceFile(join(dir, "meta.yaml"), toYaml(experimentDocument(experiment)), dir);
  }

  /** For writes: an experiment's folder (experiment 0, and the tree, created when missing). */
  async #writableExperimentDir(experimentId: string): Promise<{ dir: string; deleted: boolean }> {
    if (experimentId === "0") await this.#create();
    return this.#experimentDir(experimentId);
  }

  /** For writes: an active experiment's folder (experiment 0 is created when missing). */
  async #activeExperimentDir(experimentId: string, action: string): Promise<string> {
    const { dir, deleted } = await this.#writableExperimentDir(experimentId);
    if (deleted) throw experimentNotActive(experimentId, action);
    return dir;
  }

  protected async _renameExperiment(experimentId: string, newName: string): Promise<void> {
    const dir = await this.#activeExperimentDir(experimentId, "rename");
    await withLock(this.#layout.lock, async () => {
      const current = await this.#readExperiment(dir, experimentId);
      if (current.name === newName) return;
      await this.#assertNameFree(newName);
      await this.#rewriteExperiment(dir, { name: newName });
    });
  }

  protected async _setExperimentTag(
    experimentId: string,
    key: string,
    value: string,
  ): Promise<void> {
    const dir = await this.#activeExperimentDir(experimentId, "set tags on");
    const file = prepareKeyFile(join(dir, "tags"), "experiment tag", key);
    await replaceFile(file, value, dir);
  }

  protected async _deleteExperimentTag(experimentId: string, key: string): Promise<void> {
    const dir = await this.#activeExperimentDir(experimentId, "delete tags of");
    await this.#removeKeyFile(join(dir, "tags"), key, `experiment '${experimentId}'`);
  }

  protected async _deleteExperiment(experimentId: string): Promise<void> {
    const { dir, deleted } = await this.#experimentDir(experimentId);
    if (deleted) throw experimentNotIn(experimentId, "active");
    const now = Date.now();
    for (const runDir of await this.#runs.runDirs(dir)) {
      const run = await this.#tryReadMeta(runDir);
      if (run?.info.lifecycleStage === "active") {
        this.#writeRun(runDir, {
          info: { ...run.info, lifecycleStage: "deleted" },
          deletedTime: now,
        });
      }
    }
    await this.#rewriteExperiment(dir, { lifecycleStage: "deleted" });
    await fs.rename(dir, this.#layout.experimentDir(experimentId, true));
  }

  /** Brings the experiment back with all its runs, as MLflow does. */
  protected async _restoreExperiment(experimentId: string): Promise<void> {
    const { dir, deleted } = await this.#experimentDir(experimentId);
    if (!deleted) throw experimentNotIn(experimentId, "deleted");
    const target = this.#layout.experimentDir(experimentId);
    await this.#rewriteExperiment(dir, { lifecycleStage: "active" });
    await fs.rename(dir, target);
    for (const runDir of await this.#runs.runDirs(target)) {
      const run = await this.#tryReadMeta(runDir);
      if (run?.info.lifecycleStage === "deleted") {
        this.#writeRun(runDir, {
          info: { ...run.info, lifecycleStage: "active" },
          deletedTime: undefined,
        });
      }
    }
  }

  // ---- runs ----

  async #tryReadMeta(runDir: string): Promise<StoredRun | undefined> {
    try {
      return this.#runs.readMeta(runDir);
    } catch (error) {
      if (isMissing(error)) return undefined;
      if (isTreeError(error)) {
        this.#onProblem(error.problem);
        return undefined;
      }
      throw error;
    }
  }

  #writeRun(runDir: string, run: StoredRun): void {
    this.#index.invalidate(runDir);
    replaceFileSync(join(runDir, "meta.yaml"), toYaml(runDocument(run)), runDir);
    this.#runs.forget(runDir);
    this.#index.invalidate(runDir);
  }

  protected async _createRun(options: NewRun): Promise<Run> {
    const { runName, tags } = options;
    const experimentDir = await this.#activeExperimentDir(options.experimentId, "create runs in");
    const experiment = await this.#readExperiment(experimentDir, options.experimentId);
    const runId = randomBytes(16).toString("hex");
    const runDir = this.#layout.runDir(experimentDir, runId);
    this.#index.invalidate(runDir);
    await fs.mkdir(runDir);
    for (const folder of RUN_FOLDERS) await fs.mkdir(join(runDir, folder));
    for (const [key, value] of Object.entries(tags)) {
      await replaceFile(prepareKeyFile(join(runDir, "tags"), "tag", key), value, runDir);
    }
    const info: RunInfo = {
      runId,
      experimentId: options.experimentId,
      runName,
      userId: options.userId,
      status: "RUNNING",
      startTime: options.startTime,
      endTime: null,
      artifactUri: `${experiment.artifactLocation.replace(/\/+$/, "")}/${runId}/artifacts`,
      lifecycleStage: "active",
    };
    // meta.yaml comes last: until it exists, readers (MLflow too) skip the folder.
    await createFile(
      join(runDir, "meta.yaml"),
      toYaml(runDocument({ info, deletedTime: null })),
      runDir,
    );
    return { info, data: { params: {}, metrics: {}, tags }, inputs: [] };
  }

  async #runDir(runId: string): Promise<string> {
    await this.#tree();
    return this.#runs.locate(runId);
  }

  async #activeRun(runId: string): Promise<{ runDir: string; run: StoredRun }> {
    const runDir = await this.#runDir(runId);
    return { runDir, run: this.#activeMeta(runId, runDir) };
  }

  #activeMeta(runId: string, runDir: string): StoredRun {
    const run = this.#runs.readMeta(runDir);
    if (run.info.lifecycleStage !== "active") throw runNotActive(runId);
    return run;
  }

  async openSyncWriter(runId: string): Promise<SyncRunWriter> {
    return this.checkedSyncWriter(runId, (id) => this.#openSyncWriter(id));
  }

  async #openSyncWriter(runId: string): Promise<SyncRunWriter> {
    const runDir = await this.#runDir(runId);
    const active = () => {
      try {
        return this.#activeMeta(runId, runDir);
      } catch (error) {
        if (!isMissing(error)) throw error;
        throw notFound(
          `Run '${runId}' is no longer at ${runDir}`,
          "It was moved or removed (its experiment deleted?) while the run was open",
        );
      }
    };
    return {
      logMetrics: (metrics) => {
        active();
        this.#index.invalidate(runDir);
        this.#metrics.prepare(runDir, metrics)();
      },
      end: (status, endTime) => {
        const { info } = active();
        const ended = { ...info, status, endTime };
        this.#writeRun(runDir, { info: ended, deletedTime: undefined });
        return ended;
      },
    };
  }

  protected async _getRun(runId: string): Promise<Run> {
    return this.#runs.readRun(await this.#runDir(runId), this.#onProblem);
  }

  protected async _getRunInfo(runId: string): Promise<RunInfo> {
    const runDir = await this.#runDir(runId);
    const { info } = this.#runs.readMeta(runDir);
    // A tree MLflow wrote before run names were in meta.yaml has the name in a tag only.
    if (!info.runName) {
      const tag = join(runDir, "tags", SYSTEM_TAGS.runName);
      info.runName = await fs.readFile(tag, "utf8").catch(() => "");
    }
    return info;
  }

  protected async _updateRun(runId: string, update: RunUpdate): Promise<RunInfo> {
    const { runDir, run } = await this.#activeRun(runId);
    const info = { ...run.info };
    if (update.status !== undefined) info.status = update.status;
    if (update.endTime !== undefined) info.endTime = update.endTime;
    if (update.runName !== undefined) {
      info.runName = update.runName;
      const file = prepareKeyFile(join(runDir, "tags"), "tag", SYSTEM_TAGS.runName);
      await replaceFile(file, update.runName, runDir);
    }
    this.#writeRun(runDir, { info, deletedTime: undefined });
    return info;
  }

  protected async _deleteRun(runId: string): Promise<void> {
    const runDir = await this.#runDir(runId);
    const run = this.#runs.readMeta(runDir);
    this.#writeRun(runDir, {
      info: { ...run.info, lifecycleStage: "deleted" },
      deletedTime: Date.now(),
    });
  }

  protected async _restoreRun(runId: string): Promise<void> {
    const runDir = await this.#runDir(runId);
    const run = this.#runs.readMeta(runDir);
    this.#writeRun(runDir, {
      info: { ...run.info, lifecycleStage: "active" },
      deletedTime: undefined,
    });
  }

  protected async _listRuns(experimentIds: string[], viewType: ViewType): Promise<Run[]> {
    const runs: Run[] = [];
    for (const experimentId of experimentIds) {
      const { dir } = await this.#experimentDir(experimentId);
      for (const runDir of await this.#runs.runDirs(dir)) {
        try {
          const run = await this.#runs.readRun(runDir, this.#onProblem);
          if (inView(run.info.lifecycleStage, viewType)) runs.push(run);
        } catch (error) {
          if (isMissing(error)) continue; // a folder without meta.yaml is not a run
          if (!isTreeError(error)) throw error;
          this.#onProblem(error.problem);
        }
      }
    }
    return runs;
  }

  protected async _logBatch(runId: string, batch: Batch): Promise<void> {
    const { runDir, run } = await this.#activeRun(runId);
    this.#index.invalidate(runDir);
    const params = Object.entries(batch.params ?? {});
    const tags = Object.entries(batch.tags ?? {});
    // Check everything against the tree before the first write.
    const paramFiles = await Promise.all(
      params.map(async ([key, value]) => {
        const file = prepareKeyFile(join(runDir, "params"), "param", key);
        const existing = await readTextIfExists(file);
        if (existing !== undefined && existing !== value) {
          throw paramChanged(runId, key, existing, value);
        }
        return { file, value, exists: existing !== undefined };
      }),
    );
    const tagFiles = await Promise.all(
      tags.map(async ([key, value]) => ({
        value,
        file: prepareKeyFile(join(runDir, "tags"), "tag", key),
      })),
    );
    const writeMetrics = this.#metrics.prepare(runDir, batch.metrics ?? []);

    for (const { file, value, exists } of paramFiles) {
      if (
        !exists &&
        !(await createFile(file, value, runDir)) &&
        (await readTextIfExists(file)) !== value
      ) {
        throw invalid(`Param '${file}' was changed by another writer at the same time`);
      }
    }
    for (const { value, file } of tagFiles) await replaceFile(file, value, runDir);
    const newName = runNameFromTags(batch.tags);
    if (newName !== undefined && newName !== run.info.runName) {
      this.#writeRun(runDir, {
        info: { ...run.info, runName: newName },
        deletedTime: undefined,
      });
    }
    writeMetrics();
    this.#index.invalidate(runDir); // again: a sweep may have read the run in between
  }

  protected async _deleteTag(runId: string, key: string): Promise<void> {
    const { runDir } = await this.#activeRun(runId);
    this.#index.invalidate(runDir);
    await this.#removeKeyFile(join(runDir, "tags"), key, `run '${runId}'`);
    this.#index.invalidate(runDir); // again: a sweep may have read the run in between
  }

  async #removeKeyFile(namespaceDir: string, key: string, owner: string): Promise<void> {
    try {
      const file = join(namespaceDir, ...key.split("/"));
      if (!(await fs.stat(file)).isFile()) throw new Error("not a file");
      await fs.rm(file);
    } catch (error) {
      if (isMlflowError(error)) throw error;
      throw tagNotFound(key, owner);
    }
  }

  protected async _getMetricHistory(runId: string, key: string): Promise<Metric[]> {
    const runDir = await this.#runDir(runId);
    return this.#runs.history(key, this.#layout.keyFile(runDir, "metrics", key));
  }

  protected override async _getMetricHistoryPage(
    runId: string,
    key: string,
    page: HistoryPageRequest,
  ): Promise<MetricHistoryPage> {
    const runDir = await this.#runDir(runId);
    const query = { kind: "metric-history", filter: `${runId}/${key}` } as const;
    const { points, next } = this.#runs.historyPage(
      key,
      this.#layout.keyFile(runDir, "metrics", key),
      decodePageToken(page.pageToken, query),
      page.maxResults,
    );
    return next === undefined
      ? { metrics: points }
      : { metrics: points, nextPageToken: encodePageToken(next, query) };
  }

  protected override async _getMetricHistorySampled(
    runIds: string[],
    key: string,
    options: SampleOptions,
  ): Promise<SampledMetric[]> {
    const sample = async (runId: string) => {
      const path = this.#layout.keyFile(await this.#runDir(runId), "metrics", key);
      // A long history is sampled from its summary (history-summary.ts) where that can stand in.
      const size = await fs.stat(path).then(
        (s) => s.size,
        () => 0,
      );
      const fromSummary =
        size >= SUMMARY_FROM_BYTES ? sampleMetricFile(path, key, options) : undefined;
      return fromSummary ?? sampleHistory(await this.#runs.history(key, path), options);
    };
    return sampleRuns(sample, runIds, options);
  }

  protected async _logInputs(runId: string, inputs: DatasetInput[]): Promise<void> {
    const { runDir } = await this.#activeRun(runId);
    this.#index.invalidate(runDir);
    await writeInputs(this.#layout, join(runDir, ".."), runDir, runId, inputs);
    this.#index.invalidate(runDir); // again: a sweep may have read the run in between
  }

  // ---- search ----

  /**
   * MLflow's search_runs over the run summaries of the search index (search-index.ts): each run
   * is re-read only when it changed, by this store or by any other process.
   */
  protected override async _searchRuns(request: SearchRunsRequest): Promise<SearchRunsResult> {
    const found = searchRuns(await this.#summaries(request), request);
    // The summaries belong to the index: hand out copies.
    return { ...found, runs: structuredClone(found.runs) };
  }

  /**
   * Every run matching the filter, in order, unpaged and not copied: the index's own summaries,
   * which the caller must not change. For a server that pages and projects runs itself (the UI's
   * runs table over 100,000 runs), where copying every match would cost more than the search.
   * Given `first`, only the first `first` are in order, the others follow in no order.
   */
  async matchRuns(
    request: Omit<SearchRunsRequest, "maxResults" | "pageToken">,
    first?: number,
  ): Promise<readonly Run[]> {
    // Not a TrackingStore method, so not checked by the layer: its ids become paths.
    for (const id of request.experimentIds) validateExperimentId(id);
    return matchRuns(await this.#summaries(request), request, first);
  }

  async #summaries(request: Pick<SearchRunsRequest, "experimentIds" | "viewType">): Promise<Run[]> {
    const dirs: string[] = [];
    for (const id of new Set(request.experimentIds)) dirs.push((await this.#experimentDir(id)).dir);
    return this.#index.runs(dirs, request.viewType ?? "ACTIVE_ONLY", this.#onProblem);
  }

  /**
   * Calls `listener` with the experiment (and run) of every change the search index's watches
   * see (`searchIndex: { watch: true }`): experiments and runs searched at least once. A live
   * view's feed; returns the function that stops the calls.
   */
  onChange(listener: (change: { experimentId: string; runId?: string }) => void): () => void {
    return this.#index.onChange(({ experimentDir, runDir }: TreeChange) => {
      const experimentId = basename(experimentDir);
      listener(runDir ? { experimentId, runId: basename(runDir) } : { experimentId });
    });
  }

  /**
   * Re-checks these runs now (the runs a live view shows), so that a change another process
   * made to one the watches do not cover reaches `onChange` without waiting for the search
   * index's sweep. Unknown and malformed ids are skipped.
   */
  async recheckRuns(runIds: readonly string[]): Promise<void> {
    const dirs: string[] = [];
    for (const runId of runIds) {
      try {
        validateRunId(runId); // as in matchRuns
        dirs.push(await this.#runDir(runId));
      } catch {
        // gone or never there: nothing to show
      }
    }
    await this.#index.recheck(dirs);
  }

  /** Runs held by the search index, how many are watched, the watches, and its sweep. */
  get searchIndexStats(): SearchIndexStats {
    return this.#index.stats;
  }

  /** Stops watching the tree for the search index and saves the index file. */
  async close(): Promise<void> {
    await this.#index.close();
  }

  // ---- artifacts ----

  /** The local folder of a run's artifacts (artifacts.ts `artifactDirOf`). */
  async #artifactDir(runId: string): Promise<string> {
    const runDir = await this.#runDir(runId);
    const { info } = this.#runs.readMeta(runDir);
    return this.#artifactDirOf(runDir, info);
  }

  #artifactDirOf(runDir: string, info: RunInfo): Promise<string> {
    const { experimentId, runId, artifactUri: uri } = info;
    return artifactDirOf(this.root, { runDir, experimentId, runId, uri });
  }

  /**
   * A bucket's repository when the run's experiment keeps its artifacts in one (`s3://…`,
   * `gs://…`, `wasbs://…`, `abfss://…`), else undefined: the artifacts are a local folder.
   */
  async #bucket(runId: string, info?: RunInfo): Promise<ArtifactRepository | undefined> {
    const uri = (info ?? (await this.#runs.readMeta(await this.#runDir(runId))).info).artifactUri;
    return isRemoteUri(uri) ? openRepository(uri) : undefined;
  }

  protected async _logArtifact(
    runId: string,
    localPath: string,
    artifactPath?: string,
  ): Promise<void> {
    const { runDir, run } = await this.#activeRun(runId);
    const bucket = await this.#bucket(runId, run.info);
    if (bucket !== undefined) {
      await putFiles(bucket, (await collectLocalArtifacts(localPath, artifactPath)).files);
      return;
    }
    await copyIntoArtifacts(await this.#artifactDirOf(runDir, run.info), localPath, artifactPath);
  }

  protected async _listArtifacts(runId: string, path?: string): Promise<FileInfo[]> {
    const bucket = await this.#bucket(runId);
    if (bucket === undefined) return listArtifactDir(await this.#artifactDir(runId), path);
    return bucket.list(path);
  }

  protected async _readArtifact(runId: string, path: string): Promise<Uint8Array> {
    const bucket = await this.#bucket(runId);
    if (bucket === undefined) return readArtifactFile(await this.#artifactDir(runId), path);
    return readAll(bucket, path);
  }

  protected async _putArtifact(runId: string, path: string, data: ArtifactData): Promise<void> {
    // As MLflow's artifact proxy, whatever the run's lifecycle stage.
    const bucket = await this.#bucket(runId);
    if (bucket !== undefined) await bucket.put(path, data);
    else await writeArtifactFile(await this.#artifactDir(runId), path, data);
  }

  protected async _openArtifact(runId: string, path: string): Promise<ArtifactStream> {
    const bucket = await this.#bucket(runId);
    if (bucket !== undefined) return bucket.get(path);
    return openArtifactFile(await this.#artifactDir(runId), path);
  }

  protected async _deleteArtifact(runId: string, path: string): Promise<void> {
    const bucket = await this.#bucket(runId);
    if (bucket !== undefined) await bucket.delete(path || undefined);
    else await deleteArtifactPath(await this.#artifactDir(runId), path);
  }

  /**
   * Changes whenever anything in the run's folder, or its artifacts kept elsewhere, changes.
   * The artifact URI comes from the summary a search just proved current, when there is one,
   * sparing a meta.yaml read per run (sync searches, then stamps every run).
   */
  async runStamp(runId: string): Promise<string> {
    return this.checkedRunStamp(runId, (id) => this.#runStamp(id));
  }

  async #runStamp(runId: string): Promise<string> {
    const runDir = await this.#runDir(runId);
    const proven = this.#index.proven(runDir, STAMP_REUSE_MS);
    const info = proven?.info ?? this.#runs.readMeta(runDir).info;
    const artifacts = await this.#artifactDirOf(runDir, info).catch(() => runDir);
    const outside = !artifacts.startsWith(`${runDir}/`) && artifacts !== runDir;
    return outside ? `${stampFolder(runDir)}+${stampFolder(artifacts)}` : stampFolder(runDir);
  }

  async flush(): Promise<void> {
    await this.#index.save();
  }
}
