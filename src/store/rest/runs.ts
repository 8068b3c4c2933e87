/**
 * RestStore's runs (index.ts): create, read, update, search, delete and restore, a run's tags
 * and inputs. Metric histories are metric-history.ts; batches log-batch.ts.
 */
import type { DatasetInput, Run, RunInfo, ViewType } from "../../entities.ts";
import type { SearchRunsResult } from "../../search/index.ts";
import {
  datasetInputToJson,
  type RunInfoJson,
  type RunJson,
  runFromJson,
  runInfoFromJson,
  tagsToJson,
} from "../../wire/tracking.ts";
import type { NewRun, RunUpdate } from "../checked-store.ts";
import type { SearchRunsRequest } from "../store.ts";
import type { RestClient } from "./client.ts";
import { allPages, callEndpoint, PAGE_SIZE } from "./endpoints.ts";

export async function createRun(client: RestClient, options: NewRun): Promise<Run> {
  const { experimentId, runName, userId, startTime, tags } = options;
  // The server stores an omitted start_time as 0 and an omitted user_id as "": send both.
  const response = await callEndpoint<{ run?: RunJson }>(client, "createRun", {
    json: {
      experiment_id: experimentId,
      run_name: runName,
      user_id: userId,
      start_time: startTime,
      tags: tagsToJson(tags),
    },
    retry: "unsent",
  });
  return runFromJson(response.run ?? {});
}

export async function getRun(client: RestClient, runId: string): Promise<Run> {
  const response = await callEndpoint<{ run?: RunJson }>(client, "getRun", {
    query: { run_id: runId },
  });
  return runFromJson(response.run ?? {});
}

export async function updateRun(
  client: RestClient,
  runId: string,
  update: RunUpdate,
): Promise<RunInfo> {
  const { status, endTime, runName } = update;
  const json: Record<string, unknown> = { run_id: runId };
  if (status !== undefined) json.status = status;
  // An omitted end_time leaves it unchanged; 0 is what the server reports as "no end time".
  if (endTime !== undefined) json.end_time = endTime ?? 0;
  if (runName !== undefined) json.run_name = runName;
  const response = await callEndpoint<{ run_info?: RunInfoJson }>(client, "updateRun", { json });
  const info = runInfoFromJson(response.run_info ?? {});
  // Older servers leave run_name out of run_info; the run's tag has it.
  if (info.runName === "") info.runName = (await getRun(client, runId)).info.runName;
  return info;
}

export async function deleteRun(client: RestClient, runId: string): Promise<void> {
  await callEndpoint(client, "deleteRun", { json: { run_id: runId } });
}

export async function restoreRun(client: RestClient, runId: string): Promise<void> {
  await callEndpoint(client, "restoreRun", { json: { run_id: runId } });
}

export async function listRuns(
  client: RestClient,
  experimentIds: string[],
  viewType: ViewType,
): Promise<Run[]> {
  if (experimentIds.length === 0) return [];
  return allPages(async (pageToken) => {
    const page = await searchRuns(client, {
      experimentIds,
      viewType,
      maxResults: PAGE_SIZE.runs,
      ...(pageToken === undefined ? {} : { pageToken }),
    });
    return { items: page.runs, next: page.nextPageToken };
  });
}

/** The server's own `search_runs`: the filter, order and paging are evaluated there. */
export async function searchRuns(
  client: RestClient,
  request: SearchRunsRequest,
): Promise<SearchRunsResult> {
  type Page = { runs?: RunJson[]; next_page_token?: string };
  const page = await callEndpoint<Page>(client, "searchRuns", {
    json: {
      experiment_ids: request.experimentIds,
      filter: request.filter ?? "",
      run_view_type: request.viewType ?? "ACTIVE_ONLY",
      max_results: request.maxResults ?? 1000,
      order_by: request.orderBy ?? [],
      page_token: request.pageToken,
    },
  });
  const result: SearchRunsResult = { runs: (page.runs ?? []).map(runFromJson) };
  if (page.next_page_token) result.nextPageToken = page.next_page_token;
  return result;
}

export async function deleteTag(client: RestClient, runId: string, key: string): Promise<void> {
  await callEndpoint(client, "deleteTag", { json: { run_id: runId, key } });
}

export async function logInputs(
  client: RestClient,
  runId: string,
  inputs: DatasetInput[],
): Promise<void> {
  if (inputs.length === 0) {
    await getRun(client, runId);
    return;
  }
  await callEndpoint(client, "logInputs", {
    json: { run_id: runId, datasets: inputs.map(datasetInputToJson) },
  });
}
