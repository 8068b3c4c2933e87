/**
 * mlruns: local-first experiment tracking in MLflow's `mlruns` format.
 *
 * @example
 * ```ts
 * import { getTracker } from "mlruns";
 * const tracker = await getTracker({ experimentName: "iris" });
 * await tracker.withRun("baseline", {}, async (run) => {
 *   await run.logParams({ lr: 0.1 });
 *   for (let step = 0; step < 10; step++) run.logMetric("loss", 1 / (step + 1), { step });
 * });
 * ```
 * @module
 */

// Bundles: runs carried as one file across an air gap.
export {
  type BundleInput,
  type ExportIssue,
  type ExportOptions,
  type ExportReport,
  exportBundle,
  type ImportIssue,
  type ImportOptions,
  type ImportOutcome,
  type ImportReport,
  importBundle,
  type KeyInput,
  type SyncBundleOptions,
  syncBundle,
} from "./bundle/index.ts";
// Configuration: the MLFLOW_* environment variables.
export {
  type Config,
  type ConfigOptions,
  ENVIRONMENT_VARIABLES,
  type HttpConfig,
  type RetryNotice,
  resolveConfig,
} from "./config.ts";
// The data model and its errors.
export type {
  ArtifactData,
  ArtifactStream,
  Batch,
  Dataset,
  DatasetInput,
  Experiment,
  FileInfo,
  LifecycleStage,
  Metric,
  ModelStage,
  ModelVersion,
  RegisteredModel,
  Run,
  RunData,
  RunInfo,
  RunStatus,
  ViewType,
} from "./entities.ts";
export { MODEL_STAGES, RUN_STATUSES, SYSTEM_TAGS } from "./entities.ts";
export { type ErrorCode, isMlflowError, MlflowError } from "./errors.ts";
// Tree maintenance (the CLI's `gc`; `verify` below).
export { applyGc, type GcItem, type GcOptions, type GcPlan, planGc } from "./gc.ts";
// What the CLI needs beside the library (it imports nothing else): credentials kept out of what
// it prints, the server running over a tree (`findServer`), which URIs are local trees.
export { redactCredentials, redactUrl } from "./redact.ts";
// Search.
export {
  type SearchExperimentsResult,
  type SearchQuery,
  type SearchRunsResult,
  searchExperiments,
  searchRuns,
} from "./search/index.ts";
export type {
  RegistrySearchRequest,
  SearchModelVersionsResult,
  SearchRegisteredModelsResult,
} from "./search/registry.ts";
export { findServer } from "./server/discovery.ts";
// The server: MLflow's REST API over a tree.
export {
  type Credentials,
  type RunningServer,
  type ServerOptions,
  startServer,
} from "./server/index.ts";
// Stores: where runs live; the contract they keep is below.
export {
  FileStore,
  type FileStoreOptions,
  TreeError,
  type TreeProblem,
} from "./store/file/index.ts";
export { historyPages } from "./store/history-pages.ts";
export { MemoryStore } from "./store/memory/index.ts";
export { localTreePath, type OpenStoreOptions, openStore } from "./store/open.ts";
// Model registry: registered models, versions, tags, aliases, stages; models logged in runs.
export type { CreateModelVersionOptions, RegistryStore } from "./store/registry.ts";
export { RestStore } from "./store/rest/index.ts";
export {
  type CreateRunOptions,
  type HistoryPageRequest,
  type MetricHistoryPage,
  registryOf,
  type SearchExperimentsRequest,
  type SearchRunsRequest,
  type SyncRunWriter,
  type TrackingStore,
  type UpdateRunOptions,
} from "./store/store.ts";
// Sync: copying runs between stores.
export {
  type RunOutcome,
  type RunPlan,
  type SyncedRun,
  type SyncIssue,
  type SyncReport,
  sync,
} from "./sync/index.ts";
export type { SyncOptions, SyncProgress } from "./sync/options.ts";
export type { PendingRun } from "./sync/pending.ts";
export type { DrainResult, PushState } from "./sync/pusher.ts";
export { type SyncWatcher, type WatchOptions, watchSync } from "./sync/watch.ts";
// The tracker: what training code uses.
export type { BufferOptions } from "./tracker/buffer.ts";
export type { MetricComparison, ParamComparison, RunComparison } from "./tracker/compare.ts";
export {
  type ColumnSpec,
  type LoggedModel,
  type LogModelOptions,
  type RegisterModelOptions,
  registerModel,
} from "./tracker/models.ts";
export { ActiveRun, type MetricOptions } from "./tracker/run.ts";
export {
  getTracker,
  type RunRecord,
  type SearchRunsOptions,
  type StartRunOptions,
  Tracker,
  type TrackerOptions,
} from "./tracker/tracker.ts";
// Tree maintenance (the CLI's `verify`).
export {
  type FixAction,
  type FixResult,
  fixTree,
  PROBLEM_CODES,
  type ProblemCode,
  type Severity,
  type VerifyOptions,
  type VerifyProblem,
  type VerifyReport,
  verifyTree,
} from "./verify/index.ts";
