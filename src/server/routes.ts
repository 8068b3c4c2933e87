/**
 * The route table: every endpoint the server answers, one handler each, in the order MLflow's
 * `service.proto` lists them. A path under `/api/` is also served under `/ajax-api/` (MLflow's UI
 * calls that prefix). `:name` matches one path segment, `*name` the rest of the path. A route
 * writes (and is refused by a read-only server, and from another origin) unless it is a GET or
 * says `writes: false`.
 */
import * as artifacts from "./handlers/artifacts.ts";
import * as experiments from "./handlers/experiments.ts";
import * as loggedModels from "./handlers/logged-models.ts";
import * as meta from "./handlers/meta.ts";
import * as metrics from "./handlers/metrics.ts";
import * as registry from "./handlers/registry.ts";
import * as runs from "./handlers/runs.ts";
import type { Route } from "./router.ts";
import { uiRoutes } from "./ui/index.ts";

const API = "/api/2.0/mlflow";
const PROXY = "/api/2.0/mlflow-artifacts/artifacts";
const MODELS = `${API}/registered-models`;
const VERSIONS = `${API}/model-versions`;
const LOGGED = `${API}/logged-models`;

export const routes: readonly Route[] = [
  { method: "GET", path: "/health", handler: meta.health },
  { method: "GET", path: "/version", handler: meta.version },
  { method: "GET", path: "/api/3.0/mlflow/server-info", handler: meta.serverInfo },

  { method: "POST", path: `${API}/experiments/create`, handler: experiments.createExperiment },
  { method: "GET", path: `${API}/experiments/get`, handler: experiments.getExperiment },
  {
    method: "GET",
    path: `${API}/experiments/get-by-name`,
    handler: experiments.getExperimentByName,
  },
  {
    method: "POST",
    path: `${API}/experiments/search`,
    handler: experiments.searchExperiments,
    writes: false,
  },
  { method: "GET", path: `${API}/experiments/search`, handler: experiments.searchExperiments },
  { method: "POST", path: `${API}/experiments/update`, handler: experiments.updateExperiment },
  { method: "POST", path: `${API}/experiments/delete`, handler: experiments.deleteExperiment },
  { method: "POST", path: `${API}/experiments/restore`, handler: experiments.restoreExperiment },
  {
    method: "POST",
    path: `${API}/experiments/set-experiment-tag`,
    handler: experiments.setExperimentTag,
  },
  {
    method: "POST",
    path: `${API}/experiments/delete-experiment-tag`,
    handler: experiments.deleteExperimentTag,
  },

  { method: "POST", path: `${API}/runs/create`, handler: runs.createRun },
  { method: "GET", path: `${API}/runs/get`, handler: runs.getRun },
  { method: "POST", path: `${API}/runs/update`, handler: runs.updateRun },
  { method: "POST", path: `${API}/runs/delete`, handler: runs.deleteRun },
  { method: "POST", path: `${API}/runs/restore`, handler: runs.restoreRun },
  { method: "POST", path: `${API}/runs/search`, handler: runs.searchRuns, writes: false },
  { method: "POST", path: `${API}/runs/log-metric`, handler: runs.logMetric },
  { method: "POST", path: `${API}/runs/log-parameter`, handler: runs.logParam },
  { method: "POST", path: `${API}/runs/set-tag`, handler: runs.setTag },
  { method: "POST", path: `${API}/runs/delete-tag`, handler: runs.deleteTag },
  { method: "POST", path: `${API}/runs/log-batch`, handler: runs.logBatch },
  { method: "POST", path: `${API}/runs/log-inputs`, handler: runs.logInputs, maxBody: 40 << 20 },
  { method: "POST", path: `${API}/runs/log-model`, handler: runs.logModel },

  { method: "POST", path: `${API}/runs/outputs`, handler: loggedModels.logOutputs },
  { method: "GET", path: `${API}/metrics/get-history`, handler: metrics.getMetricHistory },
  {
    method: "GET",
    path: `${API}/metrics/get-history-bulk-interval`,
    handler: metrics.getMetricHistoryBulkInterval,
  },

  { method: "GET", path: `${API}/artifacts/list`, handler: artifacts.listArtifacts },
  { method: "GET", path: "/get-artifact", handler: artifacts.getArtifact },
  { method: "GET", path: PROXY, handler: artifacts.listProxied },
  { method: "GET", path: `${PROXY}/*path`, handler: artifacts.downloadArtifact },
  { method: "PUT", path: `${PROXY}/*path`, handler: artifacts.uploadArtifact },
  { method: "DELETE", path: `${PROXY}/*path`, handler: artifacts.deleteArtifact },

  { method: "POST", path: LOGGED, handler: loggedModels.createLoggedModel },
  {
    method: "POST",
    path: `${LOGGED}/search`,
    handler: loggedModels.searchLoggedModels,
    writes: false,
  },
  { method: "GET", path: `${LOGGED}/:model_id`, handler: loggedModels.getLoggedModel },
  { method: "PATCH", path: `${LOGGED}/:model_id`, handler: loggedModels.finalizeLoggedModel },
  { method: "DELETE", path: `${LOGGED}/:model_id`, handler: loggedModels.deleteLoggedModel },
  { method: "PATCH", path: `${LOGGED}/:model_id/tags`, handler: loggedModels.setLoggedModelTags },
  {
    method: "DELETE",
    // The rest of the path: MLflow's client sends a key with '/' unencoded.
    path: `${LOGGED}/:model_id/tags/*tag_key`,
    handler: loggedModels.deleteLoggedModelTag,
  },
  {
    method: "POST",
    path: `${LOGGED}/:model_id/params`,
    handler: loggedModels.logLoggedModelParams,
  },
  {
    method: "GET",
    path: `${LOGGED}/:model_id/artifacts/directories`,
    handler: loggedModels.listLoggedModelArtifacts,
  },
  {
    method: "GET",
    path: `${LOGGED}/:model_id/artifacts/files`,
    handler: loggedModels.getLoggedModelArtifact,
  },

  { method: "POST", path: `${MODELS}/create`, handler: registry.createRegisteredModel },
  { method: "GET", path: `${MODELS}/get`, handler: registry.getRegisteredModel },
  { method: "POST", path: `${MODELS}/rename`, handler: registry.renameRegisteredModel },
  { method: "PATCH", path: `${MODELS}/update`, handler: registry.updateRegisteredModel },
  { method: "DELETE", path: `${MODELS}/delete`, handler: registry.deleteRegisteredModel },
  { method: "GET", path: `${MODELS}/search`, handler: registry.searchRegisteredModels },
  {
    method: "POST",
    path: `${MODELS}/get-latest-versions`,
    handler: registry.getLatestVersions,
    writes: false,
  },
  { method: "GET", path: `${MODELS}/get-latest-versions`, handler: registry.getLatestVersions },
  { method: "POST", path: `${MODELS}/set-tag`, handler: registry.setRegisteredModelTag },
  { method: "DELETE", path: `${MODELS}/delete-tag`, handler: registry.deleteRegisteredModelTag },
  { method: "POST", path: `${MODELS}/alias`, handler: registry.setAlias },
  { method: "DELETE", path: `${MODELS}/alias`, handler: registry.deleteAlias },
  { method: "GET", path: `${MODELS}/alias`, handler: registry.getByAlias },
  { method: "POST", path: `${VERSIONS}/create`, handler: registry.createModelVersion },
  { method: "GET", path: `${VERSIONS}/get`, handler: registry.getModelVersion },
  { method: "PATCH", path: `${VERSIONS}/update`, handler: registry.updateModelVersion },
  { method: "DELETE", path: `${VERSIONS}/delete`, handler: registry.deleteModelVersion },
  { method: "POST", path: `${VERSIONS}/transition-stage`, handler: registry.transitionStage },
  { method: "GET", path: `${VERSIONS}/search`, handler: registry.searchModelVersions },
  { method: "POST", path: `${VERSIONS}/set-tag`, handler: registry.setModelVersionTag },
  { method: "DELETE", path: `${VERSIONS}/delete-tag`, handler: registry.deleteModelVersionTag },
  { method: "GET", path: `${VERSIONS}/get-download-uri`, handler: registry.getDownloadUri },

  // The web UI (`startServer({ ui: true })`): its page, assets and endpoints. Last, so every
  // MLflow path is matched first.
  ...uiRoutes,
];
