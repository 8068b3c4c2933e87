/**
 * RestStore's experiments (index.ts): one endpoint a method, and a name already taken worded as
 * every store words it, whatever the server's backend says.
 */
import type { Experiment, ViewType } from "../../entities.ts";
import { isMlflowError, MlflowError } from "../../errors.ts";
import type { SearchExperimentsResult } from "../../search/index.ts";
import { type ExperimentJson, experimentFromJson, tagsToJson } from "../../wire/tracking.ts";
import type { NewExperiment } from "../checked-store.ts";
import { experimentExists } from "../checks.ts";
import type { SearchExperimentsRequest } from "../store.ts";
import type { RestClient } from "./client.ts";
import { allPages, callEndpoint, PAGE_SIZE, serverVersion } from "./endpoints.ts";

export async function createExperiment(
  client: RestClient,
  name: string,
  options: NewExperiment,
): Promise<string> {
  const json: Record<string, unknown> = { name, tags: tagsToJson(options.tags) };
  if (options.artifactLocation) json.artifact_location = options.artifactLocation;
  try {
    // Not retried once sent: a lost answer would make the retry fail as a duplicate name.
    const response = await callEndpoint<{ experiment_id?: string }>(client, "createExperiment", {
      json,
      retry: "unsent",
    });
    return String(response.experiment_id);
  } catch (error) {
    // Worded as every store words it (the server's wording depends on its backend).
    if (!isMlflowError(error, "RESOURCE_ALREADY_EXISTS")) throw error;
    const holder = await getExperimentByName(client, name).catch(() => null);
    if (holder === null) throw error;
    throw experimentExists(name, holder, error);
  }
}

export async function getExperiment(client: RestClient, experimentId: string): Promise<Experiment> {
  const response = await callEndpoint<{ experiment?: ExperimentJson }>(client, "getExperiment", {
    query: { experiment_id: experimentId },
  });
  return experimentFromJson(response.experiment ?? {});
}

export async function getExperimentByName(
  client: RestClient,
  name: string,
): Promise<Experiment | null> {
  try {
    const response = await callEndpoint<{ experiment?: ExperimentJson }>(
      client,
      "getExperimentByName",
      { query: { experiment_name: name } },
    );
    return experimentFromJson(response.experiment ?? {});
  } catch (error) {
    if (isMlflowError(error, "RESOURCE_DOES_NOT_EXIST")) return null;
    throw error;
  }
}

export async function listExperiments(
  client: RestClient,
  viewType: ViewType,
): Promise<Experiment[]> {
  return allPages(async (pageToken) => {
    const page = await searchExperiments(client, {
      viewType,
      maxResults: PAGE_SIZE.experiments,
      ...(pageToken === undefined ? {} : { pageToken }),
    });
    return { items: page.experiments, next: page.nextPageToken };
  });
}

/** The server's own `search_experiments`. */
export async function searchExperiments(
  client: RestClient,
  request: SearchExperimentsRequest,
): Promise<SearchExperimentsResult> {
  type Page = { experiments?: ExperimentJson[]; next_page_token?: string };
  const page = await callEndpoint<Page>(client, "searchExperiments", {
    json: {
      view_type: request.viewType ?? "ACTIVE_ONLY",
      max_results: request.maxResults ?? 1000,
      filter: request.filter ?? "",
      order_by: request.orderBy ?? [],
      page_token: request.pageToken,
    },
  });
  const result: SearchExperimentsResult = {
    experiments: (page.experiments ?? []).map(experimentFromJson),
  };
  if (page.next_page_token) result.nextPageToken = page.next_page_token;
  return result;
}

export async function renameExperiment(
  client: RestClient,
  experimentId: string,
  newName: string,
): Promise<void> {
  try {
    await callEndpoint(client, "updateExperiment", {
      json: { experiment_id: experimentId, new_name: newName },
    });
  } catch (error) {
    // The SQL store reports a taken name as a bare unique-constraint failure (BAD_REQUEST);
    // other servers word RESOURCE_ALREADY_EXISTS their own way.
    const taken =
      isMlflowError(error, "BAD_REQUEST") || isMlflowError(error, "RESOURCE_ALREADY_EXISTS");
    if (!taken) throw error;
    const holder = await getExperimentByName(client, newName).catch(() => null);
    if (holder === null || holder.experimentId === experimentId) throw error;
    throw experimentExists(newName, holder, error);
  }
}

export async function setExperimentTag(
  client: RestClient,
  experimentId: string,
  key: string,
  value: string,
): Promise<void> {
  await callEndpoint(client, "setExperimentTag", {
    json: { experiment_id: experimentId, key, value },
  });
}

export async function deleteExperimentTag(
  client: RestClient,
  experimentId: string,
  key: string,
): Promise<void> {
  try {
    await callEndpoint(client, "deleteExperimentTag", {
      json: { experiment_id: experimentId, key },
    });
  } catch (error) {
    if (!isMlflowError(error, "ENDPOINT_NOT_FOUND")) throw error;
    const version = await serverVersion(client).catch(() => "unknown");
    throw new MlflowError(
      "ENDPOINT_NOT_FOUND",
      `The MLflow server at ${client.url} (version ${version}) cannot delete experiment tags: ` +
        "it has no experiments/delete-experiment-tag endpoint (MLflow 2.x servers lack it; MLflow 3 has it)",
      {
        cause: error,
        hint: "Upgrade the server to MLflow 3, or set the tag to an empty value instead.",
      },
    );
  }
}

export async function deleteExperiment(client: RestClient, experimentId: string): Promise<void> {
  await callEndpoint(client, "deleteExperiment", { json: { experiment_id: experimentId } });
}

export async function restoreExperiment(client: RestClient, experimentId: string): Promise<void> {
  await callEndpoint(client, "restoreExperiment", { json: { experiment_id: experimentId } });
}
