/** Picks the store for a tracking URI, in one place, as MLflow does by scheme. */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { HttpConfig } from "../config.ts";
import { invalid, notFound } from "../errors.ts";
import { redactUrl } from "../redact.ts";
import type { FileStoreOptions } from "./file/index.ts";
import type { TrackingStore } from "./store.ts";

export interface OpenStoreOptions {
  /** Auth, TLS and retry settings for a server. */
  http?: HttpConfig;
  /** Options of a FileStore (problem reporting, search index). */
  file?: FileStoreOptions;
  /**
   * A local tree must already be there (RESOURCE_DOES_NOT_EXIST otherwise), so that a typo in a
   * path does not create an empty tree. By default a missing tree is created by the first write.
   */
  mustExist?: boolean;
}

/**
 * The folder of a tracking URI that names a local tree (a path or a `file:` URI); undefined for
 * any other scheme (`memory:`, a server). A drive letter (`C:\…`) is a path.
 */
export function localTreePath(uri: string): string | undefined {
  if (uri.startsWith("file:")) return fileURLToPath(uri);
  if (/^[a-z][a-z0-9+.-]+:/i.test(uri)) return undefined;
  return resolve(uri);
}

/**
 * `./mlruns`, `/abs/path` or `file:///...` open a FileStore; `memory:` a MemoryStore;
 * `http(s)://host` a RestStore on that MLflow server.
 */
export async function openStore(
  uri: string,
  options: OpenStoreOptions = {},
): Promise<TrackingStore> {
  // Each store is loaded when a URI names it: a command through a server never compiles the
  // file store (nor its YAML parser).
  if (uri.startsWith("memory:")) {
    const { MemoryStore } = await import("./memory/index.ts");
    return new MemoryStore();
  }
  if (/^https?:\/\//i.test(uri)) {
    const { RestStore } = await import("./rest/index.ts");
    return new RestStore(uri, options.http);
  }
  const root = localTreePath(uri);
  if (root === undefined) {
    throw invalid(
      `Unsupported tracking URI '${redactUrl(uri)}'`,
      "Use a path or file: URI for a local tree, memory: for tests, or http(s):// for a server",
    );
  }
  const { FileStore } = await import("./file/index.ts");
  const store = new FileStore(root, options.file);
  // `exists` refuses a folder that holds something else, or a file.
  if (options.mustExist && !(await store.exists())) {
    throw notFound(
      `No mlruns tree at ${root}`,
      "Create one with `mlruns init`, or point --tracking-uri / MLFLOW_TRACKING_URI at a tree",
    );
  }
  return store;
}
