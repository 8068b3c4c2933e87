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

// The tracker: what training code uses.
export {
  getTracker,
  type RunRecord,
  type SearchRunsOptions,
  type StartRunOptions,
  Tracker,
  type TrackerOptions,
} from "./tracker/tracker.ts";
export { ActiveRun, type MetricOptions } from "./tracker/run.ts";
export type { BufferOptions } from "./tracker/buffer.ts";
export type { MetricComparison, ParamComparison, RunComparison } from "./tracker/compare.ts";

// Stores: where runs live.
export type {
  CreateRunOptions,
  SearchExperimentsRequest,
  SearchRunsRequest,
  TrackingStore,
  UpdateRunOptions,
} from "./store/store.ts";
export { openStore, type OpenStoreOptions } from "./store/open.ts";
export {
  FileStore,
  type FileStoreOptions,
  TreeError,
  type TreeProblem,
} from "./store/file/index.ts";
export { MemoryStore } from "./store/memory/index.ts";
export { RestStore } from "./store/rest/index.ts";

// Model registry: registered models, versions, tags, aliases, stages; models logged in runs.
export {
  type CreateModelVersionOptions,
  registryOf,
  MODEL_STAGES,
  type ModelStage,
  type ModelVersion,
  type RegisteredModel,
  type RegistrySearchRequest,
  type RegistryStore,
  type SearchModelVersionsResult,
  type SearchRegisteredModelsResult,
} from "./store/registry.ts";
export {
  type ColumnSpec,
  type LoggedModel,
  type LogModelOptions,
  type RegisterModelOptions,
  registerModel,
} from "./tracker/models.ts";

// Sync: copying runs between stores.
export {
  type RunOutcome,
  type RunPlan,
  type SyncIssue,
  type SyncOptions,
  type SyncProgress,
  type SyncReport,
  sync,
} from "./sync/index.ts";
export { type SyncWatcher, type WatchOptions, watchSync } from "./sync/watch.ts";

// Search.
export {
  type SearchExperimentsResult,
  type SearchQuery,
  type SearchRunsResult,
  searchExperiments,
  searchRuns,
} from "./search/index.ts";

// Data model, errors, configuration.
export type {
  Batch,
  Dataset,
  DatasetInput,
  Experiment,
  FileInfo,
  LifecycleStage,
  Metric,
  Run,
  RunData,
  RunInfo,
  RunStatus,
  ViewType,
} from "./entities.ts";
export { RUN_STATUSES, SYSTEM_TAGS } from "./entities.ts";
export { type ErrorCode, isMlflowError, MlflowError } from "./errors.ts";
export { type Config, type ConfigOptions, ENVIRONMENT_VARIABLES, resolveConfig } from "./config.ts";
export { type ParamValue, pyStr } from "./py-format.ts";

// Tree maintenance (the CLI's `verify` and `gc`).
export {
  type FixAction,
  type FixResult,
  fixTree,
  PROBLEM_CODES,
  type ProblemCode,
  type Severity,
  TEMP_FILE_GRACE_MS,
  type VerifyOptions,
  type VerifyProblem,
  type VerifyReport,
  verifyTree,
} from "./verify/index.ts";
export { applyGc, type GcItem, type GcOptions, type GcPlan, planGc } from "./gc.ts";
