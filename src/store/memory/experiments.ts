/**
 * MemoryStore's experiments (index.ts): held by id, found by id or by name as MLflow finds
 * them, created with MLflow's 18-digit ids, and copied on the way out.
 */
import { randomInt } from "node:crypto";
import {
  type Dataset,
  type Experiment,
  inView,
  type LifecycleStage,
  type ViewType,
} from "../../entities.ts";
import { experimentExists, experimentNotActive, experimentNotFound } from "../checks.ts";

export interface ExperimentState {
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

const DEFAULT_EXPERIMENT_ID = "0";

function newExperimentId(taken: Map<string, unknown>): string {
  for (;;) {
    let id = String(randomInt(1, 10));
    for (let i = 0; i < 17; i++) id += String(randomInt(0, 10));
    if (!taken.has(id)) return id;
  }
}

export class MemoryExperiments {
  readonly #experiments = new Map<string, ExperimentState>();

  /** Holds the Default experiment, "0". */
  constructor() {
    this.#add(DEFAULT_EXPERIMENT_ID, "Default", `memory:/${DEFAULT_EXPERIMENT_ID}`, {});
  }

  #add(
    experimentId: string,
    name: string,
    artifactLocation: string,
    tags: Record<string, string>,
  ): void {
    const now = Date.now();
    this.#experiments.set(experimentId, {
      experimentId,
      name,
      artifactLocation,
      lifecycleStage: "active",
      creationTime: now,
      lastUpdateTime: now,
      tags: new Map(Object.entries(tags)),
      datasets: new Map(),
    });
  }

  /** A new experiment's id; its name must be free. */
  create(name: string, artifactLocation: string | undefined, tags: Record<string, string>) {
    this.assertNameFree(name);
    const experimentId = newExperimentId(this.#experiments);
    this.#add(experimentId, name, artifactLocation ?? `memory:/${experimentId}`, tags);
    return experimentId;
  }

  get(experimentId: string): ExperimentState {
    const experiment = this.#experiments.get(experimentId);
    if (experiment === undefined) throw experimentNotFound(experimentId);
    return experiment;
  }

  active(experimentId: string, action: string): ExperimentState {
    const experiment = this.get(experimentId);
    if (experiment.lifecycleStage !== "active") throw experimentNotActive(experimentId, action);
    return experiment;
  }

  /** The experiment of that name: the active one, else a deleted one. */
  byName(name: string): ExperimentState | undefined {
    let found: ExperimentState | undefined;
    for (const e of this.#experiments.values()) {
      if (e.name === name && (found === undefined || e.lifecycleStage === "active")) found = e;
    }
    return found;
  }

  assertNameFree(name: string): void {
    const existing = this.byName(name);
    if (existing !== undefined) throw experimentExists(name, existing);
  }

  /** The experiments in `viewType`, newest first. */
  list(viewType: ViewType): Experiment[] {
    return [...this.#experiments.values()]
      .filter((e) => inView(e.lifecycleStage, viewType))
      .sort(
        (a, b) =>
          b.creationTime - a.creationTime ||
          (a.experimentId < b.experimentId ? -1 : a.experimentId > b.experimentId ? 1 : 0),
      )
      .map(experimentView);
  }
}

export function experimentView(e: ExperimentState): Experiment {
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
