/**
 * MemoryStore's runs (index.ts): one run's state, and how a batch, an update and dataset inputs
 * change it, with MLflow's rules (a param never changes, identical metric points are kept once,
 * a dataset's first record wins). Everything is copied on the way in and on the way out.
 */
import {
  type Batch,
  type Dataset,
  type DatasetInput,
  type Metric,
  type Run,
  type RunInfo,
  SYSTEM_TAGS,
} from "../../entities.ts";
import { isLaterPoint, newMetricPoints } from "../../metric-latest.ts";
import { runNameFromTags } from "../../run-name.ts";
import { KeySet, keyClashesWith } from "../../validation.ts";
import type { NewRun, RunUpdate } from "../checked-store.ts";
import { paramChanged } from "../checks.ts";
import { MemoryArtifacts } from "./artifacts.ts";

interface MetricSeries {
  points: Metric[];
  latest: Metric;
}

export interface RunState {
  info: RunInfo;
  params: Map<string, string>;
  tags: Map<string, string>;
  metrics: Map<string, MetricSeries>;
  /** Ids of every metric point already stored, so identical points are kept once. */
  seenPoints: Set<string>;
  inputs: Map<string, DatasetInput>;
  artifacts: MemoryArtifacts;
}

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

/** A new key beside a stored one it clashes with (new keys among themselves: the layer). */
export function clashProblem(kind: string, existing: Iterable<string>, added: Iterable<string>) {
  const stored = new KeySet(existing);
  for (const key of added) {
    const other = stored.has(key) ? undefined : stored.clashWith(key);
    if (other !== undefined) throw keyClashesWith(kind, key, other);
  }
}

/** A new run, RUNNING, in an experiment whose artifacts are at `artifactLocation`. */
export function newRun(options: NewRun, runId: string, artifactLocation: string): RunState {
  const { experimentId, runName, userId, startTime, tags } = options;
  return {
    info: {
      runId,
      experimentId,
      runName,
      userId,
      status: "RUNNING",
      startTime,
      endTime: null,
      artifactUri: `${artifactLocation}/${runId}/artifacts`,
      lifecycleStage: "active",
    },
    params: new Map(),
    tags: new Map(Object.entries(tags)),
    metrics: new Map(),
    seenPoints: new Set(),
    inputs: new Map(),
    artifacts: new MemoryArtifacts(`run ${runId}`),
  };
}

/** Sets what `update` names; the run's info, copied. */
export function updateRun(run: RunState, update: RunUpdate): RunInfo {
  const { status, endTime, runName } = update;
  if (status !== undefined) run.info.status = status;
  if (endTime !== undefined) run.info.endTime = endTime;
  if (runName !== undefined) {
    run.info.runName = runName;
    run.tags.set(SYSTEM_TAGS.runName, runName);
  }
  return { ...run.info };
}

/** Logs a batch whole or, when a param changes or a key clashes, not at all. */
export function logBatch(run: RunState, batch: Batch): void {
  const metrics = (batch.metrics ?? []).map(copyMetric);
  const params = Object.entries(batch.params ?? {});
  const tags = Object.entries(batch.tags ?? {});

  const changed = params.filter(
    ([key, value]) => run.params.has(key) && run.params.get(key) !== value,
  );
  if (changed.length > 0) {
    const [key, value] = changed[0] as [string, string];
    throw paramChanged(run.info.runId, key, run.params.get(key) as string, value);
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

/** Links dataset inputs to a run, recording each dataset in its experiment's `datasets`. */
export function logInputs(
  run: RunState,
  datasets: Map<string, Dataset>,
  inputs: DatasetInput[],
): void {
  for (const input of inputs.map(copyInput)) {
    const key = datasetKey(input.dataset);
    // As MLflow does, the first record of a (name, digest) wins, in the experiment and the run.
    const dataset = datasets.get(key) ?? input.dataset;
    datasets.set(key, dataset);
    if (!run.inputs.has(key))
      run.inputs.set(key, { dataset: copyDataset(dataset), tags: input.tags });
  }
}

/** Every point of a run's metric, copied. */
export function metricHistory(run: RunState, key: string): Metric[] {
  return (run.metrics.get(key)?.points ?? []).map(copyMetric);
}

/** The run as a store returns it: a copy, with each metric's latest point. */
export function runView(run: RunState): Run {
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
