/** MLflow 3's logged model JSON (`LoggedModel.to_proto`, then `message_to_json`). */

import {
  LOGGED_MODEL_STATUSES,
  type LoggedModelRecord,
  type LoggedModelStatus,
} from "../entities.ts";
import {
  type KeyValueJson,
  type MetricJson,
  metricFromJson,
  metricToJson,
  tagsFromJson,
  tagsToJson,
} from "./tracking.ts";

/** The proto enum names of the statuses, by our names. */
export const STATUS_NAMES: Record<LoggedModelStatus, string> = {
  UNSPECIFIED: "LOGGED_MODEL_STATUS_UNSPECIFIED",
  PENDING: "LOGGED_MODEL_PENDING",
  READY: "LOGGED_MODEL_READY",
  FAILED: "LOGGED_MODEL_UPLOAD_FAILED",
};

export interface LoggedModelJson {
  info: {
    experiment_id: string;
    model_id: string;
    name: string;
    artifact_uri: string;
    creation_timestamp_ms: number | string;
    last_updated_timestamp_ms: number | string;
    model_type?: string;
    source_run_id?: string;
    status: string;
    status_message?: string;
    tags?: KeyValueJson[];
  };
  data: { params?: KeyValueJson[]; metrics?: MetricJson[] };
}

export function loggedModelToJson(model: LoggedModelRecord): LoggedModelJson {
  const info: LoggedModelJson["info"] = {
    experiment_id: model.experimentId,
    model_id: model.modelId,
    name: model.name,
    artifact_uri: model.artifactLocation,
    creation_timestamp_ms: model.creationTimestamp,
    last_updated_timestamp_ms: model.lastUpdatedTimestamp,
    status: STATUS_NAMES[model.status],
  };
  if (model.modelType !== null) info.model_type = model.modelType;
  if (model.sourceRunId !== null) info.source_run_id = model.sourceRunId;
  if (model.statusMessage !== null) info.status_message = model.statusMessage;
  const tags = tagsToJson(model.tags);
  if (tags.length > 0) info.tags = tags;
  const data: LoggedModelJson["data"] = {};
  const params = tagsToJson(model.params);
  if (params.length > 0) data.params = params;
  if (model.metrics.length > 0) {
    data.metrics = model.metrics.map(({ runId, ...metric }) => ({
      ...metricToJson(metric),
      model_id: model.modelId,
      run_id: runId,
    }));
  }
  return { info, data };
}

/** A model as a server answers it (int64 fields may come as strings). */
export function loggedModelFromJson(json: Partial<LoggedModelJson>): LoggedModelRecord {
  const info: Partial<LoggedModelJson["info"]> = json.info ?? {};
  return {
    modelId: info.model_id ?? "",
    experimentId: info.experiment_id ?? "",
    name: info.name ?? "",
    artifactLocation: info.artifact_uri ?? "",
    creationTimestamp: Number(info.creation_timestamp_ms ?? 0),
    lastUpdatedTimestamp: Number(info.last_updated_timestamp_ms ?? 0),
    modelType: info.model_type || null,
    sourceRunId: info.source_run_id || null,
    status: LOGGED_MODEL_STATUSES.find((s) => STATUS_NAMES[s] === info.status) ?? "UNSPECIFIED",
    statusMessage: info.status_message || null,
    tags: tagsFromJson(info.tags),
    params: tagsFromJson(json.data?.params),
    metrics: (json.data?.metrics ?? []).map((m) => ({
      ...metricFromJson(m),
      runId: m.run_id ?? "",
    })),
  };
}
