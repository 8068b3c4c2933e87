/**
 * Tracker: the library API over any store. It picks the store from the tracking URI, finds or
 * creates the experiment, starts and ends runs (with MLflow's system tags), and reads runs back
 * as plain objects.
 */
import { type Config, type ConfigOptions, resolveConfig } from "../config.ts";
import type {
  DatasetInput,
  Experiment,
  Metric,
  ModelVersion,
  Run,
  RunInfo,
  RunStatus,
  ViewType,
} from "../entities.ts";
import { SYSTEM_TAGS } from "../entities.ts";
import { invalid, isMlflowError } from "../errors.ts";
import { redactUrl } from "../redact.ts";
import { openStore } from "../store/open.ts";
import type { RegistryStore } from "../store/registry.ts";
import { registryOf, type SearchRunsRequest, type TrackingStore } from "../store/store.ts";
import type { DrainResult } from "../sync/pusher.ts";
import type { BufferOptions } from "./buffer.ts";
import { compareRuns, type RunComparison } from "./compare.ts";
import { systemTags } from "./context.ts";
import { trackLifecycle } from "./lifecycle.ts";
import { BackgroundPush } from "./local-first.ts";
import { type RegisterModelOptions, registerModel } from "./models.ts";
import { ActiveRun } from "./run.ts";

export interface TrackerOptions extends ConfigOptions {
  /** Use this store instead of opening one from the tracking URI. */
  store?: TrackingStore;
  /** How metric points are batched (default: flushed at least every 1000 ms). */
  buffer?: BufferOptions;
}

export interface StartRunOptions {
  tags?: Record<string, string>;
  /** Markdown shown as the run's description (the `mlflow.note.content` tag). */
  description?: string;
  /** Makes this a nested run of that parent. */
  parentRunId?: string;
  /** Resume this existing run instead of creating one (also from MLFLOW_RUN_ID). */
  runId?: string;
  /** Datasets the run uses. */
  inputs?: DatasetInput[];
}

export interface SearchRunsOptions extends Omit<SearchRunsRequest, "experimentIds"> {
  /** Experiments to search; the tracker's own experiment when absent. */
  experimentIds?: string[];
}

/** A run read back as plain objects. */
export interface RunRecord {
  info: RunInfo;
  params: Record<string, string>;
  /** The latest value of each metric. */
  metrics: Record<string, number>;
  tags: Record<string, string>;
  inputs: DatasetInput[];
}

export class Tracker {
  readonly store: TrackingStore;
  readonly experimentId: string;
  readonly config: Config;
  readonly #buffer: BufferOptions;
  /** Local-first mode: the push of this tracker's runs to the server. */
  readonly #push: BackgroundPush | undefined;

  constructor(
    store: TrackingStore,
    experimentId: string,
    config: Config,
    buffer: BufferOptions = {},
    push?: BackgroundPush,
  ) {
    this.store = store;
    this.experimentId = experimentId;
    this.config = config;
    this.#buffer = buffer;
    this.#push = push;
  }

  /** Starts a run (or resumes `options.runId` / MLFLOW_RUN_ID); end it, or use `await using`. */
  async startRun(name?: string, options: StartRunOptions = {}): Promise<ActiveRun> {
    const resumeId = options.runId ?? this.config.runId;
    let info: RunInfo;
    let metricKeys: string[] = [];
    if (resumeId !== undefined) {
      const existing = await this.store.getRun(resumeId);
      if (existing.info.lifecycleStage !== "active") {
        throw invalid(`Cannot resume run ${resumeId}: it is deleted`, "Restore it first");
      }
      metricKeys = Object.keys(existing.data.metrics);
      info = await this.store.updateRun(resumeId, { status: "RUNNING", endTime: null });
    } else {
      const tags: Record<string, string> = { ...systemTags(), ...options.tags };
      if (options.description !== undefined) tags[SYSTEM_TAGS.note] = options.description;
      if (options.parentRunId !== undefined) tags[SYSTEM_TAGS.parentRunId] = options.parentRunId;
      const created = await this.store.createRun({
        experimentId: this.experimentId,
        ...(name === undefined ? {} : { runName: name }),
        tags,
      });
      info = created.info;
    }
    if (options.inputs?.length) await this.store.logInputs(info.runId, options.inputs);
    const writer = await this.store.openSyncWriter?.(info.runId);
    const ended = () => {
      untrack();
      this.#push?.poke();
    };
    const run = new ActiveRun(this.store, info, ended, {
      buffer: this.#buffer,
      writer,
      metricKeys,
    });
    const untrack = trackLifecycle(run);
    this.#push?.poke();
    return run;
  }

