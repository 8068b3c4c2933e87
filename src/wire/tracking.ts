/**
 * MLflow's tracking JSON (REST 2.0, proto field names) and our entities, both ways. The server
 * writes snake_case keys, omits unset fields and empty lists, sends int64 values as numbers (a
 * reader also takes numeric strings), writes NaN and the infinities as "NaN", "Infinity" and
 * "-Infinity", and the SQL store keeps ±Infinity as ±Number.MAX_VALUE (read back as ±Infinity).
 * RestStore reads with the `…FromJson` half; `mlruns server` answers with the `…ToJson` half.
 */
import type {
  Dataset,
  DatasetInput,
  Experiment,
  FileInfo,
  LifecycleStage,
  Metric,
  Run,
  RunInfo,
  RunStatus,
} from "../entities.ts";
import { RUN_STATUSES } from "../entities.ts";

export interface KeyValueJson {
  key?: string;
  value?: string;
}

export interface ExperimentJson {
  experiment_id?: string;
  name?: string;
  artifact_location?: string;
  lifecycle_stage?: string;
  creation_time?: number | string;
  last_update_time?: number | string;
  tags?: KeyValueJson[];
}

export interface MetricJson {
  key?: string;
  value?: number | string;
  timestamp?: number | string;
  step?: number | string;
  dataset_name?: string;
  dataset_digest?: string;
  model_id?: string;
  run_id?: string;
}

export interface RunInfoJson {
  run_id?: string;
  run_uuid?: string;
  run_name?: string;
  experiment_id?: string;
  user_id?: string;
  status?: string;
  start_time?: number | string;
  end_time?: number | string;
  artifact_uri?: string;
  lifecycle_stage?: string;
}

export interface DatasetJson {
  name?: string;
  digest?: string;
  source_type?: string;
  source?: string;
  schema?: string;
  profile?: string;
}

export interface DatasetInputJson {
  tags?: KeyValueJson[];
  dataset?: DatasetJson;
}

export interface RunJson {
  info?: RunInfoJson;
  data?: { metrics?: MetricJson[]; params?: KeyValueJson[]; tags?: KeyValueJson[] };
  inputs?: { dataset_inputs?: DatasetInputJson[]; model_inputs?: { model_id: string }[] };
  outputs?: { model_outputs?: { model_id: string; step: number }[] };
}

export interface FileInfoJson {
  path?: string;
  is_dir?: boolean;
  file_size?: number | string;
}

/** An int64 field: a JSON number or a numeric string; `undefined` when absent. */
function int(value: number | string | undefined): number | undefined {
  if (value === undefined || value === null) return undefined;
  const parsed = typeof value === "number" ? value : Number(value);
  return Number.isFinite(parsed) ? parsed : undefined;
}

/** A metric value: a number, or "NaN" / "Infinity" / "-Infinity" as strings. */
export function metricValueFromJson(value: number | string | undefined): number {
  if (value === undefined) return 0;
  const parsed = typeof value === "number" ? value : Number(value);
  // The SQL store clamps ±Infinity to ±Number.MAX_VALUE; read it back as what was logged.
  if (parsed === Number.MAX_VALUE) return Number.POSITIVE_INFINITY;
  if (parsed === -Number.MAX_VALUE) return Number.NEGATIVE_INFINITY;
  return parsed;
}

export function metricValueToJson(value: number): number | string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "Infinity";
  if (value === Number.NEGATIVE_INFINITY) return "-Infinity";
  return value;
}

export const tagsFromJson = (tags: KeyValueJson[] | undefined): Record<string, string> =>
  Object.fromEntries((tags ?? []).map((t) => [t.key ?? "", t.value ?? ""]));

export const tagsToJson = (tags: Record<string, string> | undefined): KeyValueJson[] =>
  Object.entries(tags ?? {}).map(([key, value]) => ({ key, value }));

const stage = (value: string | undefined): LifecycleStage =>
  value === "deleted" ? "deleted" : "active";

export function experimentFromJson(json: ExperimentJson): Experiment {
  return {
    experimentId: json.experiment_id ?? "",
    name: json.name ?? "",
    artifactLocation: json.artifact_location ?? "",
    lifecycleStage: stage(json.lifecycle_stage),
    creationTime: int(json.creation_time) ?? null,
    lastUpdateTime: int(json.last_update_time) ?? null,
    tags: tagsFromJson(json.tags),
  };
}

export function metricFromJson(json: MetricJson): Metric {
  const metric: Metric = {
    key: json.key ?? "",
    value: metricValueFromJson(json.value),
    timestamp: int(json.timestamp) ?? 0,
    step: int(json.step) ?? 0,
  };
  if (json.dataset_name !== undefined) metric.datasetName = json.dataset_name;
  if (json.dataset_digest !== undefined) metric.datasetDigest = json.dataset_digest;
  return metric;
}

