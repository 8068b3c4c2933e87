/**
 * The model registry contract: registered models, their versions, tags, aliases and stages, as
 * MLflow's model registry has them. FileStore, MemoryStore and RestStore implement it next to
 * TrackingStore; the tracker and the CLI reach it through `store.registry` (`registryOf`).
 */

import {
  MODEL_STAGES,
  type ModelStage,
  type ModelVersion,
  type RegisteredModel,
} from "../entities.ts";
import { invalid, MlflowError, notFound } from "../errors.ts";
import type {
  RegistrySearchRequest,
  SearchModelVersionsResult,
  SearchRegisteredModelsResult,
} from "../search/registry.ts";
import { isSafeRelativePath, validateText, validateWellFormed } from "../validation.ts";

/** The stage MLflow's file store gives a deleted version, whose folder (and number) stays. */
export const STAGE_DELETED_INTERNAL = "Deleted_Internal";

export interface CreateModelVersionOptions {
  name: string;
  source: string;
  runId?: string;
  tags?: Record<string, string>;
  runLink?: string;
  description?: string;
  /** The MLflow 3 logged model (`m-…`) the version is made from. */
  modelId?: string;
  /**
   * Where the files really are, when `source` is indirect (e.g. the run's artifact URI joined
   * with the path of a `runs:/` source). File and memory stores keep it and answer it from
   * `getModelVersionDownloadUri`; a server works it out itself and ignores it.
   */
  storageLocation?: string;
}

export interface RegistryStore {
  createRegisteredModel(
    name: string,
    options?: { tags?: Record<string, string>; description?: string },
  ): Promise<RegisteredModel>;
  getRegisteredModel(name: string): Promise<RegisteredModel>;
  /** MLflow's filter grammar on `name` and `tags.<key>`; ordered by name by default. */
  searchRegisteredModels(request?: RegistrySearchRequest): Promise<SearchRegisteredModelsResult>;
  /** Keeps versions, tags and aliases (MLflow's file store loses the last two). */
  renameRegisteredModel(name: string, newName: string): Promise<RegisteredModel>;
  updateRegisteredModel(name: string, update: { description: string }): Promise<RegisteredModel>;
  /** Removes the model with all its versions. */
  deleteRegisteredModel(name: string): Promise<void>;
  setRegisteredModelTag(name: string, key: string, value: string): Promise<void>;
  deleteRegisteredModelTag(name: string, key: string): Promise<void>;

  /** The next number, never reused (a deleted version keeps its number). */
  createModelVersion(options: CreateModelVersionOptions): Promise<ModelVersion>;
  getModelVersion(name: string, version: string): Promise<ModelVersion>;
  updateModelVersion(
    name: string,
    version: string,
    update: { description: string },
  ): Promise<ModelVersion>;
  deleteModelVersion(name: string, version: string): Promise<void>;
  /**
   * MLflow's filter grammar on `name`, `version_number`, `run_id`, `source_path` and
   * `tags.<key>`; newest change first by default.
   */
  searchModelVersions(request?: RegistrySearchRequest): Promise<SearchModelVersionsResult>;
  setModelVersionTag(name: string, version: string, key: string, value: string): Promise<void>;
  deleteModelVersionTag(name: string, version: string, key: string): Promise<void>;
  /** With `archiveExistingVersions`, other versions in Staging/Production go to Archived. */
  transitionModelVersionStage(
    name: string,
    version: string,
    stage: string,
    archiveExistingVersions?: boolean,
  ): Promise<ModelVersion>;
  /** Points `alias` at `version` (moving it if it pointed elsewhere). */
  setRegisteredModelAlias(name: string, alias: string, version: string): Promise<void>;
  /** A missing alias is not an error, as on MLflow's server. */
  deleteRegisteredModelAlias(name: string, alias: string): Promise<void>;
  getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion>;
  /** Where to download the version's files from. */
  getModelVersionDownloadUri(name: string, version: string): Promise<string>;
}

