/**
 * `sync --watch`: syncs again whenever the source tree changes, debounced, for as long as the
 * returned handle is open. A failed sync (the server is down, restarting, refusing) is retried
 * with growing pauses until it goes through; nothing is lost meanwhile because the tree and the
 * ledger hold everything. chokidar is loaded only here, when watching.
 */
import { invalid } from "../errors.ts";
import { isTreeFile } from "../tree-files.ts";
import { publicUri } from "./identity.ts";
import { type SyncReport, sync } from "./index.ts";
import type { SyncOptions } from "./options.ts";

export interface WatchOptions extends SyncOptions {
  /** Quiet time after the last change before syncing (default 1000 ms). */
  debounceMs?: number;
  /** Longest pause between retries after a failure (default 30 s). */
  maxRetryMs?: number;
  onSync?: (report: SyncReport) => void;
  onError?: (error: unknown, retryInMs: number) => void;
}

export interface SyncWatcher {
  /** Resolves once the first sync (of everything already there) has finished or failed. */
  ready: Promise<void>;
  close(): Promise<void>;
}

/** A pause option: absent (the default), or a whole number of milliseconds, 0 or more. */
function milliseconds(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw invalid(
      `${name} must be a whole number of milliseconds, 0 or more; got ${String(value)}`,
    );
  }
  return value;
}

export async function watchSync(options: WatchOptions): Promise<SyncWatcher> {
  const root = options.source.root;
  if (root === undefined) {
    throw invalid(
      `sync --watch needs a local tree as the source, not ${publicUri(options.source.uri)}`,
      "Watch the tree the runs are written to, e.g. `mlruns sync --watch ./mlruns`",
    );
  }
  const debounceMs = milliseconds("debounceMs", options.debounceMs, 1000);
  const maxRetryMs = milliseconds("maxRetryMs", options.maxRetryMs, 30_000);
  const { watch } = await import("chokidar");
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let failures = 0;
  let closed = false;

  const runOnce = async (): Promise<void> => {
    try {
      const report = await sync(options);
      failures = 0;
      options.onSync?.(report);
    } catch (error) {
      failures++;
      const wait = Math.min(maxRetryMs, 500 * 2 ** failures);
      options.onError?.(error, wait);
      schedule(wait);
    }
  };
  const start = (): void => {
    if (closed) return;
    if (running) {
      again = true;
      return;
    }
    running = runOnce().finally(() => {
      running = undefined;
      if (again) {
        again = false;
        schedule(debounceMs);
      }
    });
  };
  function schedule(delay: number): void {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(start, delay);
  }

  // Our own files change on every sync (and temp files on every write): never a reason to sync.
  const watcher = watch(root, { ignoreInitial: true, ignored: isTreeFile });
  watcher.on("all", () => schedule(debounceMs));
  await new Promise<void>((resolve) => watcher.once("ready", () => resolve()));
  start();
  const ready = running ?? Promise.resolve();
  return {
    ready,
    async close() {
      closed = true;
      clearTimeout(timer);
      await watcher.close();
      await running;
    },
  };
}