  /**
   * In local-first mode: waits up to `timeoutSeconds` (`localFirstExitTimeout`) for the runs to
   * reach the server, stops the background push and says on stderr what is left. Resolves with
   * what the push found (undefined when it could not tell, or when not in local-first mode).
   * Without it, the same happens when the process ends.
   */
  async close(
    timeoutSeconds = this.config.localFirstExitTimeout,
  ): Promise<DrainResult | undefined> {
    return this.#push?.close(timeoutSeconds * 1000);
  }

  /**
   * Runs `body` inside a run: FINISHED when it resolves, FAILED when it throws (the error is
   * rethrown), KILLED when the process gets SIGINT or SIGTERM meanwhile.
   */
  async withRun<T>(
    name: string | undefined,
    options: StartRunOptions,
    body: (run: ActiveRun) => Promise<T>,
  ): Promise<T> {
    const run = await this.startRun(name, options);
    let result: T;
    try {
      result = await body(run);
    } catch (error) {
      await run.end("FAILED").catch(() => {});
      throw error;
    }
    await run.end("FINISHED");
    return result;
  }

  async getRun(runId: string): Promise<RunRecord> {
    return toRecord(await this.store.getRun(runId));
  }

  /**
   * Runs matching an MLflow filter string, ordered and paged as MLflow does, e.g.
   * `{ filter: "metrics.accuracy > 0.9 and params.model = 'rf'", orderBy: ["metrics.accuracy DESC"] }`.
   */
  async searchRuns(
    options: SearchRunsOptions = {},
  ): Promise<{ runs: RunRecord[]; nextPageToken?: string }> {
    const { experimentIds = [this.experimentId], ...query } = options;
    const found = await this.store.searchRuns({ experimentIds, ...query });
    const result: { runs: RunRecord[]; nextPageToken?: string } = {
      runs: found.runs.map(toRecord),
    };
    if (found.nextPageToken !== undefined) result.nextPageToken = found.nextPageToken;
    return result;
  }

  /** Parameter differences and metric deltas (against the first run) of several runs. */
  async compareRuns(runIds: string[]): Promise<RunComparison> {
    return compareRuns(await Promise.all(runIds.map((id) => this.store.getRun(id))));
  }

  getMetricHistory(runId: string, key: string): Promise<Metric[]> {
    return this.store.getMetricHistory(runId, key);
  }

  async setRunStatus(runId: string, status: RunStatus): Promise<RunInfo> {
    return this.store.updateRun(runId, {
      status,
      endTime: status === "RUNNING" ? null : Date.now(),
    });
  }

  listExperiments(viewType: ViewType = "ACTIVE_ONLY"): Promise<Experiment[]> {
    return this.store.listExperiments(viewType);
  }

  deleteRun(runId: string): Promise<void> {
    return this.store.deleteRun(runId);
  }

  restoreRun(runId: string): Promise<void> {
    return this.store.restoreRun(runId);
  }

  deleteExperiment(experimentId: string): Promise<void> {
    return this.store.deleteExperiment(experimentId);
  }

  restoreExperiment(experimentId: string): Promise<void> {
    return this.store.restoreExperiment(experimentId);
  }

  /**
   * Registers a model as a new version of `name` (creating the registered model when missing),
   * e.g. `{ modelUri: "runs:/<run id>/model", name: "iris" }`.
   */
  registerModel(options: RegisterModelOptions): Promise<ModelVersion> {
    return registerModel(this.store, options);
  }