/** A new version as MLflow makes it (stage None, READY), without its tags and aliases. */
export function newVersion(
  model: string,
  number: number,
  options: CreateModelVersionOptions,
  now: number,
): Omit<ModelVersion, "tags" | "aliases"> {
  return {
    name: model,
    version: String(number),
    creationTimestamp: now,
    lastUpdatedTimestamp: now,
    currentStage: "None",
    description: options.description ?? null,
    source: options.source,
    runId: versionRunId(options) ?? null,
    runLink: options.runLink ?? null,
    status: "READY",
    statusMessage: null,
    userId: null,
    modelId: options.modelId ?? null,
  };
}

/**
 * The run id a version should carry: the given one, else the one named by a `runs:/<id>/…`
 * source (MLflow's server refuses a `runs:/` source whose run id is not sent along).
 */
export function versionRunId(options: CreateModelVersionOptions): string | undefined {
  if (options.runId !== undefined) return options.runId;
  return /^runs:\/([^/]+)\//.exec(options.source)?.[1];
}

// ---- MLflow's registry validation (mlruns-format.md §4.4), shared by every store ----

const LIMITS = { tagKey: 250, tagValue: 100_000, alias: 255 } as const;
const TAG_KEY = /^[\p{L}\p{N}_/.\- :]*$/u;
const ALIAS = /^[\p{L}\p{N}_-]*$/u;

export function validateModelName(name: unknown): asserts name is string {
  if (typeof name !== "string" || name.trim() === "") {
    throw invalid("Registered model name cannot be empty.");
  }
  validateWellFormed("Registered model name", name);
  if (/[/\\:%]/.test(name) || !isSafeRelativePath(name) || name.includes("\0")) {
    throw invalid(
      `Invalid name: '${name}'. Registered model names cannot contain '/', '\\', ':' or '%', ` +
        "nor be '.' or '..'",
    );
  }
}

/** A new registered model: its name, its tags, and its description. */
export function validateNewModel(
  name: unknown,
  options: { tags?: Record<string, string>; description?: string },
): asserts name is string {
  validateNewEntry("registered model", name as string, options.tags);
  validateDescription(options.description);
}

/** A new version: its model's name, its tags, and the text its meta.yaml keeps. */
export function validateNewVersion(options: CreateModelVersionOptions): void {
  validateNewEntry("model version", options.name, options.tags);
  validateText("Model version source", options.source);
  validateText("Model version run link", options.runLink);
  validateText("Model version storage location", options.storageLocation);
  validateDescription(options.description);
}

/** A model's or a version's description (null or absent clears it). */
export function validateDescription(description: unknown): void {
  validateText("Description", description);
}

/** A version number as MLflow takes it: an integer, given as a string or a number. */
export function validateVersion(version: unknown): string {
  const text = String(version);
  if (!/^-?\d+$/.test(text.trim())) {
    throw invalid(`Model version must be an integer, got '${text}'`);
  }
  return String(Number.parseInt(text, 10));
}

/** A registered model or a model version to create: the model's name and the new entry's tags. */
export function validateNewEntry(
  kind: "registered model" | "model version",
  name: string,
  tags: Record<string, string> = {},
): void {
  validateModelName(name);
  for (const [key, value] of Object.entries(tags)) validateRegistryTag(kind, key, value);
}

