/**
 * MemoryStore: the whole TrackingStore in process memory, with MLflow's semantics. For mock mode
 * and for tests of users' own code. Everything is copied on the way in and on the way out, so
 * callers never share objects with the store. A driver under the checking layer
 * (checked-store.ts), like every store.
 */
import { randomInt, randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import {
  type ArtifactData,
  type ArtifactStream,
  type Batch,
  type Dataset,
  type DatasetInput,
  type Experiment,
  type FileInfo,
  type LifecycleStage,
  type Metric,
  type Run,
  type RunInfo,
  SYSTEM_TAGS,
  type ViewType,
} from "../../entities.ts";
import { collectLocalArtifacts } from "../../local-artifacts.ts";
import { isLaterPoint, newMetricPoints } from "../../metric-latest.ts";
import { runNameFromTags } from "../../run-name.ts";
import { KeySet, keyClashesWith } from "../../validation.ts";
import { CheckedStore, type NewExperiment, type NewRun, type RunUpdate } from "../checked-store.ts";
import {
  experimentExists,
  experimentNotActive,
  experimentNotFound,
  experimentNotIn,
  paramChanged,
  runNotActive,
  runNotFound,
  tagNotFound,
} from "../checks.ts";
import type { SyncRunWriter } from "../store.ts";
import { MemoryArtifacts } from "./artifacts.ts";
import { MemoryLoggedModels } from "./logged-models.ts";
import { MemoryRegistry } from "./registry.ts";

interface ExperimentState {
  experimentId: string;
  name: string;
  artifactLocation: string;
  lifecycleStage: LifecycleStage;
  creationTime: number;
  lastUpdateTime: number;
  tags: Map<string, string>;
  /** Dataset records by (name, digest): the first one logged in the experiment wins. */
  datasets: Map<string, Dataset>;
}

interface MetricSeries {
  points: Metric[];
  latest: Metric;
}

interface RunState {
  info: RunInfo;
  params: Map<string, string>;
  tags: Map<string, string>;
  metrics: Map<string, MetricSeries>;
  /** Ids of every metric point already stored, so identical points are kept once. */
  seenPoints: Set<string>;
  inputs: Map<string, DatasetInput>;
  artifacts: MemoryArtifacts;
}

const DEFAULT_EXPERIMENT_ID = "0";

function copyMetric(metric: Metric): Metric {
  const { key, value, timestamp, step, datasetName, datasetDigest } = metric;
  const copy: Metric = { key, value, timestamp, step };
  if (datasetName !== undefined) copy.datasetName = datasetName;
  if (datasetDigest !== undefined) copy.datasetDigest = datasetDigest;
  return copy;
}

function copyDataset(dataset: Dataset): Dataset {
  const { name, digest, sourceType, source, schema, profile } = dataset;
  return { name, digest, sourceType, source, schema, profile };
}

const copyInput = (input: DatasetInput): DatasetInput => ({
  dataset: copyDataset(input.dataset),
  tags: { ...input.tags },
});

const datasetKey = (dataset: Dataset): string => `${dataset.name}\u0000${dataset.digest}`;

function matchesView(stage: LifecycleStage, viewType: ViewType): boolean {
  return viewType === "ALL" || (viewType === "ACTIVE_ONLY") === (stage === "active");
}

/** A new key beside a stored one it clashes with (new keys among themselves: the layer). */
function clashProblem(kind: string, existing: Iterable<string>, added: Iterable<string>) {
  const stored = new KeySet(existing);
  for (const key of added) {
    const other = stored.has(key) ? undefined : stored.clashWith(key);
    if (other !== undefined) throw keyClashesWith(kind, key, other);
  }
}

function newExperimentId(taken: Map<string, unknown>): string {
  for (;;) {
    let id = String(randomInt(1, 10));
    for (let i = 0; i < 17; i++) id += String(randomInt(0, 10));
    if (!taken.has(id)) return id;
  }
}

export class MemoryStore extends CheckedStore {
  readonly registry = new MemoryRegistry();
  readonly loggedModels: MemoryLoggedModels = new MemoryLoggedModels(this);
  readonly uri = "memory:";
  readonly #experiments = new Map<string, ExperimentState>();
  readonly #runs = new Map<string, RunState>();

  constructor() {
    super();
    const now = Date.now();
    this.#experiments.set(DEFAULT_EXPERIMENT_ID, {
      experimentId: DEFAULT_EXPERIMENT_ID,
      name: "Default",
      artifactLocation: `memory:/${DEFAULT_EXPERIMENT_ID}`,
      lifecycleStage: "active",
      creationTime: now,
      lastUpdateTime: now,
      tags: new Map(),
      datasets: new Map(),
    });
  }

  // ---- experiments ------------------------------------------------------------------------

  protected async _createExperiment(name: string, options: NewExperiment): Promise<string> {
    this.#assertNameFree(name);
    const experimentId = newExperimentId(this.#experiments);
    const now = Date.now();
    this.#experiments.set(experimentId, {
      experimentId,
      name,
      artifactLocation: options.artifactLocation ?? `memory:/${experimentId}`,
      lifecycleStage: "active",
      creationTime: now,
      lastUpdateTime: now,
      tags: new Map(Object.entries(options.tags)),
      datasets: new Map(),
    });
    return experimentId;
  }

  protected async _getExperiment(experimentId: string): Promise<Experiment> {
    return this.#toExperiment(this.#experiment(experimentId));
  }

  async getExperimentByName(name: string): Promise<Experiment | null> {
    const found = this.#byName(name);
    return found === undefined ? null : this.#toExperiment(found);
  }

  async listExperiments(viewType: ViewType = "ACTIVE_ONLY"): Promise<Experiment[]> {
    return [...this.#experiments.values()]
      .filter((e) => matchesView(e.lifecycleStage, viewType))
      .sort(
        (a, b) =>
          b.creationTime - a.creationTime ||
          (a.experimentId < b.experimentId ? -1 : a.experimentId > b.experimentId ? 1 : 0),
      )
      .map((e) => this.#toExperiment(e));
  }

  protected async _renameExperiment(experimentId: string, newName: string): Promise<void> {
    const experiment = this.#activeExperiment(experimentId, "rename");
    if (experiment.name === newName) return;
    this.#assertNameFree(newName);
    experiment.name = newName;
    experiment.lastUpdateTime = Date.now();
  }

  protected async _setExperimentTag(
    experimentId: string,
    key: string,
    value: string,
  ): Promise<void> {
    const experiment = this.#activeExperiment(experimentId, "set tags on");
    clashProblem("experiment tag", experiment.tags.keys(), [key]);
    experiment.tags.set(key, value);
  }

  protected async _deleteExperimentTag(experimentId: string, key: string): Promise<void> {
    const experiment = this.#activeExperiment(experimentId, "delete tags of");
    if (!experiment.tags.delete(key)) throw tagNotFound(key, `experiment '${experimentId}'`);
  }

  protected async _deleteExperiment(experimentId: string): Promise<void> {
    const experiment = this.#experiment(experimentId);
    if (experiment.lifecycleStage !== "active") throw experimentNotIn(experimentId, "active");
    const now = Date.now();
    experiment.lifecycleStage = "deleted";
    experiment.lastUpdateTime = now;
    for (const run of this.#runs.values()) {
      if (run.info.experimentId === experimentId) run.info.lifecycleStage = "deleted";
    }
  }

  protected async _restoreExperiment(experimentId: string): Promise<void> {
    const experiment = this.#experiment(experimentId);
    if (experiment.lifecycleStage !== "deleted") throw experimentNotIn(experimentId, "deleted");
    experiment.lifecycleStage = "active";
    experiment.lastUpdateTime = Date.now();
    // As MLflow does, restoring an experiment restores every one of its runs.
    for (const run of this.#runs.values()) {
      if (run.info.experimentId === experimentId) run.info.lifecycleStage = "active";
    }
  }

  // ---- runs -------------------------------------------------------------------------------

  protected async _createRun(options: NewRun): Promise<Run> {
    const { experimentId, runName, userId, startTime, tags } = options;
    const experiment = this.#activeExperiment(experimentId, "create runs in");
    const runId = randomUUID().replaceAll("-", "");
    const run: RunState = {
      info: {
        runId,
        experimentId,
        runName,
        userId,
        status: "RUNNING",
        startTime,
        endTime: null,
        artifactUri: `${experiment.artifactLocation}/${runId}/artifacts`,
        lifecycleStage: "active",
      },
      params: new Map(),
      tags: new Map(Object.entries(tags)),
      metrics: new Map(),
      seenPoints: new Set(),
      inputs: new Map(),
      artifacts: new MemoryArtifacts(`run ${runId}`),
    };
    this.#runs.set(runId, run);
    return this.#toRun(run);
  }

  protected async _getRun(runId: string): Promise<Run> {
    return this.#toRun(this.#run(runId));
  }

  protected async _getRunInfo(runId: string): Promise<RunInfo> {
    return (await this._getRun(runId)).info;
  }

  protected async _updateRun(runId: string, update: RunUpdate): Promise<RunInfo> {
    return this.#updateRun(runId, update);
  }

  #updateRun(runId: string, update: RunUpdate): RunInfo {
    const { status, endTime, runName } = update;
    const run = this.#activeRun(runId);
    if (status !== undefined) run.info.status = status;
    if (endTime !== undefined) run.info.endTime = endTime;
    if (runName !== undefined) {
      run.info.runName = runName;
      run.tags.set(SYSTEM_TAGS.runName, runName);
    }
    return { ...run.info };
  }

  protected async _deleteRun(runId: string): Promise<void> {
    this.#run(runId).info.lifecycleStage = "deleted";
  }

  protected async _restoreRun(runId: string): Promise<void> {
    this.#run(runId).info.lifecycleStage = "active";
  }

  protected async _listRuns(experimentIds: string[], viewType: ViewType): Promise<Run[]> {
    const wanted = new Set(experimentIds);
    return [...this.#runs.values()]
      .filter(
        (r) => wanted.has(r.info.experimentId) && matchesView(r.info.lifecycleStage, viewType),
      )
      .sort(
        (a, b) =>
          b.info.startTime - a.info.startTime ||
          (a.info.runId < b.info.runId ? -1 : a.info.runId > b.info.runId ? 1 : 0),
      )
      .map((r) => this.#toRun(r));
  }

  // ---- run data ---------------------------------------------------------------------------

  protected async _logBatch(runId: string, batch: Batch): Promise<void> {
    this.#logBatch(runId, batch);
  }

  /** Everything here is done when it returns, so the memory store has a synchronous writer too. */
  async openSyncWriter(runId: string): Promise<SyncRunWriter> {
    return this.checkedSyncWriter(runId, async () => {
      this.#activeRun(runId);
      return {
        logMetrics: (metrics) => this.#logBatch(runId, { metrics }),
        end: (status, endTime) => this.#updateRun(runId, { status, endTime }),
      };
    });
  }

  #logBatch(runId: string, batch: Batch): void {
    const run = this.#activeRun(runId);
    const metrics = (batch.metrics ?? []).map(copyMetric);
    const params = Object.entries(batch.params ?? {});
    const tags = Object.entries(batch.tags ?? {});

    const changed = params.filter(
      ([key, value]) => run.params.has(key) && run.params.get(key) !== value,
    );
    if (changed.length > 0) {
      const [key, value] = changed[0] as [string, string];
      throw paramChanged(runId, key, run.params.get(key) as string, value);
    }
    const newName = runNameFromTags(batch.tags);
    clashProblem(
      "metric",
      run.metrics.keys(),
      metrics.map((m) => m.key),
    );
    clashProblem(
      "param",
      run.params.keys(),
      params.map(([key]) => key),
    );
    clashProblem(
      "tag",
      run.tags.keys(),
      tags.map(([key]) => key),
    );

    // Everything is checked: from here on nothing throws.
    for (const [key, value] of params) run.params.set(key, value);
    for (const point of newMetricPoints(metrics, run.seenPoints)) {
      const series = run.metrics.get(point.key);
      if (series === undefined) {
        run.metrics.set(point.key, { points: [point], latest: point });
        continue;
      }
      series.points.push(point);
      if (isLaterPoint(point, series.latest)) series.latest = point;
    }
    for (const [key, value] of tags) run.tags.set(key, value);
    if (newName !== undefined) run.info.runName = newName;
  }

  protected async _deleteTag(runId: string, key: string): Promise<void> {
    const run = this.#activeRun(runId);
    if (!run.tags.delete(key)) throw tagNotFound(key, `run '${runId}'`);
  }

  protected async _getMetricHistory(runId: string, key: string): Promise<Metric[]> {
    const series = this.#run(runId).metrics.get(key);
    return (series?.points ?? []).map(copyMetric);
  }

  protected async _logInputs(runId: string, inputs: DatasetInput[]): Promise<void> {
    const run = this.#activeRun(runId);
    const experiment = this.#experiment(run.info.experimentId);
    for (const input of inputs.map(copyInput)) {
      const key = datasetKey(input.dataset);
      // As MLflow does, the first record of a (name, digest) wins, in the experiment and the run.
      const dataset = experiment.datasets.get(key) ?? input.dataset;
      experiment.datasets.set(key, dataset);
      if (!run.inputs.has(key))
        run.inputs.set(key, { dataset: copyDataset(dataset), tags: input.tags });
    }
  }

  // ---- artifacts --------------------------------------------------------------------------

  protected async _logArtifact(
    runId: string,
    localPath: string,
    artifactPath?: string,
  ): Promise<void> {
    this.#run(runId);
    const local = await collectLocalArtifacts(localPath, artifactPath);
    const files = await Promise.all(
      local.files.map(async (f) => ({
        path: f.path,
        bytes: new Uint8Array(await readFile(f.localPath)),
      })),
    );
    // MLflow's artifact stores do not look at the run's lifecycle stage; neither does this one.
    this.#run(runId).artifacts.place(local.dirs, files);
  }

  protected async _putArtifact(runId: string, path: string, data: ArtifactData): Promise<void> {
    await this.#run(runId).artifacts.put(path, data);
  }

  protected async _openArtifact(runId: string, path: string): Promise<ArtifactStream> {
    return this.#run(runId).artifacts.open(path);
  }

  protected async _deleteArtifact(runId: string, path: string): Promise<void> {
    this.#run(runId).artifacts.delete(path);
  }

  protected async _listArtifacts(runId: string, path?: string): Promise<FileInfo[]> {
    return this.#run(runId).artifacts.list(path);
  }

  protected async _readArtifact(runId: string, path: string): Promise<Uint8Array> {
    return this.#run(runId).artifacts.read(path);
  }

  async flush(): Promise<void> {}

  // ---- internals --------------------------------------------------------------------------

  #experiment(experimentId: string): ExperimentState {
    const experiment = this.#experiments.get(experimentId);
    if (experiment === undefined) throw experimentNotFound(experimentId);
    return experiment;
  }

  #activeExperiment(experimentId: string, action: string): ExperimentState {
    const experiment = this.#experiment(experimentId);
    if (experiment.lifecycleStage !== "active") throw experimentNotActive(experimentId, action);
    return experiment;
  }

  #byName(name: string): ExperimentState | undefined {
    let found: ExperimentState | undefined;
    for (const e of this.#experiments.values()) {
      if (e.name === name && (found === undefined || e.lifecycleStage === "active")) found = e;
    }
    return found;
  }

  #assertNameFree(name: string): void {
    const existing = this.#byName(name);
    if (existing !== undefined) throw experimentExists(name, existing);
  }

  #run(runId: string): RunState {
    const run = this.#runs.get(runId);
    if (run === undefined) throw runNotFound(runId);
    return run;
  }

  #activeRun(runId: string): RunState {
    const run = this.#run(runId);
    if (run.info.lifecycleStage !== "active") throw runNotActive(runId);
    return run;
  }

  #toExperiment(e: ExperimentState): Experiment {
    return {
      experimentId: e.experimentId,
      name: e.name,
      artifactLocation: e.artifactLocation,
      lifecycleStage: e.lifecycleStage,
      creationTime: e.creationTime,
      lastUpdateTime: e.lastUpdateTime,
      tags: Object.fromEntries(e.tags),
    };
  }

  #toRun(run: RunState): Run {
    return {
      info: { ...run.info },
      data: {
        params: Object.fromEntries(run.params),
        metrics: Object.fromEntries(
          [...run.metrics].map(([key, series]) => [key, copyMetric(series.latest)]),
        ),
        tags: Object.fromEntries(run.tags),
      },
      inputs: [...run.inputs.values()].map(copyInput),
    };
  }
}
