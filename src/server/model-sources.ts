/**
 * A new model version's `source`, checked as MLflow's server checks it (`_validate_source_run`,
 * `_validate_source_model`): no `..` or NUL however it is encoded, a local path only inside the
 * artifacts of the run named by `run_id`, a `runs:/` or proxied source only of that run, a
 * `models:/m-…` source only of the logged model named by `model_id`. The source is kept as the
 * client sent it (as MLflow keeps it); where its files are in the tree is kept beside it as the
 * version's storage location, and shown to clients again as a proxy URI.
 */
import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { isBucketUri } from "../artifacts/open.ts";
import type { LoggedModelRecord, ModelVersion } from "../entities.ts";
import { invalid, isMlflowError, type MlflowError } from "../errors.ts";
import { pyJsonDumps } from "../py-format.ts";
import { loggedModelsOf, type TrackingStore } from "../store/store.ts";
import {
  isLocal,
  isProxied,
  modelArtifactUri,
  PROXY_SCHEME,
  runArtifactUri,
} from "./artifact-uris.ts";

/** The model version fields a source is checked against. */
export interface VersionSource {
  source: string;
  runId?: string | undefined;
  modelId?: string | undefined;
  tags?: Record<string, string>;
}

const scheme = (uri: string) => /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1]?.toLowerCase();

function unquoted(value: string): string {
  let current = value;
  for (;;) {
    let next: string;
    try {
      next = decodeURIComponent(current.replace(/\+/g, " "));
    } catch {
      return current;
    }
    if (next === current) return current;
    current = next;
  }
}

const notContained = (source: string, what: "run_id" | "model_id"): MlflowError =>
  invalid(
    `Invalid model version source: '${source}'. The ${what} request parameter must identify the resource that contains the source.`,
  );

/** MLflow's check that a non-local source holds no relative path designations. */
function checkNoRelativeParts(source: string): void {
  const decoded = unquoted(source);
  if (decoded.includes("\0") || decoded.split(/[/\\]/).includes("..")) {
    throw invalid(
      `Invalid model version source: '${source}'. If supplying a source as an http, https, local file path, ftp, objectstore, or mlflow-artifacts uri, an absolute path must be provided without relative path references present. Please provide an absolute path.`,
    );
  }
}

async function runOf(store: TrackingStore, runId: string | undefined, source: string) {
  if (!runId) throw notContained(source, "run_id");
  try {
    return (await store.getRun(runId)).info;
  } catch (error) {
    if (isMlflowError(error, "RESOURCE_DOES_NOT_EXIST")) throw notContained(source, "run_id");
    throw error;
  }
}

/** `<base>/<rest>` without doubled slashes. */
const under = (base: string, rest: string) =>
  rest === "" ? base : `${base.replace(/\/+$/, "")}/${rest.replace(/^\/+/, "")}`;

/** The part of `uri` below `root`, or undefined when it is not inside it. */
function below(uri: string, root: string): string | undefined {
  const trimmed = root.replace(/\/+$/, "");
  if (uri === trimmed) return "";
  return uri.startsWith(`${trimmed}/`) ? uri.slice(trimmed.length + 1) : undefined;
}

/** What the tree keeps beside a checked source. */
export interface ResolvedSource {
  /**
   * Where its files are: a `file:` URI in the tree, or a bucket's URI; absent when this server
   * cannot reach them.
   */
  storageLocation?: string;
  /** The run it came from: as given, else (for a logged model) the run that made the model. */
  runId?: string;
}

/** MLflow's placeholders for a prompt version's source, which has no files. */
const PROMPT_SOURCES = new Set(["dummy-source", "prompt-template"]);

/**
 * Checks a new version's source, and says where its files are and which run made them. A
 * prompt's version (MLflow 3 keeps prompts as registered models tagged
 * `mlflow.prompt.is_prompt`) has no files: its source must be one of MLflow's placeholders.
 */
