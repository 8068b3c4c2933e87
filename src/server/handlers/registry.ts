/**
 * The model registry: registered models, versions, tags, aliases, stages, searches and download
 * URIs, as MLflow's registry endpoints answer them.
 */
import { invalid } from "../../errors.ts";
import type { RegistryStore } from "../../store/registry.ts";
import { registryOf, type TrackingStore } from "../../store/store.ts";
import { modelToJson, versionToJson } from "../../wire/registry.ts";
import { bool, int64, keyValue, repeated, required, string, toRecord } from "../message.ts";
import { checkVersionSource, clientDownloadUri, tagModelVersions } from "../model-sources.ts";
import type { Handler } from "../router.ts";

const NAME = { name: required(string) };
const VERSION = { ...NAME, version: required(string) };
const registry = (store: TrackingStore): RegistryStore => registryOf(store);

export const createRegisteredModel: Handler = async ({ read, store }) => {
  const m = await read({ ...NAME, tags: repeated(keyValue), description: string });
  const model = await registry(store).createRegisteredModel(m.name, {
    tags: toRecord(m.tags),
    ...(m.description ? { description: m.description } : {}),
  });
  return { registered_model: modelToJson(model) };
};

export const getRegisteredModel: Handler = async ({ read, store }) => {
  const { name } = await read(NAME);
  return { registered_model: modelToJson(await registry(store).getRegisteredModel(name)) };
};

export const renameRegisteredModel: Handler = async ({ read, store }) => {
  const m = await read({ ...NAME, new_name: required(string) });
  return {
    registered_model: modelToJson(await registry(store).renameRegisteredModel(m.name, m.new_name)),
  };
};

export const updateRegisteredModel: Handler = async ({ read, store }) => {
  const m = await read({ ...NAME, description: string });
  const model = await registry(store).updateRegisteredModel(m.name, {
    description: m.description ?? "",
  });
  return { registered_model: modelToJson(model) };
};

export const deleteRegisteredModel: Handler = async ({ read, store }) => {
  await registry(store).deleteRegisteredModel((await read(NAME)).name);
  return {};
};

const SEARCH = {
  filter: string,
  max_results: int64,
  order_by: repeated(string),
  page_token: string,
};

function searchRequest(m: {
  filter?: string | undefined;
  max_results?: number | undefined;
  order_by?: string[] | undefined;
  page_token?: string | undefined;
}) {
  return {
    ...(m.filter ? { filter: m.filter } : {}),
    ...(m.max_results !== undefined ? { maxResults: m.max_results } : {}),
    ...(m.order_by?.length ? { orderBy: m.order_by } : {}),
    ...(m.page_token ? { pageToken: m.page_token } : {}),
  };
}

export const searchRegisteredModels: Handler = async ({ read, store }) => {
  const m = await read(SEARCH);
  if (m.max_results !== undefined && m.max_results > 1000) {
    throw invalid(`Invalid value ${m.max_results} for parameter 'max_results' supplied.`);
  }
  const found = await registry(store).searchRegisteredModels(searchRequest(m));
  return {
    ...(found.models.length > 0 ? { registered_models: found.models.map(modelToJson) } : {}),
    ...(found.nextPageToken ? { next_page_token: found.nextPageToken } : {}),
  };
};

export const getLatestVersions: Handler = async ({ read, store }) => {
  const m = await read({ ...NAME, stages: repeated(string) });
  const stages = new Set((m.stages ?? []).map((s) => s.toLowerCase()));
  const { latestVersions } = await registry(store).getRegisteredModel(m.name);
  const versions = latestVersions.filter(
    (v) => stages.size === 0 || stages.has(v.currentStage.toLowerCase()),
  );
  return versions.length > 0 ? { model_versions: versions.map(versionToJson) } : {};
};

export const setRegisteredModelTag: Handler = async ({ read, store }) => {
  const m = await read({ ...NAME, key: required(string), value: string });
  await registry(store).setRegisteredModelTag(m.name, m.key, m.value ?? "");
  return {};
};

export const deleteRegisteredModelTag: Handler = async ({ read, store }) => {
  const m = await read({ ...NAME, key: required(string) });
  await registry(store).deleteRegisteredModelTag(m.name, m.key);
  return {};
};

