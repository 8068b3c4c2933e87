/**
 * The long-lived search index's background sweep (search-index.ts): cycles through a list the
 * index gives it each cycle (its runs, most active first) for as long as it runs, using at most
 * half of one core: slices of SLICE_MS, each followed by a pause as long, with pending watch
 * events delivered between slices.
 */
import { drainEvents } from "./index-watches.ts";

/** The sweep works in slices this long, each followed by a pause as long. */
const SLICE_MS = 10;

export interface SweepSteps<T> {
  /** The items of one cycle, in the order to visit them. */
  cycle(): T[];
  /** Visits one item (the index re-checks the run unless it was replaced or is watched). */
  visit(item: T): Promise<void>;
  /** Called after every cycle. */
  cycleDone(): void;
}

export class Sweep<T> {
  readonly #steps: SweepSteps<T>;
  #running = false;
  #stopped = false;
  #stop: (() => void) | undefined;
  /** Cycles completed, and the length (ms) of the last one. */
  cycles = 0;
  lastMs: number | undefined;

  constructor(steps: SweepSteps<T>) {
    this.#steps = steps;
  }

  /** Starts the sweep unless it runs already or was stopped. */
  start(): void {
    if (this.#running || this.#stopped) return;
    this.#running = true;
    void this.#loop().finally(() => {
      this.#running = false;
    });
  }

  /** Stops the sweep for good. */
  stop(): void {
    this.#stopped = true;
    this.#stop?.();
  }

  async #loop(): Promise<void> {
    while (!this.#stopped) {
      const started = performance.now();
      const items = this.#steps.cycle();
      let slice = performance.now();
      for (const item of items) {
        if (this.#stopped) return;
        if (performance.now() - slice >= SLICE_MS) {
          if (!(await this.#pause(performance.now() - slice))) return;
          await drainEvents();
          slice = performance.now();
        }
        await this.#steps.visit(item);
      }
      this.cycles++;
      this.lastMs = performance.now() - started;
      this.#steps.cycleDone();
      // Nothing to sweep (every run watched): look again in a while.
      if (!(await this.#pause(items.length === 0 ? 1000 : SLICE_MS))) return;
    }
  }

  /** Waits `ms` unless the sweep stops first; false when it did. */
  #pause(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(!this.#stopped), ms);
      timer.unref();
      this.#stop = () => {
        clearTimeout(timer);
        resolve(false);
      };
    });
  }
}