export async function checkVersionSource(
  store: TrackingStore,
  { source, runId, modelId, tags }: VersionSource,
): Promise<ResolvedSource> {
  if (tags?.["mlflow.prompt.is_prompt"]?.toLowerCase() === "true") {
    if (!PROMPT_SOURCES.has(source)) {
      throw invalid(
        `Invalid prompt source: '${source}'. Prompt sources must use an MLflow placeholder.`,
      );
    }
    return runId ? { runId } : {};
  }
  if (modelId) return checkModelSource(store, source, modelId, runId);
  const storageLocation = await checkRunSource(store, source, runId);
  return {
    ...(storageLocation !== undefined ? { storageLocation } : {}),
    ...(runId ? { runId } : {}),
  };
}

async function checkRunSource(
  store: TrackingStore,
  source: string,
  runId: string | undefined,
): Promise<string | undefined> {
  if (isLocal(source)) {
    const run = await runOf(store, runId, source);
    const path = scheme(source) === "file" ? fileURLToPath(source) : source;
    const root = isLocal(run.artifactUri) ? localPath(run.artifactUri) : undefined;
    if (root === undefined || resolve(path) !== path || below(path, resolve(root)) === undefined) {
      throw invalid(
        `Invalid model version source: '${source}'. To use a local path as a model version source, the run_id request parameter has to be specified and the local path has to be contained within the artifact directory of the run specified by the run_id.`,
      );
    }
    return pathToFileURL(path).href;
  }
  checkNoRelativeParts(source);
  const kind = scheme(source);
  if (kind === "runs") {
    const match = /^runs:\/([^/]+)(?:\/(.*))?$/.exec(source);
    if (match === null || match[1] !== runId) throw notContained(source, "run_id");
    const run = await runOf(store, runId, source);
    return storedAt(run.artifactUri, match[2] ?? "");
  }
  if (kind === "models" && /^models:\/+m-[0-9a-f]+/i.test(source)) {
    throw notContained(source, "model_id");
  }
  if (kind === "mlflow-artifacts" || isProxyUrl(source)) {
    const run = await runOf(store, runId, source);
    const rest = below(proxyForm(source), runArtifactUri(run));
    if (rest === undefined) throw notContained(source, "run_id");
    return storedAt(run.artifactUri, rest);
  }
  return undefined;
}

/** `_validate_source_model`: the source must lie in the logged model named by `model_id`. */
async function checkModelSource(
  store: TrackingStore,
  source: string,
  modelId: string,
  runId: string | undefined,
): Promise<ResolvedSource> {
  const { storageLocation, model } = await modelSource(store, source, modelId);
  // As MLflow's file registry: a logged model's version names the run that made the model.
  const run = runId || (source.startsWith("models:") ? model.sourceRunId : null);
  return {
    ...(storageLocation !== undefined ? { storageLocation } : {}),
    ...(run ? { runId: run } : {}),
  };
}

async function modelSource(
  store: TrackingStore,
  source: string,
  modelId: string,
): Promise<{ storageLocation: string | undefined; model: LoggedModelRecord }> {
  let model: LoggedModelRecord;
  try {
    model = await loggedModelsOf(store).getLoggedModel(modelId);
  } catch (error) {
    if (isMlflowError(error, "RESOURCE_DOES_NOT_EXIST")) throw notContained(source, "model_id");
    throw error;
  }
  const local = isLocal(model.artifactLocation) ? localPath(model.artifactLocation) : undefined;
  const inTree = (rest: string) => storedAt(model.artifactLocation, rest);
  if (isLocal(source)) {
    const path = localPath(source);
    if (
      local === undefined ||
      resolve(path) !== path ||
      below(path, resolve(local)) === undefined
    ) {
      throw invalid(
        `Invalid model version source: '${source}'. To use a local path as a model version source, the model_id request parameter has to be specified and the local path has to be contained within the artifact directory of the run specified by the model_id.`,
      );
    }
    return { storageLocation: pathToFileURL(path).href, model };
  }
  checkNoRelativeParts(source);
  const kind = scheme(source);
  if (kind === "models") {
    const id = /^models:\/+(m-[0-9a-f]+)(?:\/|$)/i.exec(source)?.[1];
    if (id !== modelId) throw notContained(source, "model_id");
    return { storageLocation: inTree(""), model };
  }
  if (kind === "mlflow-artifacts" || isProxyUrl(source)) {
    const rest = below(proxyForm(source), modelArtifactUri(model));
    if (rest === undefined) throw notContained(source, "model_id");
    return { storageLocation: inTree(rest), model };
  }
  if (kind === "runs") throw notContained(source, "model_id");
  return { storageLocation: undefined, model };
}

