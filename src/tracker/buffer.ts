/**
 * Metric buffering: `add` is a cheap synchronous call for training loops; points reach the store
 * in batches. The buffer is written when its oldest point is `intervalMs` old or `maxPoints`
 * are waiting, which every `add` checks (so a loop that never yields to the event loop still
 * writes), by a timer when the event loop is idle, and on `flush()`.
 *
 * With a synchronous sink (a FileStore) each of those writes is done before the call returns,
 * so a crash loses at most the points still buffered: fewer than `maxPoints`, all logged within
 * `intervalMs` of each other. Otherwise (a server) the batch is sent and completes when the
 * event loop runs.
 *
 * A refused batch holding several keys is written again key by key, so only the points of the
 * refused keys are lost; that failure is thrown by the next `add` or `flush`, never dropped.
 */
import type { Metric } from "../entities.ts";
import { isMlflowError, MlflowError } from "../errors.ts";

export interface BufferOptions {
  intervalMs?: number;
  maxPoints?: number;
}

/** Where batches go: `write` always; `writeSync` when the store can write synchronously. */
export interface MetricSink {
  write(metrics: Metric[]): Promise<void>;
  writeSync?: ((metrics: Metric[]) => void) | undefined;
}

interface Failure {
  error: unknown;
  lost: Metric[];
}

/**
 * Points waiting, by column: a training loop logs millions, and one object per point would keep
 * the garbage collector busy with objects that live just long enough to be promoted.
 */
class Columns {
  keys: string[] = [];
  values = new Float64Array(1024);
  timestamps = new Float64Array(1024);
  steps = new Float64Array(1024);
  length = 0;

  push(key: string, value: number, timestamp: number, step: number): void {
    const at = this.length;
    if (at === this.values.length) {
      for (const column of ["values", "timestamps", "steps"] as const) {
        const wider = new Float64Array(at * 2);
        wider.set(this[column]);
        this[column] = wider;
      }
    }
    this.keys[at] = key;
    this.values[at] = value;
    this.timestamps[at] = timestamp;
    this.steps[at] = step;
    this.length = at + 1;
  }

  /** The points as metrics, emptying the columns. */
  take(): Metric[] {
    const out: Metric[] = new Array(this.length);
    for (let i = 0; i < this.length; i++) {
      out[i] = {
        key: this.keys[i] as string,
        value: this.values[i] as number,
        timestamp: this.timestamps[i] as number,
        step: this.steps[i] as number,
      };
    }
    this.length = 0;
    this.keys.length = 0;
    return out;
  }
}

export class MetricBuffer {
  readonly #sink: MetricSink;
  readonly #intervalMs: number;
  readonly #maxPoints: number;
  readonly #pending = new Columns();
  /** When the oldest pending point was added (ms since the epoch). */
  #since = 0;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> = Promise.resolve();
  #failures: Failure[] = [];

  constructor(sink: MetricSink, options: BufferOptions = {}) {
    this.#sink = sink;
    this.#intervalMs = options.intervalMs ?? 1000;
    this.#maxPoints = options.maxPoints ?? 10_000;
  }

  get size(): number {
    return this.#pending.length;
  }

  /** Buffers a point (already validated); `now` is the caller's reading of `Date.now()`. */
  add(key: string, value: number, timestamp: number, step: number, now: number): void {
    if (this.#failures.length > 0) this.#rethrow();
    if (this.#pending.length === 0) {
      this.#since = now;
      if (this.#timer === undefined) {
        this.#timer = setTimeout(() => this.#write(), this.#intervalMs);
        this.#timer.unref();
      }
    }
    this.#pending.push(key, value, timestamp, step);
    if (this.#pending.length >= this.#maxPoints || now - this.#since >= this.#intervalMs) {
      this.#write();
      if (this.#failures.length > 0) this.#rethrow();
    }
  }

  /** Writes everything logged so far; rejects with what the store refused. */
  async flush(): Promise<void> {
    this.#write();
    await this.#inFlight;
    if (this.#failures.length > 0) this.#rethrow();
  }

  /** Writes everything logged so far before returning; only with a synchronous sink. */
  flushSync(): void {
    if (this.#sink.writeSync === undefined) throw new Error("the sink cannot write synchronously");
    this.#write();
    if (this.#failures.length > 0) this.#rethrow();
  }

  #write(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.length === 0) return;
    const batch = this.#pending.take();
    const { write, writeSync } = this.#sink;
    if (writeSync !== undefined) {
      try {
        writeSync(batch);
      } catch (error) {
        for (const part of this.#retryable(error, batch)) {
          try {
            writeSync(part);
          } catch (again) {
            this.#failures.push({ error: again, lost: part });
          }
        }
      }
      return;
    }
    this.#inFlight = this.#inFlight.then(async () => {
      try {
        await write(batch);
      } catch (error) {
        for (const part of this.#retryable(error, batch)) {
          try {
            await write(part);
          } catch (again) {
            this.#failures.push({ error: again, lost: part });
          }
        }
      }
    });
  }

  /**
   * The parts of a failed batch worth writing again: one per key when the store refused a batch
   * of several keys (the refusal names one of them); none otherwise, the failure being kept.
   */
  #retryable(error: unknown, batch: Metric[]): Metric[][] {
    const byKey = new Map<string, Metric[]>();
    for (const metric of batch) {
      const points = byKey.get(metric.key);
      if (points) points.push(metric);
      else byKey.set(metric.key, [metric]);
    }
    if (!isMlflowError(error, "INVALID_PARAMETER_VALUE") || byKey.size < 2) {
      this.#failures.push({ error, lost: batch });
      return [];
    }
    return [...byKey.values()];
  }

  /** Throws one error for every failure not yet reported, naming the points lost. */
  #rethrow(): never {
    const failures = this.#failures;
    this.#failures = [];
    const { error } = failures[0] as Failure;
    const lost = failures.flatMap((failure) => failure.lost);
    const keys = [...new Set(lost.map((metric) => `'${metric.key}'`))].join(", ");
    const what = `${lost.length} point${lost.length === 1 ? "" : "s"} of ${keys} not written`;
    if (isMlflowError(error)) {
      const hint = error.hint === undefined ? {} : { hint: error.hint };
      throw new MlflowError(error.code, `${error.message} (${what})`, { ...hint, cause: error });
    }
    throw new Error(`${what}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
}
