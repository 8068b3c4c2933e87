/**
 * MLflow 3's logged models: create, get, finalize, delete, tags, params, search and the
 * artifact listing, as `mlflow.<flavor>.log_model` calls them; and run outputs (`runs/outputs`).
 */

import { LOGGED_MODEL_STATUSES, type LoggedModelRecord } from "../../entities.ts";
import { notFound } from "../../errors.ts";
import type { LoggedModelStore } from "../../store/logged-models.ts";
import { loggedModelsOf, type TrackingStore } from "../../store/store.ts";
import { loggedModelToJson, STATUS_NAMES } from "../../wire/logged-models.ts";
import { fileInfoToJson } from "../../wire/tracking.ts";
import { modelArtifactUri } from "../artifact-uris.ts";
import {
  bool,
  int64,
  keyValue,
  message,
  oneOf,
  repeated,
  required,
  string,
  toRecord,
} from "../message.ts";
import type { Handler } from "../router.ts";
import { sendFile } from "./artifacts.ts";
import { readRun } from "./runs.ts";

const models = (store: TrackingStore): LoggedModelStore => loggedModelsOf(store);

/** A model as clients see it: its artifacts at the server's proxy. */
export function modelJson(model: LoggedModelRecord) {
  return loggedModelToJson({ ...model, artifactLocation: modelArtifactUri(model) });
}

const STATUS = oneOf(
  LOGGED_MODEL_STATUSES.map((s) => STATUS_NAMES[s]),
  0,
);
const statusOf = (name: string) =>
  LOGGED_MODEL_STATUSES.find((s) => STATUS_NAMES[s] === name) ?? "UNSPECIFIED";

export const createLoggedModel: Handler = async ({ read, store }) => {
  const m = await read({
    experiment_id: required(string),
    name: string,
    model_type: string,
    source_run_id: string,
    params: repeated(keyValue),
    tags: repeated(keyValue),
  });
  const model = await models(store).createLoggedModel({
    experimentId: m.experiment_id,
    ...(m.name ? { name: m.name } : {}),
    ...(m.model_type ? { modelType: m.model_type } : {}),
    ...(m.source_run_id ? { sourceRunId: m.source_run_id } : {}),
    params: toRecord(m.params),
    tags: toRecord(m.tags),
  });
  return { model: modelJson(model) };
};

export const getLoggedModel: Handler = async ({ params, query, store }) => {
  const allowDeleted = (query.get("allow_deleted") ?? "false").toLowerCase() === "true";
  const model = await models(store).getLoggedModel(params.model_id ?? "", { allowDeleted });
  return { model: modelJson(model) };
};

export const finalizeLoggedModel: Handler = async ({ params, read, store }) => {
  const m = await read({ model_id: string, status: required(STATUS) });
  const model = await models(store).finalizeLoggedModel(params.model_id ?? "", statusOf(m.status));
  return { model: modelJson(model) };
};

export const deleteLoggedModel: Handler = async ({ params, store }) => {
  await models(store).deleteLoggedModel(params.model_id ?? "");
  return {};
};

export const setLoggedModelTags: Handler = async ({ params, read, store }) => {
  const m = await read({ model_id: string, tags: repeated(keyValue) });
  await models(store).setLoggedModelTags(params.model_id ?? "", toRecord(m.tags));
  return {};
};

export const deleteLoggedModelTag: Handler = async ({ params, store }) => {
  await models(store).deleteLoggedModelTag(params.model_id ?? "", params.tag_key ?? "");
  return {};
};

export const logLoggedModelParams: Handler = async ({ params, read, store }) => {
  const m = await read({ model_id: string, params: repeated(keyValue) });
  await models(store).logLoggedModelParams(params.model_id ?? "", toRecord(m.params));
  return {};
};

export const searchLoggedModels: Handler = async ({ read, store }) => {
  const m = await read({
    experiment_ids: required(repeated(string)),
    filter: string,
    datasets: repeated(message({ dataset_name: required(string), dataset_digest: string })),
    max_results: int64,
    order_by: repeated(
      message({
        field_name: required(string),
        ascending: bool,
        dataset_name: string,
        dataset_digest: string,
      }),
    ),
    page_token: string,
  });
  const found = await models(store).searchLoggedModels({
    experimentIds: m.experiment_ids,
    ...(m.filter ? { filter: m.filter } : {}),
    ...(m.datasets?.length
      ? {
          datasets: m.datasets.map((d) => ({
            datasetName: d.dataset_name,
            ...(d.dataset_digest ? { datasetDigest: d.dataset_digest } : {}),
          })),
        }
      : {}),
    ...(m.max_results ? { maxResults: m.max_results } : {}),
    ...(m.order_by?.length
      ? {
          orderBy: m.order_by.map((o) => ({
            fieldName: o.field_name,
            ascending: o.ascending ?? true,
            ...(o.dataset_name ? { datasetName: o.dataset_name } : {}),
            ...(o.dataset_digest ? { datasetDigest: o.dataset_digest } : {}),
          })),
        }
      : {}),
    ...(m.page_token ? { pageToken: m.page_token } : {}),
  });
  return {
    ...(found.models.length > 0 ? { models: found.models.map(modelJson) } : {}),
    ...(found.nextPageToken ? { next_page_token: found.nextPageToken } : {}),
  };
};

/** `GET …/logged-models/<id>/artifacts/directories?artifact_directory_path=`. */
export const listLoggedModelArtifacts: Handler = async ({ params, read, store }) => {
  const m = await read({ artifact_directory_path: string });
  const modelId = params.model_id ?? "";
  const model = await models(store).getLoggedModel(modelId);
  const files = await models(store).listArtifacts(modelId, m.artifact_directory_path || undefined);
  return {
    root_uri: modelArtifactUri(model),
    ...(files.length > 0 ? { files: files.map(fileInfoToJson) } : {}),
  };
};

/** `GET …/logged-models/<id>/artifacts/files?artifact_file_path=`: one file, for MLflow's UI. */
export const getLoggedModelArtifact: Handler = async ({ params, query, res, store }) => {
  const path = query.get("artifact_file_path");
  if (!path) throw notFound('Request must include the "artifact_file_path" query parameter.');
  return sendFile(res, path, await models(store).openArtifact(params.model_id ?? "", path));
};

/** `POST runs/outputs`: the run made these models. */
export const logOutputs: Handler = async (ctx) => {
  const m = await readRun(ctx, {
    models: required(repeated(message({ model_id: required(string), step: int64 }))),
  });
  await models(ctx.store).logRunOutputs(
    m.runId,
    m.models.map((o) => ({ modelId: o.model_id, step: o.step ?? 0 })),
  );
  return {};
};
