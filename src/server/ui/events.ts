/**
 * One Server-Sent Events stream of changes for every open page. Fed by the FileStore's change
 * feed (the search index's inotify watches on experiments and runs, and its sweep over the runs
 * it cannot watch) and one watch on the tree's root (experiments created, renamed, deleted) and
 * on `models/` (the registry). Changes are gathered for a short while and sent as one event, so
 * a training loop flushing every second costs one message a second, however many files it
 * touched.
 *
 * The sweep may take many seconds to come round in a tree too big to watch whole, so each page
 * also names the runs it shows (`show`: rows on screen, charted runs, the run open) and those
 * are re-checked every RECHECK_MS: a change to any run a page shows reaches it within about a
 * second, watched or not.
 */
import { type FSWatcher, watch } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import type { TrackingStore } from "../../store/store.ts";
import { isTreeFile } from "../../tree-files.ts";

export interface Change {
  /** Experiments whose runs changed (a run added, removed, or changed). */
  experiments: string[];
  runs: string[];
  /** The list of experiments itself changed. */
  experimentList: boolean;
  registry: boolean;
}

interface Watchable {
  root: string;
  onChange(listener: (change: { experimentId: string; runId?: string }) => void): () => void;
  recheckRuns(runIds: readonly string[]): Promise<void>;
}

function isWatchable(store: TrackingStore): store is TrackingStore & Watchable {
  const s = store as Partial<Watchable>;
  return (
    typeof s.onChange === "function" &&
    typeof s.recheckRuns === "function" &&
    typeof s.root === "string"
  );
}

const GATHER_MS = 150;
const KEEPALIVE_MS = 15_000;
const RECHECK_MS = 500;
/** The most runs one page may name (a screen of rows and a few charts). */
export const MAX_SHOWN = 200;

export class ChangeFeed {
  readonly #clients = new Set<ServerResponse>();
  /** The runs each open page shows, by the page's id (its stream's `page` parameter). */
  readonly #shown = new Map<string, readonly string[]>();
  readonly #streams = new Map<string, ServerResponse>();
  #recheck: NodeJS.Timeout | undefined;
  readonly #stops: (() => void)[] = [];
  #pending: Change | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #keepalive: NodeJS.Timeout;
  readonly #onAny: () => void;

  /** `onAny` is called at once for every change seen (before the gathered event goes out). */
  constructor(store: TrackingStore, onAny: () => void = () => {}) {
    this.#onAny = onAny;
    if (isWatchable(store)) {
      this.#startRechecks(store);
      this.#stops.push(
        store.onChange(({ experimentId, runId }) => {
          const change = this.#gather();
          if (!change.experiments.includes(experimentId)) change.experiments.push(experimentId);
          if (runId && !change.runs.includes(runId)) change.runs.push(runId);
        }),
      );
      this.#watchFolder(store.root, (name) => {
        const change = this.#gather();
        if (name === "models") change.registry = true;
        else if (name === null || !isTreeFile(name)) {
          change.experimentList = true;
        }
      });
      this.#watchRegistry(join(store.root, "models"));
    }
    this.#keepalive = setInterval(() => {
      for (const res of this.#clients) res.write(": keepalive\n\n");
    }, KEEPALIVE_MS);
    this.#keepalive.unref();
  }

  /** Every RECHECK_MS, the runs the open pages show, one pass at a time. */
  #startRechecks(store: Watchable): void {
    let busy = false;
    this.#recheck = setInterval(() => {
      if (busy || this.#shown.size === 0) return;
      busy = true;
      const runs = new Set<string>();
      for (const ids of this.#shown.values()) for (const id of ids) runs.add(id);
      store.recheckRuns([...runs]).then(
        () => (busy = false),
        () => (busy = false),
      );
    }, RECHECK_MS);
    this.#recheck.unref();
  }

  /**
   * The runs the page with this stream shows, replacing what it named before; false when no
   * stream of that page is open (it names them again once connected).
   */
  show(page: string, runIds: readonly string[]): boolean {
    if (!this.#streams.has(page)) return false;
    this.#shown.set(page, runIds.slice(0, MAX_SHOWN));
    return true;
  }

  /** A registered model's folder changes inside models/: watch its folders as they come. */
  #watchRegistry(dir: string): void {
    const onChange = () => {
      this.#gather().registry = true;
    };
    this.#watchFolder(dir, onChange);
  }

  #watchFolder(dir: string, onChange: (name: string | null) => void): void {
    let watcher: FSWatcher;
    try {
      watcher = watch(dir, { persistent: false }, (_event, name) => onChange(name));
    } catch {
      return; // missing (no registry yet) or no watch left: pages still refresh on demand
    }
    watcher.on("error", () => {});
    this.#stops.push(() => watcher.close());
  }

  #gather(): Change {
    this.#onAny();
    if (!this.#pending) {
      this.#pending = { experiments: [], runs: [], experimentList: false, registry: false };
      this.#timer = setTimeout(() => this.#send(), GATHER_MS);
    }
    return this.#pending;
  }

  #send(): void {
    const change = this.#pending;
    this.#pending = undefined;
    if (!change) return;
    const message = `event: change\ndata: ${JSON.stringify(change)}\n\n`;
    for (const res of this.#clients) res.write(message);
  }

  /**
   * Answers a request with the stream; it stays open until the page goes. `page` names the
   * page for `show` (the runs it names are forgotten when its stream closes).
   */
  subscribe(req: IncomingMessage, res: ServerResponse, page?: string): void {
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    res.write("retry: 1000\nevent: hello\ndata: {}\n\n");
    this.#clients.add(res);
    if (page) this.#streams.set(page, res);
    req.on("close", () => {
      this.#clients.delete(res);
      if (page && this.#streams.get(page) === res) {
        this.#streams.delete(page);
        this.#shown.delete(page);
      }
    });
  }

  get clients(): number {
    return this.#clients.size;
  }

  close(): void {
    clearTimeout(this.#timer);
    clearInterval(this.#keepalive);
    clearInterval(this.#recheck);
    for (const stop of this.#stops) stop();
    for (const res of this.#clients) res.end();
    this.#clients.clear();
  }
}
