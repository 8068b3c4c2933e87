/** Experiments: create, get, get by name, search, rename, delete, restore, tags. */

import type { Experiment, ViewType } from "../../entities.ts";
import { invalid, notFound } from "../../errors.ts";
import { experimentToJson } from "../../wire/tracking.ts";
import { experimentArtifactLocation, PROXY_SCHEME } from "../artifact-uris.ts";
import { int64, keyValue, oneOf, repeated, required, string, toRecord } from "../message.ts";
import type { Handler } from "../router.ts";

export const VIEW_TYPES = ["ACTIVE_ONLY", "DELETED_ONLY", "ALL"] as const satisfies ViewType[];

/** An experiment as clients see it: with its artifact location at the server's proxy. */
export function experimentJson(experiment: Experiment) {
  return experimentToJson({
    ...experiment,
    artifactLocation: experimentArtifactLocation(experiment),
  });
}

const ID = { experiment_id: required(string) };

export const createExperiment: Handler = async ({ read, store }) => {
  const message = await read({
    name: required(string),
    artifact_location: string,
    tags: repeated(keyValue),
  });
  if (message.artifact_location?.startsWith(PROXY_SCHEME)) {
    throw invalid(
      `Invalid artifact_location '${message.artifact_location}': this server keeps artifacts in its tree`,
      "Create the experiment without artifact_location (its artifacts then go through the server), or give a file: location",
    );
  }
  const experimentId = await store.createExperiment(message.name, {
    ...(message.artifact_location ? { artifactLocation: message.artifact_location } : {}),
    tags: toRecord(message.tags),
  });
  return { experiment_id: experimentId };
};

export const getExperiment: Handler = async ({ read, store }) => {
  const { experiment_id } = await read(ID);
  return { experiment: experimentJson(await store.getExperiment(experiment_id)) };
};

export const getExperimentByName: Handler = async ({ read, store }) => {
  const { experiment_name } = await read({ experiment_name: required(string) });
  const experiment = await store.getExperimentByName(experiment_name);
  if (experiment === null) {
    throw notFound(`Could not find experiment with name '${experiment_name}'`);
  }
  return { experiment: experimentJson(experiment) };
};

export const searchExperiments: Handler = async ({ read, store }) => {
  const message = await read({
    max_results: int64,
    page_token: string,
    filter: string,
    order_by: repeated(string),
    view_type: oneOf(VIEW_TYPES),
  });
  const found = await store.searchExperiments({
    viewType: message.view_type ?? "ACTIVE_ONLY",
    maxResults: message.max_results,
    filter: message.filter,
    orderBy: message.order_by,
    pageToken: message.page_token || undefined,
  });
  return {
    ...(found.experiments.length > 0 ? { experiments: found.experiments.map(experimentJson) } : {}),
    ...(found.nextPageToken ? { next_page_token: found.nextPageToken } : {}),
  };
};

export const updateExperiment: Handler = async ({ read, store }) => {
  const { experiment_id, new_name } = await read({ ...ID, new_name: required(string) });
  await store.renameExperiment(experiment_id, new_name);
  return {};
};

export const deleteExperiment: Handler = async ({ read, store }) => {
  await store.deleteExperiment((await read(ID)).experiment_id);
  return {};
};

export const restoreExperiment: Handler = async ({ read, store }) => {
  await store.restoreExperiment((await read(ID)).experiment_id);
  return {};
};

export const setExperimentTag: Handler = async ({ read, store }) => {
  const message = await read({ ...ID, key: required(string), value: string });
  await store.setExperimentTag(message.experiment_id, message.key, message.value ?? "");
  return {};
};

export const deleteExperimentTag: Handler = async ({ read, store }) => {
  const message = await read({ ...ID, key: required(string) });
  await store.deleteExperimentTag(message.experiment_id, message.key);
  return {};
};
