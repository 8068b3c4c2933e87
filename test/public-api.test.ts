/**
 * The public API, chosen and pinned: what `import … from "mlruns"` offers. A name added or
 * removed here is a change to what users can rely on, made on purpose (README, Library).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as api from "mlruns";
import ts from "typescript";
import { describe, expect, it } from "vitest";

/** Values: classes, functions and constants. */
const VALUES = [
  "ActiveRun",
  "ENVIRONMENT_VARIABLES",
  "FileStore",
  "MODEL_STAGES",
  "MemoryStore",
  "MlflowError",
  "PROBLEM_CODES",
  "RUN_STATUSES",
  "RestStore",
  "SYSTEM_TAGS",
  "Tracker",
  "TreeError",
  "applyGc",
  "exportBundle",
  "findServer",
  "fixTree",
  "getTracker",
  "historyPages",
  "importBundle",
  "isMlflowError",
  "localTreePath",
  "openStore",
  "planGc",
  "redactCredentials",
  "redactUrl",
  "registerModel",
  "registryOf",
  "resolveConfig",
  "searchExperiments",
  "searchRuns",
  "startServer",
  "sync",
  "syncBundle",
  "verifyTree",
  "watchSync",
];

/** Types only (erased at run time): entities, options, results. */
const TYPES = [
  "ArtifactData",
  "ArtifactStream",
  "Batch",
  "BufferOptions",
  "BundleInput",
  "ColumnSpec",
  "Config",
  "ConfigOptions",
  "CreateModelVersionOptions",
  "CreateRunOptions",
  "Credentials",
  "Dataset",
  "DatasetInput",
  "DrainResult",
  "ErrorCode",
  "Experiment",
  "ExportIssue",
  "ExportOptions",
  "ExportReport",
  "FileInfo",
  "FileStoreOptions",
  "FixAction",
  "FixResult",
  "GcItem",
  "GcOptions",
  "GcPlan",
  "HistoryPageRequest",
  "HttpConfig",
  "ImportIssue",
  "ImportOptions",
  "ImportOutcome",
  "ImportReport",
  "KeyInput",
  "LifecycleStage",
  "LogModelOptions",
  "LoggedModel",
  "Metric",
  "MetricComparison",
  "MetricHistoryPage",
  "MetricOptions",
  "ModelStage",
  "ModelVersion",
  "OpenStoreOptions",
  "ParamComparison",
  "PendingRun",
  "ProblemCode",
  "PushState",
  "RegisterModelOptions",
  "RegisteredModel",
  "RegistrySearchRequest",
  "RegistryStore",
  "RetryNotice",
  "Run",
  "RunComparison",
  "RunData",
  "RunInfo",
  "RunOutcome",
  "RunPlan",
  "RunRecord",
  "RunStatus",
  "RunningServer",
  "SearchExperimentsRequest",
  "SearchExperimentsResult",
  "SearchModelVersionsResult",
  "SearchQuery",
  "SearchRegisteredModelsResult",
  "SearchRunsOptions",
  "SearchRunsRequest",
  "SearchRunsResult",
  "ServerOptions",
  "Severity",
  "StartRunOptions",
  "SyncBundleOptions",
  "SyncIssue",
  "SyncOptions",
  "SyncProgress",
  "SyncReport",
  "SyncRunWriter",
  "SyncWatcher",
  "SyncedRun",
  "TrackerOptions",
  "TrackingStore",
  "TreeProblem",
  "UpdateRunOptions",
  "VerifyOptions",
  "VerifyProblem",
  "VerifyReport",
  "ViewType",
  "WatchOptions",
];

/**
 * Every name src/index.ts exports, types included: read from its export declarations (the
 * module re-exports by name only, never `export *`, so this is the whole list).
 */
function exportedNames(): string[] {
  const entry = fileURLToPath(new URL("../src/index.ts", import.meta.url));
  const source = ts.createSourceFile(entry, readFileSync(entry, "utf8"), ts.ScriptTarget.Latest);
  const names: string[] = [];
  for (const statement of source.statements) {
    if (!ts.isExportDeclaration(statement)) continue;
    const clause = statement.exportClause;
    if (clause === undefined || !ts.isNamedExports(clause)) {
      throw new Error("src/index.ts re-exports a whole module: name what users get instead");
    }
    for (const element of clause.elements) names.push(element.name.text);
  }
  return names;
}

describe("the public API", () => {
  it("exports exactly these values", () => {
    expect(Object.keys(api).sort()).toEqual(VALUES);
  });

  it("exports exactly these names, types included", () => {
    expect(exportedNames().sort()).toEqual([...VALUES, ...TYPES].sort());
  });
});