export function validateRegistryTag(
  kind: "registered model" | "model version",
  key: unknown,
  value?: unknown,
): void {
  if (typeof key !== "string" || key === "")
    throw invalid(`Missing value for required parameter 'key'.`);
  validateWellFormed(`${kind} tag key`, key);
  if (!TAG_KEY.test(key) || !isSafeRelativePath(key)) {
    throw invalid(
      `Invalid ${kind} tag key '${key}': names may only contain alphanumerics, underscores (_), ` +
        "dashes (-), periods (.), spaces ( ), colons (:) and slashes (/), as a normalized relative path",
    );
  }
  if ([...key].length > LIMITS.tagKey) {
    throw invalid(`${kind} tag key '${key.slice(0, 40)}...' is longer than ${LIMITS.tagKey}`);
  }
  if (value === undefined) return;
  if (typeof value !== "string") throw invalid(`${kind} tag '${key}' must have a string value`);
  if (value.length > LIMITS.tagValue) {
    throw invalid(`${kind} tag '${key}' has a value longer than ${LIMITS.tagValue} characters`);
  }
  validateWellFormed(`The value of ${kind} tag '${key}'`, value);
}

/** `forLookup`: `latest` and `v<N>` pass (they are only reserved for setting). */
export function validateAlias(alias: unknown, forLookup = false): asserts alias is string {
  if (typeof alias !== "string" || alias === "") {
    throw invalid("Missing value for required parameter 'alias'.");
  }
  if (!ALIAS.test(alias) || alias.length > LIMITS.alias) {
    throw invalid(
      `Invalid alias name: '${alias}'. Aliases may only contain alphanumerics, underscores (_) ` +
        `and dashes (-), at most ${LIMITS.alias} characters.`,
    );
  }
  if (forLookup) return;
  if (alias.toLowerCase() === "latest") {
    throw invalid("'latest' alias name (case insensitive) is reserved.");
  }
  if (/^[vV]\d+$/.test(alias)) throw invalid(`Version alias name '${alias}' is reserved.`);
}

/** The canonical spelling of a stage (case-insensitive input), or INVALID_PARAMETER_VALUE. */
export function canonicalStage(stage: unknown): ModelStage {
  const found = MODEL_STAGES.find((s) => s.toLowerCase() === String(stage).toLowerCase());
  if (found === undefined) {
    throw invalid(
      `Invalid Model Version stage: ${String(stage)}. Value must be one of ${MODEL_STAGES.join(", ")}.`,
    );
  }
  return found;
}

/** MLflow allows archiving the others only when moving into an active stage. */
export function checkArchiveExisting(stage: ModelStage, archive: boolean | undefined): void {
  if (archive && stage !== "Staging" && stage !== "Production") {
    throw invalid(
      `Model version transition cannot archive existing model versions because '${stage}' is ` +
        "not an Active stage. Valid stages are Staging, Production",
    );
  }
}

/** The newest visible version of each stage, ascending by number. */
export function latestVersions(versions: readonly ModelVersion[]): ModelVersion[] {
  const best = new Map<string, ModelVersion>();
  for (const v of versions) {
    if (v.currentStage === STAGE_DELETED_INTERNAL) continue;
    const seen = best.get(v.currentStage);
    if (seen === undefined || Number(seen.version) < Number(v.version)) best.set(v.currentStage, v);
  }
  return [...best.values()].sort((a, b) => Number(a.version) - Number(b.version));
}

export const modelExists = (name: string) =>
  new MlflowError("RESOURCE_ALREADY_EXISTS", `Registered Model (name=${name}) already exists.`);

export const modelNotFound = (name: string) =>
  notFound(`Registered Model with name=${name} not found`, "Check the model name");

export const versionNotFound = (name: string, version: string) =>
  notFound(
    `Model Version (name=${name}, version=${version}) not found`,
    "Check the model name and the version number",
  );

/** INVALID_PARAMETER_VALUE, as MLflow answers. */
export const aliasNotFound = (name: string, alias: string) =>
  invalid(`Registered model alias ${alias} not found.`, `Model '${name}' has no such alias`);

/** The highest visible version number, which the alias `latest` stands for. */
export function highestVersion(versions: readonly ModelVersion[]): string | undefined {
  let best: number | undefined;
  for (const v of versions) {
    if (v.currentStage === STAGE_DELETED_INTERNAL) continue;
    if (best === undefined || Number(v.version) > best) best = Number(v.version);
  }
  return best === undefined ? undefined : String(best);
}
