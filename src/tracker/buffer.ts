/**
 * Metric buffering: `add` is a cheap synchronous call for training loops; points reach the store
 * in batches, at the latest `intervalMs` after they were logged, when `maxPoints` are waiting,
 * and on `flush()` (run end, process exit, signals). The loss window on a hard crash is therefore
 * at most `intervalMs` (one second by default).
 */
import type { Metric } from "../entities.ts";

export interface BufferOptions {
  intervalMs?: number;
  maxPoints?: number;
}

export class MetricBuffer {
  readonly #write: (metrics: Metric[]) => Promise<void>;
  readonly #intervalMs: number;
  readonly #maxPoints: number;
  #pending: Metric[] = [];
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> = Promise.resolve();
  #error: unknown;

  constructor(write: (metrics: Metric[]) => Promise<void>, options: BufferOptions = {}) {
    this.#write = write;
    this.#intervalMs = options.intervalMs ?? 1000;
    this.#maxPoints = options.maxPoints ?? 10_000;
  }

  get size(): number {
    return this.#pending.length;
  }

  add(metric: Metric): void {
    if (this.#error !== undefined) this.#rethrow();
    this.#pending.push(metric);
    if (this.#pending.length >= this.#maxPoints) void this.flush().catch(() => {});
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => void this.flush().catch(() => {}), this.#intervalMs);
      this.#timer.unref();
    }
  }

  /** Writes everything logged so far; rejects with the store's error if a write failed. */
  flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#pending;
    this.#pending = [];
    this.#inFlight = this.#inFlight.then(async () => {
      if (batch.length === 0) return;
      try {
        await this.#write(batch);
      } catch (error) {
        this.#error ??= error;
      }
    });
    return this.#inFlight.then(() => {
      if (this.#error !== undefined) this.#rethrow();
    });
  }

  #rethrow(): never {
    const error = this.#error;
    this.#error = undefined;
    throw error;
  }
}