/**
 * Where the path `rest` of artifacts kept at `uri` is: a `file:` URI in the tree, or the bucket's
 * URI; undefined when this server cannot reach them.
 */
function storedAt(uri: string, rest: string): string | undefined {
  if (isLocal(uri)) return under(pathToFileURL(localPath(uri)).href, rest);
  return isBucketUri(uri) ? under(uri, rest) : undefined;
}

/** A local location as a path, so that a plain path and its `file:` URI compare equal. */
const comparable = (uri: string) => (isLocal(uri) ? localPath(uri) : uri);

function localPath(uri: string): string {
  return scheme(uri) === "file" ? fileURLToPath(uri) : uri;
}

const PROXY_ROUTE = "/api/2.0/mlflow-artifacts/artifacts/";

function isProxyUrl(uri: string): boolean {
  return /^https?:/i.test(uri) && uri.includes(PROXY_ROUTE);
}

/** `http://host/api/2.0/mlflow-artifacts/artifacts/<p>` or `mlflow-artifacts://host/<p>` → `mlflow-artifacts:/<p>`. */
function proxyForm(uri: string): string {
  if (isProxyUrl(uri))
    return `${PROXY_SCHEME}/${unquoted(uri.slice(uri.indexOf(PROXY_ROUTE) + PROXY_ROUTE.length))}`;
  return `${PROXY_SCHEME}/${unquoted(uri.replace(/^mlflow-artifacts:(\/\/[^/]*)?\/*/i, ""))}`;
}

/**
 * Where a client downloads a version from: the proxy URI of its files when this server keeps
 * them (a run's or a logged model's artifacts, in the tree or a bucket), else the location as
 * stored.
 */
export async function clientDownloadUri(
  store: TrackingStore,
  version: ModelVersion,
  location: string,
): Promise<string> {
  if (!isProxied(location)) return location;
  const owner = await ownerOf(store, version).catch(() => undefined);
  if (owner === undefined || !isProxied(owner.stored)) return location;
  const rest = below(comparable(location), comparable(owner.stored));
  return rest === undefined ? location : under(owner.client, rest);
}

/** The artifacts a version's files sit in: its logged model's, else its run's. */
async function ownerOf(
  store: TrackingStore,
  version: ModelVersion,
): Promise<{ stored: string; client: string } | undefined> {
  if (version.modelId !== null && store.loggedModels !== undefined) {
    const model = await store.loggedModels.getLoggedModel(version.modelId);
    return { stored: model.artifactLocation, client: modelArtifactUri(model) };
  }
  if (version.runId === null) return undefined;
  const { info } = await store.getRun(version.runId);
  return { stored: info.artifactUri, client: runArtifactUri(info) };
}

/** MLflow tags a logged model with the registry versions made from it (`mlflow.modelVersions`). */
export async function tagModelVersions(
  store: TrackingStore,
  modelId: string,
  version: { name: string; version: string },
): Promise<void> {
  const models = loggedModelsOf(store);
  const model = await models.getLoggedModel(modelId);
  let versions: unknown[] = [];
  try {
    const parsed = JSON.parse(model.tags[MODEL_VERSIONS_TAG] ?? "[]");
    if (Array.isArray(parsed)) versions = parsed;
  } catch {
    versions = [];
  }
  // The version as a number, as MLflow's file registry writes it.
  const entry = { name: version.name, version: Number(version.version) };
  if (!versions.some((v) => JSON.stringify(v) === JSON.stringify(entry))) versions.push(entry);
  await models.setLoggedModelTags(modelId, { [MODEL_VERSIONS_TAG]: pyJsonDumps(versions) });
}

const MODEL_VERSIONS_TAG = "mlflow.modelVersions";
