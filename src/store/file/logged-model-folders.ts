/**
 * A logged model's folder in a tree (logged-models.ts): `<experiment>/models/<m-id>/` with its
 * meta.yaml, params/, tags/ and metrics/, read into a record and written, as MLflow's file
 * store lays it out. FileLoggedModels decides what to write; this is how it is laid out.
 */
import { join } from "node:path";
import { readTextIfExists, replaceFile } from "../../atomic.ts";
import {
  LOGGED_MODEL_STATUSES,
  type LoggedModelRecord,
  type LoggedModelStatus,
} from "../../entities.ts";
import { invalid, notFound } from "../../errors.ts";
import { isLaterPoint } from "../../metric-latest.ts";
import { listKeyFiles, prepareKeyFile, readKeyValues } from "./key-files.ts";
import { readMetricFile } from "./last-line.ts";
import { parseMetricLine } from "./metric-lines.ts";
import { fromYaml, toYaml, type YamlValue } from "./yaml.ts";

export const META = "meta.yaml";
export const MODELS = "models";

/** meta.yaml's fields (MLflow's `LoggedModel.to_dictionary` without tags, params, metrics). */
export interface StoredModel {
  artifact_location: string;
  creation_timestamp: number;
  experiment_id: string;
  last_updated_timestamp: number;
  lifecycle_stage?: "active" | "deleted";
  model_id: string;
  model_type: string | null;
  name: string;
  source_run_id: string | null;
  status: number;
  status_message: string | null;
}

export const statusNumber = (status: LoggedModelStatus) => LOGGED_MODEL_STATUSES.indexOf(status);

/** meta.yaml's text. */
export const modelMeta = (stored: StoredModel) =>
  toYaml(stored as unknown as Record<string, YamlValue>);

/** A model's meta.yaml as stored, and the model it describes with its tags, params, metrics. */
export async function readModel(
  folder: string,
): Promise<{ stored: StoredModel; model: LoggedModelRecord }> {
  const text = await readTextIfExists(join(folder, META));
  const stored = (text === undefined ? null : fromYaml(text)) as StoredModel | null;
  if (stored === null || typeof stored !== "object" || typeof stored.model_id !== "string") {
    throw notFound(`Model folder ${folder} has no readable meta.yaml`);
  }
  const [tags, params, metrics] = await Promise.all([
    readKeyValues(join(folder, "tags")),
    readKeyValues(join(folder, "params")),
    readMetrics(folder),
  ]);
  const model: LoggedModelRecord = {
    modelId: stored.model_id,
    experimentId: String(stored.experiment_id),
    name: String(stored.name ?? ""),
    artifactLocation: String(stored.artifact_location ?? ""),
    creationTimestamp: Number(stored.creation_timestamp ?? 0),
    lastUpdatedTimestamp: Number(stored.last_updated_timestamp ?? 0),
    modelType: stored.model_type ?? null,
    sourceRunId: stored.source_run_id ?? null,
    status: LOGGED_MODEL_STATUSES[Number(stored.status)] ?? "UNSPECIFIED",
    statusMessage: stored.status_message ?? null,
    tags,
    params,
    metrics,
  };
  return { stored, model };
}

/** The latest point of each metric per (dataset name, digest), as MLflow reads them. */
async function readMetrics(folder: string): Promise<LoggedModelRecord["metrics"]> {
  const latest: LoggedModelRecord["metrics"] = [];
  for (const [key, file] of await listKeyFiles(join(folder, "metrics"))) {
    const groups = new Map<string, LoggedModelRecord["metrics"][number]>();
    for (const line of (await readMetricFile(file)).lines.toString("utf8").split("\n")) {
      if (line.trim() === "") continue;
      const fields = line.trim().split(" ");
      const [runId = ""] = fields.splice(3, 1);
      const point = parseMetricLine(key, fields.join(" "));
      if (typeof point === "string") throw invalid(`${file}: ${point}`);
      const group = `${point.datasetName ?? ""} ${point.datasetDigest ?? ""}`;
      const best = groups.get(group);
      if (best === undefined || isLaterPoint(point, best)) groups.set(group, { ...point, runId });
    }
    latest.push(...groups.values());
  }
  return latest;
}

/** Replaces a model's meta.yaml. */
export async function writeModel(folder: string, stored: StoredModel): Promise<void> {
  await replaceFile(join(folder, META), modelMeta(stored), folder);
}

/** Writes each of `values` to its file in the model's tags/ or params/. */
export async function writeModelKeys(
  folder: string,
  namespace: "tags" | "params",
  values: Record<string, string>,
) {
  for (const [key, value] of Object.entries(values)) {
    const file = prepareKeyFile(join(folder, namespace), namespace.slice(0, -1), key);
    await replaceFile(file, value, folder);
  }
}
