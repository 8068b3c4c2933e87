/**
 * MemoryStore: the whole TrackingStore in process memory, with MLflow's semantics. For mock mode
 * and for tests of users' own code. Everything is copied on the way in and on the way out, so
 * callers never share objects with the store. A driver under the checking layer
 * (checked-store.ts), like every store: the experiments are experiments.ts, a run's state and
 * how writes change it runs.ts.
 */
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import {
  type ArtifactData,
  type ArtifactStream,
  type Batch,
  type DatasetInput,
  type Experiment,
  type FileInfo,
  inView,
  type Metric,
  type Run,
  type RunInfo,
  type ViewType,
} from "../../entities.ts";
import { collectLocalArtifacts } from "../../local-artifacts.ts";
import { CheckedStore, type NewExperiment, type NewRun, type RunUpdate } from "../checked-store.ts";
import { experimentNotIn, runNotActive, runNotFound, tagNotFound } from "../checks.ts";
import type { SyncRunWriter } from "../store.ts";
import { experimentView, MemoryExperiments } from "./experiments.ts";
import { MemoryLoggedModels } from "./logged-models.ts";
import { MemoryRegistry } from "./registry.ts";
import {
  clashProblem,
  logBatch,
  logInputs,
  metricHistory,
  newRun,
  type RunState,
  runView,
  updateRun,
} from "./runs.ts";

export class MemoryStore extends CheckedStore {
  readonly registry = new MemoryRegistry();
  readonly loggedModels: MemoryLoggedModels = new MemoryLoggedModels(this);
  readonly uri = "memory:";
  readonly #experiments = new MemoryExperiments();
  readonly #runs = new Map<string, RunState>();

  // ---- experiments ------------------------------------------------------------------------

  protected async _createExperiment(name: string, options: NewExperiment): Promise<string> {
    return this.#experiments.create(name, options.artifactLocation, options.tags);
  }

  protected async _getExperiment(experimentId: string): Promise<Experiment> {
    return experimentView(this.#experiments.get(experimentId));
  }

  async getExperimentByName(name: string): Promise<Experiment | null> {
    const found = this.#experiments.byName(name);
    return found === undefined ? null : experimentView(found);
  }

  async listExperiments(viewType: ViewType = "ACTIVE_ONLY"): Promise<Experiment[]> {
    return this.#experiments.list(viewType);
  }

  protected async _renameExperiment(experimentId: string, newName: string): Promise<void> {
    const experiment = this.#experiments.active(experimentId, "rename");
    if (experiment.name === newName) return;
    this.#experiments.assertNameFree(newName);
    experiment.name = newName;
    experiment.lastUpdateTime = Date.now();
  }

  protected async _setExperimentTag(
    experimentId: string,
    key: string,
    value: string,
  ): Promise<void> {
    const experiment = this.#experiments.active(experimentId, "set tags on");
    clashProblem("experiment tag", experiment.tags.keys(), [key]);
    experiment.tags.set(key, value);
  }

  protected async _deleteExperimentTag(experimentId: string, key: string): Promise<void> {
    const experiment = this.#experiments.active(experimentId, "delete tags of");
    if (!experiment.tags.delete(key)) throw tagNotFound(key, `experiment '${experimentId}'`);
  }

  protected async _deleteExperiment(experimentId: string): Promise<void> {
    const experiment = this.#experiments.get(experimentId);
    if (experiment.lifecycleStage !== "active") throw experimentNotIn(experimentId, "active");
    const now = Date.now();
    experiment.lifecycleStage = "deleted";
    experiment.lastUpdateTime = now;
    for (const run of this.#runs.values()) {
      if (run.info.experimentId === experimentId) run.info.lifecycleStage = "deleted";
    }
  }

  protected async _restoreExperiment(experimentId: string): Promise<void> {
    const experiment = this.#experiments.get(experimentId);
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
    const experiment = this.#experiments.active(options.experimentId, "create runs in");
    const runId = randomUUID().replaceAll("-", "");
    const run = newRun(options, runId, experiment.artifactLocation);
    this.#runs.set(runId, run);
    return runView(run);
  }

  protected async _getRun(runId: string): Promise<Run> {
    return runView(this.#run(runId));
  }

  protected async _getRunInfo(runId: string): Promise<RunInfo> {
    return (await this._getRun(runId)).info;
  }

  protected async _updateRun(runId: string, update: RunUpdate): Promise<RunInfo> {
    return updateRun(this.#activeRun(runId), update);
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
      .filter((r) => wanted.has(r.info.experimentId) && inView(r.info.lifecycleStage, viewType))
      .sort(
        (a, b) =>
          b.info.startTime - a.info.startTime ||
          (a.info.runId < b.info.runId ? -1 : a.info.runId > b.info.runId ? 1 : 0),
      )
      .map(runView);
  }

  // ---- run data ---------------------------------------------------------------------------

  protected async _logBatch(runId: string, batch: Batch): Promise<void> {
    logBatch(this.#activeRun(runId), batch);
  }

  /** Everything here is done when it returns, so the memory store has a synchronous writer too. */
  async openSyncWriter(runId: string): Promise<SyncRunWriter> {
    return this.checkedSyncWriter(runId, async () => {
      this.#activeRun(runId);
      return {
        logMetrics: (metrics) => logBatch(this.#activeRun(runId), { metrics }),
        end: (status, endTime) => updateRun(this.#activeRun(runId), { status, endTime }),
      };
    });
  }

  protected async _deleteTag(runId: string, key: string): Promise<void> {
    const run = this.#activeRun(runId);
    if (!run.tags.delete(key)) throw tagNotFound(key, `run '${runId}'`);
  }

  protected async _getMetricHistory(runId: string, key: string): Promise<Metric[]> {
    return metricHistory(this.#run(runId), key);
  }

  protected async _logInputs(runId: string, inputs: DatasetInput[]): Promise<void> {
    const run = this.#activeRun(runId);
    logInputs(run, this.#experiments.get(run.info.experimentId).datasets, inputs);
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
}
