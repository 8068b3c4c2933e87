/**
 * Experiment and run `meta.yaml` documents: what MLflow writes, and tolerant reading of what any
 * MLflow version wrote (`run_uuid`, integer ids, missing optional keys).
 */
import type { Experiment, LifecycleStage, RunInfo, RunStatus } from "../../entities.ts";
import { RUN_STATUSES } from "../../entities.ts";
import type { YamlValue } from "./yaml.ts";

/** MLflow's `RunStatus` enum values as stored in run meta.yaml. */
const RUN_STATUS_CODES: Readonly<Record<RunStatus, number>> = {
  RUNNING: 1,
  SCHEDULED: 2,
  FINISHED: 3,
  FAILED: 4,
  KILLED: 5,
};

/** The number MLflow stores for a status name; undefined for what is not a status name. */
export function runStatusCode(name: string): number | undefined {
  return (RUN_STATUSES as readonly string[]).includes(name)
    ? RUN_STATUS_CODES[name as RunStatus]
    : undefined;
}

export interface StoredRun {
  info: RunInfo;
  /** Set only while the run is deleted; MLflow drops the key on other rewrites. */
  deletedTime: number | null | undefined;
}

type Doc = Record<string, unknown>;

function asDoc(document: unknown): Doc | string {
  if (document === null || typeof document !== "object" || Array.isArray(document)) {
    return "is empty or not a YAML mapping";
  }
  return document as Doc;
}

const isTime = (value: unknown): value is number =>
  typeof value === "number" && Number.isSafeInteger(value);

function optionalTime(doc: Doc, key: string): number | null | string {
  const value = doc[key];
  if (value === undefined || value === null) return null;
  return isTime(value) ? value : `'${key}' must be an integer (milliseconds), got ${String(value)}`;
}

function lifecycle(value: unknown): LifecycleStage | string {
  if (value === undefined || value === null || value === "active") return "active";
  if (value === "deleted") return "deleted";
  return `'lifecycle_stage' must be 'active' or 'deleted', got ${String(value)}`;
}

export function experimentDocument(experiment: Experiment): Record<string, YamlValue> {
  return {
    artifact_location: experiment.artifactLocation,
    creation_time: experiment.creationTime,
    experiment_id: experiment.experimentId,
    last_update_time: experiment.lastUpdateTime,
    lifecycle_stage: experiment.lifecycleStage,
    name: experiment.name,
    trace_location: null,
    workspace: "default",
  };
}

/** An experiment without its tags (they live in files), or what is wrong with the document. */
export function readExperimentDocument(document: unknown, folderName: string): Experiment | string {
  const doc = asDoc(document);
  if (typeof doc === "string") return doc;
  const id = doc.experiment_id;
  if (typeof id !== "string" && typeof id !== "number") return "'experiment_id' is missing";
  if (String(id) !== folderName) {
    return `'experiment_id' is ${String(id)} but the folder is named ${folderName}`;
  }
  if (typeof doc.name !== "string") return "'name' is missing";
  if (typeof doc.artifact_location !== "string") return "'artifact_location' is missing";
  const stage = lifecycle(doc.lifecycle_stage);
  const creationTime = optionalTime(doc, "creation_time");
  const lastUpdateTime = optionalTime(doc, "last_update_time");
  for (const value of [stage, creationTime, lastUpdateTime]) {
    if (typeof value === "string" && value.startsWith("'")) return value;
  }
  return {
    experimentId: folderName,
    name: doc.name,
    artifactLocation: doc.artifact_location,
    lifecycleStage: stage as LifecycleStage,
    creationTime: creationTime as number | null,
    lastUpdateTime: lastUpdateTime as number | null,
    tags: {},
  };
}

export function runDocument(run: StoredRun): Record<string, YamlValue> {
  const { info } = run;
  const document: Record<string, YamlValue> = {
    artifact_uri: info.artifactUri,
    end_time: info.endTime,
    entry_point_name: "",
    experiment_id: info.experimentId,
    lifecycle_stage: info.lifecycleStage,
    run_id: info.runId,
    run_name: info.runName,
    source_name: "",
    source_type: 4,
    source_version: "",
    start_time: info.startTime,
    status: RUN_STATUS_CODES[info.status],
    tags: [],
    user_id: info.userId,
  };
  if (run.deletedTime !== undefined) document.deleted_time = run.deletedTime;
  return document;
}

function status(value: unknown): RunStatus | string {
  if (value === undefined || value === null) return "RUNNING";
  const byCode = RUN_STATUSES.find((name) => RUN_STATUS_CODES[name] === value);
  if (byCode) return byCode;
  // MLflow itself fails on a status name; we read it and `mlruns verify` reports it.
  if (typeof value === "string" && (RUN_STATUSES as readonly string[]).includes(value)) {
    return value as RunStatus;
  }
  return `'status' must be one of 1-5 (RUNNING..KILLED), got ${String(value)}`;
}

/** A run's info from its meta.yaml, or what is wrong with it. */
export function readRunDocument(document: unknown, folderName: string): StoredRun | string {
  const doc = asDoc(document);
  if (typeof doc === "string") return doc;
  const runId = doc.run_id ?? doc.run_uuid;
  if (typeof runId !== "string") return "'run_id' is missing";
  if (runId !== folderName) return `'run_id' is ${runId} but the folder is named ${folderName}`;
  const experimentId = doc.experiment_id;
  if (typeof experimentId !== "string" && typeof experimentId !== "number") {
    return "'experiment_id' is missing";
  }
  if (!isTime(doc.start_time)) return "'start_time' must be an integer (milliseconds)";
  const endTime = optionalTime(doc, "end_time");
  const deletedTime = optionalTime(doc, "deleted_time");
  const runStatus = status(doc.status);
  const stage = lifecycle(doc.lifecycle_stage);
  for (const value of [endTime, deletedTime, runStatus, stage]) {
    if (typeof value === "string" && value.startsWith("'")) return value;
  }
  const runName = typeof doc.run_name === "string" ? doc.run_name : "";
  return {
    info: {
      runId,
      experimentId: String(experimentId),
      runName,
      userId: typeof doc.user_id === "string" ? doc.user_id : "",
      status: runStatus as RunStatus,
      startTime: doc.start_time,
      endTime: endTime as number | null,
      artifactUri: typeof doc.artifact_uri === "string" ? doc.artifact_uri : "",
      lifecycleStage: stage as LifecycleStage,
    },
    deletedTime: "deleted_time" in doc ? (deletedTime as number | null) : undefined,
  };
}
