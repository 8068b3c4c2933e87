/**
 * A background push (local-first mode): sync passes of a tree's experiments to a server, one
 * after the other for as long as it runs, so that runs reach the server while they train. A pass
 * that fails (the server down, slow, refusing) is tried again with growing pauses; nothing is lost
 * meanwhile, since the tree and the ledger hold everything. Another sync of the same tree (a
 * person's `mlruns sync`, another training process's push) is given way to: the pass is tried
 * again a moment later. `drain` waits, up to a deadline, for a pass that starts after it is asked
 * (so it sees everything written before), and otherwise says what is left.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { LockBusyError } from "../lock.ts";
import type { TrackingStore } from "../store/store.ts";
import type { SyncIssue } from "./copy.ts";
import { sync } from "./index.ts";
import { type PendingRun, pendingRuns } from "./pending.ts";

export interface PusherOptions {
  /** The local tree (a FileStore). */
  source: TrackingStore;
  target: TrackingStore;
  /** The experiments pushed, by id or name. */
  experiments: string[];
  /** Pause between passes (default 1000 ms). */
  intervalMs?: number;
  /** Longest pause after failed passes (default 15 s). */
  maxRetryMs?: number;
  /** Told after every attempt. */
  onPass?: (state: PushState) => void;
}

export interface PushState {
  /** Passes completed so far. */
  passes: number;
  /** Why the last attempt did not complete (the server's answer, or another process pushing). */
  error?: string;
  /** What the server refused in the last complete pass: trying again will not send it. */
  issues: SyncIssue[];
}

export interface DrainResult extends PushState {
  /** A pass that started after the drain was asked went through. */
  done: boolean;
  /** When not done: the runs whose latest data may not be on the server. */
  pending: PendingRun[];
}

/** How soon to try again while a drain is waiting, whatever the backoff says. */
const DRAIN_RETRY_MS = 250;
/** How soon to try again when another sync of the tree holds its lock. */
const BUSY_RETRY_MS = 500;

export class Pusher {
  readonly #options: PusherOptions;
  readonly #loop: Promise<void>;
  #closed = false;
  #wake: (() => void) | undefined;
  /** Poked during a pass: the next one starts at once. */
  #poked = false;
  #draining = 0;
  /** Passes started, and the first one still wanted by each waiter (resolved when one ends). */
  #started = 0;
  #waiters: { after: number; resolve: () => void }[] = [];
  #state: PushState = { passes: 0, issues: [] };

  constructor(options: PusherOptions) {
    this.#options = options;
    this.#loop = this.#run();
  }

  get state(): PushState {
    return { ...this.#state };
  }

  /** Starts the next pass now instead of after the pause. */
  poke(): void {
    this.#poked = true;
    this.#wake?.();
  }

  /**
   * Waits until a pass that starts after this call has gone through, or until `deadline` (ms
   * since the epoch); then says whether it did, and otherwise what is left.
   */
  async drain(deadline: number): Promise<DrainResult> {
    const timeout = new AbortController();
    const waiter = { after: this.#started, resolve: () => {} };
    const passed = new Promise<boolean>((resolve) => {
      waiter.resolve = () => resolve(true);
    });
    this.#waiters.push(waiter);
    this.#draining++;
    this.poke();
    try {
      const done = await Promise.race([
        passed,
        sleep(Math.max(0, deadline - Date.now()), false, { signal: timeout.signal }),
      ]);
      const pending = done ? [] : await this.#pending();
      return { ...this.state, done, pending };
    } finally {
      timeout.abort();
      this.#waiters = this.#waiters.filter((w) => w !== waiter);
      this.#draining--;
    }
  }

  /** Stops after the pass under way. */
  async close(): Promise<void> {
    this.#closed = true;
    this.poke();
    await this.#loop;
  }

  async #pending(): Promise<PendingRun[]> {
    const { source, target, experiments } = this.#options;
    return pendingRuns({ source, target: target.uri, experiments });
  }

  async #run(): Promise<void> {
    const { intervalMs = 1000, maxRetryMs = 15_000 } = this.#options;
    let failures = 0;
    while (!this.#closed) {
      const number = ++this.#started;
      const began = Date.now();
      const outcome = await this.#pass();
      const took = Date.now() - began;
      if (outcome === "done") {
        failures = 0;
        const ready = this.#waiters.filter((w) => w.after < number);
        this.#waiters = this.#waiters.filter((w) => w.after >= number);
        for (const waiter of ready) waiter.resolve();
      } else if (outcome === "failed") failures++;
      // At least as long as the pass took after a done one: a long run's push uses at most
      // half a core, however much it holds.
      const backoff =
        outcome === "done"
          ? Math.max(intervalMs, took)
          : outcome === "busy"
            ? BUSY_RETRY_MS
            : Math.min(maxRetryMs, 250 * 2 ** failures);
      await this.#pause(this.#draining > 0 ? Math.min(backoff, DRAIN_RETRY_MS) : backoff);
    }
  }

  async #pass(): Promise<"done" | "busy" | "failed"> {
    const { source, target, experiments, onPass } = this.#options;
    try {
      const report = await sync({ source, target, experiments, background: true });
      this.#state = { passes: this.#state.passes + 1, issues: report.issues };
      return "done";
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.#state = { ...this.#state, error: message };
      return error instanceof LockBusyError ? "busy" : "failed";
    } finally {
      onPass?.(this.state);
    }
  }

  #pause(ms: number): Promise<void> {
    if (this.#closed || this.#poked) {
      this.#poked = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => wake(), ms);
      const wake = () => {
        clearTimeout(timer);
        this.#poked = false;
        this.#wake = undefined;
        resolve();
      };
      this.#wake = wake;
    });
  }
}
