/**
 * Artifacts: the run-scoped listing (`artifacts/list`), the UI's download (`/get-artifact`), and
 * MLflow's artifact proxy (`/api/2.0/mlflow-artifacts/artifacts/<path>`: GET, PUT, DELETE, and
 * listing), through which clients shown `mlflow-artifacts:/…` URIs upload and download. Files
 * stream in and out chunk by chunk; the store keeps every path inside its run's artifacts.
 */

import type { ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import type { ArtifactStream, FileInfo } from "../../entities.ts";
import { invalid, isMlflowError, notFound } from "../../errors.ts";
import { loggedModelsOf, type TrackingStore } from "../../store/store.ts";
import { fileInfoToJson } from "../../wire/tracking.ts";
import { type ProxyTarget, proxyTarget, runArtifactUri } from "../artifact-uris.ts";
import { required, string } from "../message.ts";
import { type Handler, pathSegments, type RequestContext, STREAMED } from "../router.ts";
import { readRun } from "./runs.ts";

const TYPES: Record<string, string> = {
  txt: "text/plain",
  log: "text/plain",
  md: "text/markdown",
  csv: "text/csv",
  tsv: "text/tab-separated-values",
  json: "application/json",
  yaml: "text/yaml",
  yml: "text/yaml",
  html: "text/html",
  htm: "text/html",
  svg: "image/svg+xml",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  pdf: "application/pdf",
};

/** A MIME type from the file name, as MLflow guesses it; unknown types are plain bytes. */
export function mimeType(path: string): string {
  const name = path.slice(path.lastIndexOf("/") + 1);
  if (name === "MLmodel") return "text/plain";
  const dot = name.lastIndexOf(".");
  return (dot > 0 && TYPES[name.slice(dot + 1).toLowerCase()]) || "application/octet-stream";
}

/** Sends a file as an attachment (never rendered on the server's origin), streamed. */
export async function sendFile(
  res: ServerResponse,
  path: string,
  file: ArtifactStream,
): Promise<symbol> {
  const name = path.slice(path.lastIndexOf("/") + 1);
  res.writeHead(200, {
    "Content-Type": mimeType(path),
    "Content-Length": file.size,
    "Content-Disposition": `attachment; filename*=UTF-8''${encodeURIComponent(name)}`,
  });
  await pipeline(file.stream, res);
  return STREAMED;
}

export const listArtifacts: Handler = async (ctx) => {
  const m = await readRun(ctx, { path: string, page_token: string });
  const run = await ctx.store.getRun(m.runId);
  const files = await ctx.store.listArtifacts(m.runId, m.path || undefined);
  return {
    root_uri: runArtifactUri(run.info),
    ...(files.length > 0 ? { files: files.map(fileInfoToJson) } : {}),
  };
};

/** `GET /get-artifact?run_id=&path=`: one file of a run, for MLflow's UI. */
export const getArtifact: Handler = async (ctx) => {
  const m = await readRun(ctx, { path: required(string) });
  return sendFile(ctx.res, m.path, await ctx.store.openArtifact(m.runId, m.path));
};

// ---- the artifact proxy ----

/** The artifacts a proxy path names: a run's or a logged model's, and the path inside them. */
interface Artifacts {
  path: string;
  list(path?: string): Promise<FileInfo[]>;
  open(path: string): Promise<ArtifactStream>;
  put(path: string, data: AsyncIterable<Uint8Array>): Promise<void>;
  delete(path: string): Promise<void>;
}

function artifactsAt(store: TrackingStore, target: ProxyTarget): Artifacts {
  if (target.kind === "run") {
    const { runId } = target;
    return {
      path: target.path,
      list: (path) => store.listArtifacts(runId, path),
      open: (path) => store.openArtifact(runId, path),
      put: (path, data) => store.putArtifact(runId, path, data),
      delete: (path) => store.deleteArtifact(runId, path),
    };
  }
  const models = loggedModelsOf(store);
  const { modelId } = target;
  return {
    path: target.path,
    list: (path) => models.listArtifacts(modelId, path),
    open: (path) => models.openArtifact(modelId, path),
    put: (path, data) => models.putArtifact(modelId, path, data),
    delete: (path) => models.deleteArtifact(modelId, path),
  };
}

/** What a proxy path names; anything else is not an artifact this server has. */
function resolveProxy(store: TrackingStore, rest: string): Artifacts {
  const found = proxyTarget(rest.split("/"));
  if (found === undefined) {
    throw notFound(
      `No artifacts at '${rest}': proxy paths look like <experiment id>/<run id>/artifacts/<path>`,
    );
  }
  return artifactsAt(store, found);
}

export const downloadArtifact: Handler = async ({ params, store, res }) => {
  const artifacts = resolveProxy(store, params.path ?? "");
  if (artifacts.path === "") throw invalid("Name a file to download, not the artifact root");
  return sendFile(res, artifacts.path, await artifacts.open(artifacts.path));
};

export const uploadArtifact: Handler = async ({ params, store, req }) => {
  const artifacts = resolveProxy(store, params.path ?? "");
  if (artifacts.path === "") throw invalid("Name the file to upload, not the artifact root");
  await artifacts.put(artifacts.path, req);
  return {};
};

export const deleteArtifact: Handler = async ({ params, store }) => {
  const artifacts = resolveProxy(store, params.path ?? "");
  await artifacts.delete(artifacts.path);
  return {};
};

/** `GET /api/2.0/mlflow-artifacts/artifacts?path=<dir>`: children by base name. */
export const listProxied: Handler = async (ctx: RequestContext) => {
  const { path } = await ctx.read({ path: string });
  const segments = path ? pathSegments(`/${path.replace(/\/+$/, "")}`) : [];
  const found = proxyTarget(segments);
  if (found === undefined) return {};
  let files: FileInfo[];
  try {
    const artifacts = artifactsAt(ctx.store, found);
    files = await artifacts.list(artifacts.path || undefined);
  } catch (error) {
    if (isMlflowError(error, "RESOURCE_DOES_NOT_EXIST")) return {};
    throw error;
  }
  const base = (file: FileInfo) => ({
    ...file,
    path: file.path.slice(file.path.lastIndexOf("/") + 1),
  });
  return files.length > 0 ? { files: files.map((f) => fileInfoToJson(base(f))) } : {};
};
