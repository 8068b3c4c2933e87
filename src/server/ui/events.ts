/**
 * One Server-Sent Events stream of changes for every open page. Fed by the FileStore's watches
 * (the search index's inotify watches on experiments and runs) and one watch on the tree's root
 * (experiments created, renamed, deleted) and on `models/` (the registry). Changes are gathered
 * for a short while and sent as one event, so a training loop flushing every second costs one
 * message a second, however many files it touched.
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
}

function isWatchable(store: TrackingStore): store is TrackingStore & Watchable {
  const s = store as Partial<Watchable>;
  return typeof s.onChange === "function" && typeof s.root === "string";
}

const GATHER_MS = 150;
const KEEPALIVE_MS = 15_000;

export class ChangeFeed {
  readonly #clients = new Set<ServerResponse>();
  readonly #stops: (() => void)[] = [];
  #pending: Change | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #keepalive: NodeJS.Timeout;
  readonly #onAny: () => void;

  /** `onAny` is called at once for every change seen (before the gathered event goes out). */
  constructor(store: TrackingStore, onAny: () => void = () => {}) {
    this.#onAny = onAny;
    if (isWatchable(store)) {
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

  /** Answers a request with the stream; it stays open until the page goes. */
  subscribe(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    res.write("retry: 1000\nevent: hello\ndata: {}\n\n");
    this.#clients.add(res);
    req.on("close", () => this.#clients.delete(res));
  }

  get clients(): number {
    return this.#clients.size;
  }

  close(): void {
    clearTimeout(this.#timer);
    clearInterval(this.#keepalive);
    for (const stop of this.#stops) stop();
    for (const res of this.#clients) res.end();
    this.#clients.clear();
  }
}
