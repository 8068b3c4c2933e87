/**
 * The search index's folder watches (Linux inotify through fs.watch), counted against one
 * budget: half of `fs.inotify.max_user_watches` unless told. What cannot be watched (budget
 * spent, not Linux, watching off) the index checks by its stamp instead (search-index.ts).
 */
import {
  existsSync,
  type FSWatcher,
  promises as fs,
  watch as fsWatch,
  readFileSync,
} from "node:fs";
import { join } from "node:path";
import { isMissing } from "../../atomic.ts";

/** Watches kept for experiment folders and their datasets, out of the budget (at most a quarter). */
const EXPERIMENT_WATCHES = 256;

export function defaultMaxWatches(): number {
  try {
    const max = Number(readFileSync("/proc/sys/fs/inotify/max_user_watches", "utf8"));
    return Number.isFinite(max) ? Math.floor(max / 2) : 0;
  } catch {
    return 0;
  }
}

export class Watches {
  readonly max: number;
  #count = 0;

  constructor(max: number) {
    this.max = max;
  }

  /** Folder watches held. */
  get count(): number {
    return this.#count;
  }

  /** The watches runs may hold: the budget less what is kept for experiment folders. */
  get forRuns(): number {
    return this.max - Math.min(EXPERIMENT_WATCHES, Math.floor(this.max / 4));
  }

  /**
   * Watches `dir`; true when watched, undefined when it does not exist (its parent's watch sees
   * it appear), false when no watch could be placed (budget spent, not Linux, watching off).
   */
  add(into: FSWatcher[], dir: string, onChange: () => void, budget: number): boolean | undefined {
    if (this.#count >= budget) return existsSync(dir) ? false : undefined;
    try {
      const watcher = fsWatch(dir, { persistent: false }, onChange);
      watcher.on("error", onChange);
      into.push(watcher);
      this.#count++;
      return true;
    } catch (error) {
      if (isMissing(error)) return undefined;
      return false; // ENOSPC (the user's inotify limit), EMFILE, …: the sweep checks it instead
    }
  }

  /** Closes `watchers` and gives their watches back to the budget. */
  release(watchers: FSWatcher[]): void {
    for (const watcher of watchers) watcher.close();
    this.#count -= watchers.length;
    watchers.length = 0;
  }

  /**
   * Watches an experiment folder (a change relists it) and its datasets/ and dataset folders (a
   * change re-checks the runs that link a dataset) into `into`; true when every one is watched.
   */
  async watchExperiment(
    into: FSWatcher[],
    experimentDir: string,
    relist: () => void,
    datasetChanged: () => void,
  ): Promise<boolean> {
    const budget = this.max;
    let all = this.add(into, experimentDir, relist, budget) === true;
    const datasets = join(experimentDir, "datasets");
    if (this.add(into, datasets, datasetChanged, budget) === false) all = false;
    for (const name of await listFolders(datasets)) {
      if (this.add(into, join(datasets, name), datasetChanged, budget) === false) all = false;
    }
    return all;
  }
}

async function listFolders(dir: string): Promise<string[]> {
  try {
    const entries = await fs.readdir(dir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory()).map((e) => e.name);
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
}

/**
 * Lets the event loop run a poll phase, so inotify events the kernel queued before this call
 * are delivered to the watchers first: two turns through setImmediate always cross one.
 */
export async function drainEvents(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
}