export function metricToJson(metric: Metric): MetricJson {
  const json: MetricJson = {
    key: metric.key,
    value: metricValueToJson(metric.value),
    timestamp: metric.timestamp,
    step: metric.step ?? 0,
  };
  if (metric.datasetName !== undefined) json.dataset_name = metric.datasetName;
  if (metric.datasetDigest !== undefined) json.dataset_digest = metric.datasetDigest;
  return json;
}

export function runInfoFromJson(json: RunInfoJson, tags: Record<string, string> = {}): RunInfo {
  const status = (RUN_STATUSES as readonly string[]).includes(json.status ?? "")
    ? (json.status as RunStatus)
    : "RUNNING";
  // The server omits an unset end time (and writes 0 as unset).
  const endTime = int(json.end_time);
  return {
    runId: json.run_id ?? json.run_uuid ?? "",
    experimentId: json.experiment_id ?? "",
    runName: json.run_name ?? tags["mlflow.runName"] ?? "",
    userId: json.user_id ?? "",
    status,
    startTime: int(json.start_time) ?? 0,
    endTime: endTime === undefined || endTime === 0 ? null : endTime,
    artifactUri: json.artifact_uri ?? "",
    lifecycleStage: stage(json.lifecycle_stage),
  };
}

function datasetFromJson(json: DatasetJson): Dataset {
  return {
    name: json.name ?? "",
    digest: json.digest ?? "",
    sourceType: json.source_type ?? "",
    source: json.source ?? "",
    schema: json.schema ?? null,
    profile: json.profile ?? null,
  };
}

export function datasetInputToJson(input: DatasetInput): DatasetInputJson {
  const { name, digest, sourceType, source, schema, profile } = input.dataset;
  const dataset: DatasetJson = { name, digest, source_type: sourceType, source };
  if (schema !== null) dataset.schema = schema;
  if (profile !== null) dataset.profile = profile;
  return { ...list("tags", tagsToJson(input.tags)), dataset };
}

export function runFromJson(json: RunJson): Run {
  const tags = tagsFromJson(json.data?.tags);
  const metrics: Record<string, Metric> = {};
  for (const m of json.data?.metrics ?? []) {
    const metric = metricFromJson(m);
    metrics[metric.key] = metric;
  }
  return {
    info: runInfoFromJson(json.info ?? {}, tags),
    data: { params: tagsFromJson(json.data?.params), metrics, tags },
    inputs: (json.inputs?.dataset_inputs ?? []).map((input) => ({
      dataset: datasetFromJson(input.dataset ?? {}),
      tags: tagsFromJson(input.tags),
    })),
  };
}

// ---- to JSON: what MLflow's server answers (`to_proto`, then `message_to_json`) -------------------

/** A list field is left out when empty, as protobuf leaves out an empty repeated field. */
function list<K extends string, T>(key: K, items: T[]): { [P in K]?: T[] } {
  return (items.length === 0 ? {} : { [key]: items }) as { [P in K]?: T[] };
}

export function experimentToJson(experiment: Experiment): ExperimentJson {
  const json: ExperimentJson = {
    experiment_id: experiment.experimentId,
    name: experiment.name,
    artifact_location: experiment.artifactLocation,
    lifecycle_stage: experiment.lifecycleStage,
  };
  if (experiment.lastUpdateTime) json.last_update_time = experiment.lastUpdateTime;
  if (experiment.creationTime) json.creation_time = experiment.creationTime;
  return { ...json, ...list("tags", tagsToJson(experiment.tags)) };
}

export function runInfoToJson(info: RunInfo): RunInfoJson {
  const json: RunInfoJson = {
    run_uuid: info.runId,
    run_id: info.runId,
    run_name: info.runName,
    experiment_id: info.experimentId,
    user_id: info.userId,
    status: info.status,
    start_time: info.startTime,
  };
  if (info.endTime) json.end_time = info.endTime;
  if (info.artifactUri) json.artifact_uri = info.artifactUri;
  json.lifecycle_stage = info.lifecycleStage;
  return json;
}

export function runToJson(run: Run): RunJson {
  return {
    info: runInfoToJson(run.info),
    data: {
      ...list("metrics", Object.values(run.data.metrics).map(metricToJson)),
      ...list("params", tagsToJson(run.data.params)),
      ...list("tags", tagsToJson(run.data.tags)),
    },
    inputs: list("dataset_inputs", run.inputs.map(datasetInputToJson)),
    outputs: {},
  };
}

export function fileInfoToJson(file: FileInfo): FileInfoJson {
  const json: FileInfoJson = { path: file.path, is_dir: file.isDir };
  if (file.fileSize) json.file_size = file.fileSize;
  return json;
}