  /** The store's model registry (every built-in store has one). */
  get registry(): RegistryStore {
    return registryOf(this.store);
  }
}

function toRecord(run: Run): RunRecord {
  const metrics = Object.fromEntries(
    Object.entries(run.data.metrics).map(([k, m]) => [k, m.value]),
  );
  return {
    info: run.info,
    params: run.data.params,
    metrics,
    tags: run.data.tags,
    inputs: run.inputs,
  };
}

/** The experiment to log into: by id, else by name (created when missing), else "0". */
async function resolveExperiment(store: TrackingStore, config: Config): Promise<string> {
  if (config.experimentId !== undefined)
    return (await store.getExperiment(config.experimentId)).experimentId;
  const name = config.experimentName;
  if (name === undefined) return "0";
  const found = await store.getExperimentByName(name);
  if (found) {
    if (found.lifecycleStage === "deleted") {
      throw invalid(
        `Experiment '${name}' is deleted`,
        `Restore it (id ${found.experimentId}) or choose another name`,
      );
    }
    return found.experimentId;
  }
  const tagsOrLocation =
    config.artifactLocation === undefined ? {} : { artifactLocation: config.artifactLocation };
  try {
    return await store.createExperiment(name, tagsOrLocation);
  } catch (error) {
    // Another process created it between our lookup and our create.
    if (!isMlflowError(error, "RESOURCE_ALREADY_EXISTS")) throw error;
    const raced = await store.getExperimentByName(name);
    if (!raced) throw error;
    return raced.experimentId;
  }
}

/**
 * A tracker configured from `options` over the MLFLOW_* environment: the store from the tracking
 * URI (`./mlruns` by default; `memory:` or mock mode for tests; `http(s)://` for a server), and
 * the experiment, created when missing.
 */
export async function getTracker(options: TrackerOptions = {}): Promise<Tracker> {
  const { store: given, buffer, ...configOptions } = options;
  const config = resolveConfig(configOptions);
  if (config.localFirst && given === undefined && !config.mockMode) {
    return localFirstTracker(config, buffer);
  }
  const store =
    given ??
    (await openStore(config.mockMode ? "memory:" : config.trackingUri, { http: config.http }));
  return new Tracker(store, await resolveExperiment(store, config), config, buffer);
}

/**
 * Local-first mode: the tracker writes to the tree in `localFirstDir`, and a worker thread
 * pushes its experiment to the server of the tracking URI while the runs train. Nothing here
 * talks to the server: a server that is down, slow or refusing costs the training nothing.
 */
async function localFirstTracker(config: Config, buffer: BufferOptions | undefined) {
  if (!/^https?:\/\//i.test(config.trackingUri)) {
    throw invalid(
      `Local-first mode pushes runs to a server, and the tracking URI '${redactUrl(config.trackingUri)}' is not one`,
      "Set MLFLOW_TRACKING_URI to the server's http(s):// URL, or leave MLFLOW_LOCAL_FIRST unset to log to a tree alone.",
    );
  }
  if (config.experimentId !== undefined) {
    throw invalid(
      `In local-first mode the experiment is named, not given by id: MLFLOW_EXPERIMENT_ID=${config.experimentId} could be the server's id or the tree's`,
      "Set MLFLOW_EXPERIMENT_NAME (or the experimentName option) instead.",
    );
  }
  // Checks the URL and TLS settings now, without a request.
  await openStore(config.trackingUri, { http: config.http });
  const { FileStore } = await import("../store/file/index.ts");
  const store = new FileStore(config.localFirstDir);
  const experimentId = await resolveExperiment(store, config);
  const push = new BackgroundPush({
    root: store.root,
    target: config.trackingUri,
    http: config.http,
    experimentId,
    experimentName: (await store.getExperiment(experimentId)).name,
    exitTimeoutMs: config.localFirstExitTimeout * 1000,
  });
  return new Tracker(store, experimentId, config, buffer, push);
}