export const createModelVersion: Handler = async ({ read, store }) => {
  const m = await read({
    ...NAME,
    source: required(string),
    run_id: string,
    tags: repeated(keyValue),
    run_link: string,
    description: string,
    model_id: string,
  });
  const tags = toRecord(m.tags);
  const { storageLocation, runId } = await checkVersionSource(store, {
    source: m.source,
    runId: m.run_id,
    modelId: m.model_id,
    tags,
  });
  const version = await registry(store).createModelVersion({
    name: m.name,
    source: m.source,
    tags,
    ...(runId ? { runId } : {}),
    ...(m.run_link ? { runLink: m.run_link } : {}),
    ...(m.description ? { description: m.description } : {}),
    ...(m.model_id ? { modelId: m.model_id } : {}),
    ...(storageLocation !== undefined ? { storageLocation } : {}),
  });
  if (m.model_id) await tagModelVersions(store, m.model_id, version);
  return { model_version: versionToJson(version) };
};

export const getModelVersion: Handler = async ({ read, store }) => {
  const m = await read(VERSION);
  return { model_version: versionToJson(await registry(store).getModelVersion(m.name, m.version)) };
};

export const updateModelVersion: Handler = async ({ read, store }) => {
  const m = await read({ ...VERSION, description: string });
  const version = await registry(store).updateModelVersion(m.name, m.version, {
    description: m.description ?? "",
  });
  return { model_version: versionToJson(version) };
};

export const deleteModelVersion: Handler = async ({ read, store }) => {
  const m = await read(VERSION);
  await registry(store).deleteModelVersion(m.name, m.version);
  return {};
};

export const transitionStage: Handler = async ({ read, store }) => {
  const m = await read({
    ...VERSION,
    stage: required(string),
    archive_existing_versions: bool,
  });
  const version = await registry(store).transitionModelVersionStage(
    m.name,
    m.version,
    m.stage,
    m.archive_existing_versions ?? false,
  );
  return { model_version: versionToJson(version) };
};

export const searchModelVersions: Handler = async ({ read, store }) => {
  const m = await read(SEARCH);
  if (m.max_results !== undefined && m.max_results > 200_000) {
    throw invalid(`Invalid value ${m.max_results} for parameter 'max_results' supplied.`);
  }
  const found = await registry(store).searchModelVersions(searchRequest(m));
  return {
    ...(found.versions.length > 0 ? { model_versions: found.versions.map(versionToJson) } : {}),
    ...(found.nextPageToken ? { next_page_token: found.nextPageToken } : {}),
  };
};

export const setModelVersionTag: Handler = async ({ read, store }) => {
  const m = await read({ ...VERSION, key: required(string), value: string });
  await registry(store).setModelVersionTag(m.name, m.version, m.key, m.value ?? "");
  return {};
};

export const deleteModelVersionTag: Handler = async ({ read, store }) => {
  const m = await read({ ...VERSION, key: required(string) });
  await registry(store).deleteModelVersionTag(m.name, m.version, m.key);
  return {};
};

export const getDownloadUri: Handler = async ({ read, store }) => {
  const m = await read(VERSION);
  const models = registry(store);
  const [version, location] = await Promise.all([
    models.getModelVersion(m.name, m.version),
    models.getModelVersionDownloadUri(m.name, m.version),
  ]);
  return { artifact_uri: await clientDownloadUri(store, version, location) };
};

export const setAlias: Handler = async ({ read, store }) => {
  const m = await read({ ...NAME, alias: required(string), version: required(string) });
  await registry(store).setRegisteredModelAlias(m.name, m.alias, m.version);
  return {};
};

export const deleteAlias: Handler = async ({ read, store }) => {
  const m = await read({ ...NAME, alias: required(string) });
  await registry(store).deleteRegisteredModelAlias(m.name, m.alias);
  return {};
};

export const getByAlias: Handler = async ({ read, store }) => {
  const m = await read({ ...NAME, alias: required(string) });
  const version = await registry(store).getModelVersionByAlias(m.name, m.alias);
  return { model_version: versionToJson(version) };
};
