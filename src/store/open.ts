/** Picks the store for a tracking URI, in one place, as MLflow does by scheme. */
import { fileURLToPath } from "node:url";
import type { HttpConfig } from "../config.ts";
import { invalid } from "../errors.ts";
import { redactUrl } from "../redact.ts";
import { FileStore, type FileStoreOptions } from "./file/index.ts";
import { MemoryStore } from "./memory/index.ts";
import type { TrackingStore } from "./store.ts";

export interface OpenStoreOptions {
  /** Auth, TLS and retry settings for a server. */
  http?: HttpConfig;
  /** Options of a FileStore (problem reporting, search index). */
  file?: FileStoreOptions;
}

/**
 * `./mlruns`, `/abs/path` or `file:///...` open a FileStore; `memory:` a MemoryStore;
 * `http(s)://host` a RestStore on that MLflow server.
 */
export async function openStore(
  uri: string,
  options: OpenStoreOptions = {},
): Promise<TrackingStore> {
  if (uri === "memory:" || uri.startsWith("memory:")) return new MemoryStore();
  if (/^https?:\/\//i.test(uri)) {
    const { RestStore } = await import("./rest/index.ts");
    return new RestStore(uri, options.http);
  }
  if (uri.startsWith("file:")) return new FileStore(fileURLToPath(uri), options.file);
  if (/^[a-z][a-z0-9+.-]+:\/\//i.test(uri)) {
    throw invalid(
      `Unsupported tracking URI '${redactUrl(uri)}'`,
      "Use a path or file: URI for a local tree, memory: for tests, or http(s):// for a server",
    );
  }
  return new FileStore(uri, options.file);
}
