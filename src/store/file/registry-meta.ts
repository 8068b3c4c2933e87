/**
 * Registry `meta.yaml` documents (mlruns-format.md §4.1, §4.2): what MLflow 3 writes for a
 * registered model and a model version, and tolerant reading of what MLflow 2.x and 3.x wrote
 * (missing `model_id`/`workspace`, version numbers as integers or strings).
 */

import type { ModelVersion } from "../../entities.ts";
import type { YamlValue } from "./yaml.ts";

/** The fields of a model's meta.yaml that we keep (tags and aliases live in folders). */
export interface StoredModel {
  name: string;
  creationTimestamp: number | null;
  lastUpdatedTimestamp: number | null;
  description: string | null;
}

/** A version as stored: the entity without tags/aliases, plus where its files are. */
export interface StoredVersion extends Omit<ModelVersion, "tags" | "aliases"> {
  storageLocation: string;
}

type Doc = Record<string, unknown>;

const asDoc = (document: unknown): Doc | string =>
  document === null || typeof document !== "object" || Array.isArray(document)
    ? "is empty or not a YAML mapping"
    : (document as Doc);

const time = (value: unknown): number | null =>
  typeof value === "number" && Number.isSafeInteger(value) ? value : null;

const text = (value: unknown): string | null =>
  value === undefined || value === null ? null : String(value);

export function modelDocument(
  model: StoredModel,
  aliases: Record<string, string>,
): Record<string, YamlValue> {
  return {
    aliases,
    creation_timestamp: model.creationTimestamp,
    deployment_job_id: null,
    deployment_job_state: null,
    description: model.description,
    last_updated_timestamp: model.lastUpdatedTimestamp,
    name: model.name,
    workspace: "default",
  };
}

/** The model, or a message saying what is wrong with the document. */
export function readModelDocument(document: unknown, folderName: string): StoredModel | string {
  const doc = asDoc(document);
  if (typeof doc === "string") return doc;
  return {
    name: text(doc.name) ?? folderName,
    creationTimestamp: time(doc.creation_timestamp),
    lastUpdatedTimestamp: time(doc.last_updated_timestamp),
    description: text(doc.description),
  };
}

export function versionDocument(version: StoredVersion): Record<string, YamlValue> {
  return {
    creation_timestamp: version.creationTimestamp,
    current_stage: version.currentStage,
    deployment_job_state: null,
    description: version.description,
    last_updated_timestamp: version.lastUpdatedTimestamp,
    model_id: version.modelId,
    name: version.name,
    run_id: version.runId,
    run_link: version.runLink,
    source: version.source,
    status: version.status,
    status_message: version.statusMessage,
    storage_location: version.storageLocation,
    user_id: version.userId,
    version: Number(version.version),
    workspace: "default",
  };
}

export function readVersionDocument(document: unknown): StoredVersion | string {
  const doc = asDoc(document);
  if (typeof doc === "string") return doc;
  const number = Number(doc.version);
  if (!Number.isSafeInteger(number))
    return `'version' must be an integer, got ${String(doc.version)}`;
  if (typeof doc.name !== "string") return "'name' is missing";
  const source = text(doc.source) ?? "";
  return {
    name: doc.name,
    version: String(number),
    creationTimestamp: time(doc.creation_timestamp),
    lastUpdatedTimestamp: time(doc.last_updated_timestamp),
    currentStage: text(doc.current_stage) ?? "None",
    description: text(doc.description),
    source,
    runId: text(doc.run_id),
    runLink: text(doc.run_link),
    status: text(doc.status) ?? "READY",
    statusMessage: text(doc.status_message),
    userId: text(doc.user_id),
    modelId: text(doc.model_id),
    storageLocation: text(doc.storage_location) ?? source,
  };
}
