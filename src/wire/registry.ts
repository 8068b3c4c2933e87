/**
 * MLflow's model registry JSON (REST 2.0, `model_registry.proto`) and our registry entities, both
 * ways: RestStore reads a server's answers with it, `mlruns server` writes its own with it.
 * Versions are strings on the wire; unset strings are sent as "" or left out.
 */

import type { ModelVersion, RegisteredModel } from "../entities.ts";
import { type KeyValueJson, tagsFromJson, tagsToJson } from "./tracking.ts";

export interface ModelVersionJson {
  name?: string;
  version?: string | number;
  creation_timestamp?: number | string;
  last_updated_timestamp?: number | string;
  current_stage?: string;
  description?: string;
  source?: string;
  run_id?: string;
  run_link?: string;
  status?: string;
  status_message?: string;
  user_id?: string;
  model_id?: string;
  tags?: KeyValueJson[];
  aliases?: string[];
}

export interface RegisteredModelJson {
  name?: string;
  creation_timestamp?: number | string;
  last_updated_timestamp?: number | string;
  description?: string;
  tags?: KeyValueJson[];
  aliases?: { alias?: string; version?: string | number }[];
  latest_versions?: ModelVersionJson[];
}

const time = (value: number | string | undefined): number | null =>
  value === undefined || value === null ? null : Number(value);
/** The server sends "" or nothing for unset strings. */
const optional = (value: string | undefined): string | null =>
  value === undefined || value === null || value === "" ? null : value;

export function versionFromJson(json: ModelVersionJson): ModelVersion {
  return {
    name: json.name ?? "",
    version: String(json.version ?? ""),
    creationTimestamp: time(json.creation_timestamp),
    lastUpdatedTimestamp: time(json.last_updated_timestamp),
    currentStage: json.current_stage ?? "None",
    description: optional(json.description),
    source: json.source ?? "",
    runId: optional(json.run_id),
    runLink: optional(json.run_link),
    status: json.status ?? "READY",
    statusMessage: optional(json.status_message),
    userId: optional(json.user_id),
    modelId: optional(json.model_id),
    tags: tagsFromJson(json.tags),
    aliases: [...(json.aliases ?? [])].sort(),
  };
}

export function modelFromJson(json: RegisteredModelJson): RegisteredModel {
  const aliases: Record<string, string> = {};
  for (const a of json.aliases ?? []) {
    if (a.alias !== undefined) aliases[a.alias] = String(a.version ?? "");
  }
  return {
    name: json.name ?? "",
    creationTimestamp: time(json.creation_timestamp),
    lastUpdatedTimestamp: time(json.last_updated_timestamp),
    description: optional(json.description),
    tags: tagsFromJson(json.tags),
    aliases,
    latestVersions: (json.latest_versions ?? [])
      .map(versionFromJson)
      .sort((a, b) => Number(a.version) - Number(b.version)),
  };
}

// ---- to JSON: what MLflow's server answers ------------------------------------------------------

export function versionToJson(version: ModelVersion): ModelVersionJson {
  const json: ModelVersionJson = { name: version.name, version: version.version };
  if (version.creationTimestamp !== null) json.creation_timestamp = version.creationTimestamp;
  if (version.lastUpdatedTimestamp !== null)
    json.last_updated_timestamp = version.lastUpdatedTimestamp;
  if (version.description !== null) json.description = version.description;
  if (version.userId !== null) json.user_id = version.userId;
  json.current_stage = version.currentStage;
  json.source = version.source;
  if (version.runId !== null) json.run_id = version.runId;
  if (version.runLink !== null) json.run_link = version.runLink;
  json.status = version.status;
  if (version.statusMessage) json.status_message = version.statusMessage;
  const tags = tagsToJson(version.tags);
  if (tags.length > 0) json.tags = tags;
  if (version.aliases.length > 0) json.aliases = [...version.aliases];
  // MLflow 3.17 leaves model_id out of its answers (its to_proto does not copy it yet).
  return json;
}

export function modelToJson(model: RegisteredModel): RegisteredModelJson {
  const json: RegisteredModelJson = { name: model.name };
  if (model.creationTimestamp !== null) json.creation_timestamp = model.creationTimestamp;
  if (model.lastUpdatedTimestamp) json.last_updated_timestamp = model.lastUpdatedTimestamp;
  if (model.description) json.description = model.description;
  if (model.latestVersions.length > 0)
    json.latest_versions = model.latestVersions.map(versionToJson);
  const tags = tagsToJson(model.tags);
  if (tags.length > 0) json.tags = tags;
  const aliases = Object.entries(model.aliases).map(([alias, version]) => ({ alias, version }));
  if (aliases.length > 0) json.aliases = aliases;
  return json;
}
