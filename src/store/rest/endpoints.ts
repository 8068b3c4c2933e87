/**
 * The REST 2.0 endpoints the RestStore calls: method and path under the server's base URL, in
 * one table (as MLflow's own RestStore keeps them). Request and response shapes are in
 * `src/wire/tracking.ts`; limits for log-batch in `batch.ts`.
 */
import type { HttpMethod } from "../../http-transport.ts";
import type { CallOptions, RestClient } from "./client.ts";

const API = "/api/2.0/mlflow";

export const ENDPOINTS = {
  createExperiment: ["POST", `${API}/experiments/create`],
  getExperiment: ["GET", `${API}/experiments/get`],
  getExperimentByName: ["GET", `${API}/experiments/get-by-name`],
  searchExperiments: ["POST", `${API}/experiments/search`],
  updateExperiment: ["POST", `${API}/experiments/update`],
  setExperimentTag: ["POST", `${API}/experiments/set-experiment-tag`],
  /** MLflow 3 only; a 2.x server answers 404 with an HTML page. */
  deleteExperimentTag: ["POST", `${API}/experiments/delete-experiment-tag`],
  deleteExperiment: ["POST", `${API}/experiments/delete`],
  restoreExperiment: ["POST", `${API}/experiments/restore`],

  createRun: ["POST", `${API}/runs/create`],
  getRun: ["GET", `${API}/runs/get`],
  updateRun: ["POST", `${API}/runs/update`],
  deleteRun: ["POST", `${API}/runs/delete`],
  restoreRun: ["POST", `${API}/runs/restore`],
  searchRuns: ["POST", `${API}/runs/search`],
  logBatch: ["POST", `${API}/runs/log-batch`],
  deleteTag: ["POST", `${API}/runs/delete-tag`],
  logInputs: ["POST", `${API}/runs/log-inputs`],
  /** MLflow 3 only: the logged models a run made. */
  logOutputs: ["POST", `${API}/runs/outputs`],
  getMetricHistory: ["GET", `${API}/metrics/get-history`],
  /** Sampled history for charts, at most 100 runs a request; MLflow 2 serves it under /ajax-api only. */
  getMetricHistorySampled: ["GET", "/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval"],

  /** Run-scoped listing: paths relative to the run's artifact root. */
  listArtifacts: ["GET", `${API}/artifacts/list`],
} as const satisfies Record<string, readonly [HttpMethod, string]>;

export type Endpoint = keyof typeof ENDPOINTS;

/** One call to a tracking endpoint, its JSON answer parsed. */
export function callEndpoint<T>(
  client: RestClient,
  endpoint: Endpoint,
  options: CallOptions = {},
): Promise<T> {
  const [method, path] = ENDPOINTS[endpoint];
  return client.json<T>(method, path, options);
}

/** The server's MLflow version, from `/version` (plain text). */
export async function serverVersion(client: RestClient): Promise<string> {
  const response = await client.send("GET", "/version", { retry: "unsent" });
  return response.body.toString("utf8").trim();
}

/** MLflow 3's logged models (`<base>/<model id>`, `…/tags`, `…/params`, `…/search`); 2.x lacks them. */
export const LOGGED_MODELS = `${API}/logged-models`;

/** The model registry (REST 2.0 registered-models / model-versions, aliases). */
export const REGISTRY_ENDPOINTS = {
  createRegisteredModel: ["POST", `${API}/registered-models/create`],
  getRegisteredModel: ["GET", `${API}/registered-models/get`],
  searchRegisteredModels: ["GET", `${API}/registered-models/search`],
  renameRegisteredModel: ["POST", `${API}/registered-models/rename`],
  updateRegisteredModel: ["PATCH", `${API}/registered-models/update`],
  deleteRegisteredModel: ["DELETE", `${API}/registered-models/delete`],
  setRegisteredModelTag: ["POST", `${API}/registered-models/set-tag`],
  deleteRegisteredModelTag: ["DELETE", `${API}/registered-models/delete-tag`],
  setAlias: ["POST", `${API}/registered-models/alias`],
  deleteAlias: ["DELETE", `${API}/registered-models/alias`],
  getByAlias: ["GET", `${API}/registered-models/alias`],

  createModelVersion: ["POST", `${API}/model-versions/create`],
  getModelVersion: ["GET", `${API}/model-versions/get`],
  updateModelVersion: ["PATCH", `${API}/model-versions/update`],
  deleteModelVersion: ["DELETE", `${API}/model-versions/delete`],
  searchModelVersions: ["GET", `${API}/model-versions/search`],
  setModelVersionTag: ["POST", `${API}/model-versions/set-tag`],
  deleteModelVersionTag: ["DELETE", `${API}/model-versions/delete-tag`],
  transitionStage: ["POST", `${API}/model-versions/transition-stage`],
  getDownloadUri: ["GET", `${API}/model-versions/get-download-uri`],
} as const satisfies Record<string, readonly [HttpMethod, string]>;

export type RegistryEndpoint = keyof typeof REGISTRY_ENDPOINTS;

/** The artifact proxy (`mlflow server --serve-artifacts`): PUT uploads, GET downloads. */
export const ARTIFACT_PROXY = "/api/2.0/mlflow-artifacts/artifacts";

/** Page sizes: the largest the servers accept without complaint. */
export const PAGE_SIZE = {
  experiments: 1000,
  runs: 1000,
  /** Always sent: before MLflow 3.14 an omitted max_results returned no metrics at all. */
  metricHistory: 25000,
} as const;

/** Follows `next_page_token` to the last page and returns every page's items in order. */
export async function allPages<T>(
  fetchPage: (pageToken: string | undefined) => Promise<{ items?: T[]; next?: string }>,
): Promise<T[]> {
  const items: T[] = [];
  let pageToken: string | undefined;
  do {
    const page = await fetchPage(pageToken);
    items.push(...(page.items ?? []));
    pageToken = page.next || undefined;
  } while (pageToken !== undefined);
  return items;
}
