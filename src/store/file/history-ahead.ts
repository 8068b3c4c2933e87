/**
 * History summaries built ahead of a chart (history-summary.ts): a tree another program wrote
 * has none, and the first chart of its long histories would read every line of them. A live view
 * names the runs a person looks at (the rows on screen, the run open, the runs charted); their
 * metric files long enough to be read from a summary are summed up here, the runs named last
 * first, one file at a time, in slices that run only while the host (a server) handles no
 * request and the event loop has nothing else to do: a request waits for one slice at most.
 * Bounded: at most MAX_QUEUED runs wait, one file's summary is held at a time, and a file is
 * read again only once it has grown.
 */
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { cacheWritable } from "./history-blocks.ts";
import { SUMMARY_FROM_BYTES, summarizeInSlices } from "./history-summary.ts";
import type { TreeHandle } from "./tree-handle.ts";

/** Runs waiting at most: a few screens of rows; older ones are dropped. */
const MAX_QUEUED = 1000;
/** Files remembered as summed up (and their size then), and runs as listed, at most. */
const MAX_DONE = 10_000;
/** A run named again within this long is not listed again. */
const RELIST_MS = 60_000;
/** A turn of the event loop longer than this had other work in it: wait before the next slice. */
const BUSY_MS = 2;
const BACK_OFF_MS = 20;

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms).unref());
const nextTurn = () => new Promise<void>((done) => setImmediate(done));

/** Sets `key` as the newest entry of `map`, forgetting the oldest past MAX_DONE. */
function remember<T>(map: Map<string, T>, key: string, value: T): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_DONE) map.delete(map.keys().next().value as string);
}

export class HistoriesAhead {
  readonly #tree: TreeHandle;
  /** Run ids waiting, the next first. */
  #queue: string[] = [];
  readonly #done = new Map<string, number>();
  /** When each run was last listed. */
  readonly #listed = new Map<string, number>();
  #running: Promise<void> | undefined;
  #closed = false;
  #idle: () => boolean = () => true;

  constructor(tree: TreeHandle) {
    this.#tree = tree;
  }

  /** Puts these runs first in line (in this order); the work runs while `idle()` says so. */
  want(runIds: readonly string[], idle: () => boolean): void {
    if (this.#closed) return;
    this.#idle = idle;
    const now = Date.now();
    const wanted = new Set(
      runIds.filter((id) => !(now - (this.#listed.get(id) ?? -Infinity) < RELIST_MS)),
    );
    if (wanted.size === 0) return;
    this.#queue = [...wanted, ...this.#queue.filter((id) => !wanted.has(id))].slice(0, MAX_QUEUED);
    this.#start();
  }

  #start(): void {
    if (this.#running || this.#closed) return;
    this.#running = this.#work()
      .catch(() => {}) // every file's failure is the chart's to report
      .then(() => {
        this.#running = undefined;
        if (this.#queue.length > 0) this.#start();
      });
  }

  /** Stops after the slice in hand. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#queue = [];
    await this.#running;
  }

  async #work(): Promise<void> {
    let writable: boolean | undefined;
    for (let runId = this.#queue.shift(); runId !== undefined; runId = this.#queue.shift()) {
      remember(this.#listed, runId, Date.now());
      for (const { path, key, size } of await this.#longFiles(runId)) {
        if (this.#closed) return;
        if (this.#done.get(path) === size) continue;
        // A summary that cannot be kept would be read again by every chart: not worth it.
        writable ??= cacheWritable();
        if (!writable) {
          this.#queue = [];
          return;
        }
        try {
          await summarizeInSlices(path, key, () => this.#turn());
        } catch {
          // Gone or unreadable: a chart of it will say why.
        }
        remember(this.#done, path, size);
      }
    }
  }

  /** Waits for the host to be idle and a turn of the event loop with nothing else in it; false once closed. */
  async #turn(): Promise<boolean> {
    for (;;) {
      const asked = performance.now();
      await nextTurn();
      if (this.#closed) return false;
      if (this.#idle() && performance.now() - asked < BUSY_MS) return true;
      await sleep(BACK_OFF_MS);
    }
  }

  /** The run's metric files long enough to be read from a summary, largest first. */
  async #longFiles(runId: string): Promise<{ path: string; key: string; size: number }[]> {
    let dir: string;
    try {
      dir = join(await this.#tree.runDir(runId), "metrics");
    } catch {
      return []; // not a run (any more)
    }
    const entries = await fs.readdir(dir, { recursive: true }).catch(() => [] as string[]);
    const files = await Promise.all(
      entries.map(async (key) => {
        const path = join(dir, key);
        const stat = await fs.stat(path).catch(() => undefined);
        return stat?.isFile() && stat.size >= SUMMARY_FROM_BYTES
          ? { path, key, size: stat.size }
          : undefined;
      }),
    );
    return files.filter((file) => file !== undefined).sort((a, b) => b.size - a.size);
  }
}
