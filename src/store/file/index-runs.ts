/**
 * The runs the search index holds (search-index.ts), by their folder's path below the root, and
 * how each is proven: its folders watched first while the run budget lasts (index-watches.ts),
 * then its stamp checked (summaries.ts) or the run read again. The sweep re-checks the runs not
 * watched whole, most active first; a run it finds changed takes the watches of the least
 * active watched run.
 */
import type { FSWatcher } from "node:fs";
import { join, relative } from "node:path";
import type { IndexSaving } from "./index-saving.ts";
import type { Watches } from "./index-watches.ts";
import type { ProblemHandler } from "./problems.ts";
import type { RunReader } from "./runs.ts";
import { type Entry, entryFolders, isCurrent, readEntry } from "./summaries.ts";

export interface RunState {
  entry: Entry;
  /** When the entry was last proven current (read, or its stamp checked). */
  checkedAt?: number;
  /** A watch holds every folder of the run, and no event came since the last check. */
  clean: boolean;
  /** Must be re-checked before a search uses it (an event came, or a write through the store). */
  dirty: boolean;
  watchers: FSWatcher[];
}

export interface IndexRunsOptions {
  reader: RunReader;
  watches: Watches;
  saving: IndexSaving;
  /** The long-lived mode (search-index.ts). */
  watch: boolean;
  racyMs: number | undefined;
  /** A run changed: an event on one of its folders, or the sweep found it changed. */
  changed(runDir: string): void;
}

/** How likely a run is to change soon: running first, then by its latest timestamp. */
function activity(entry: Entry): number {
  const run = entry.run;
  if (!run) return 0;
  if (run.info.status === "RUNNING") return Number.MAX_SAFE_INTEGER;
  let latest = Math.max(run.info.startTime, run.info.endTime ?? 0);
  for (const metric of Object.values(run.data.metrics)) latest = Math.max(latest, metric.timestamp);
  return latest;
}

/** A sweep's view of one run: its key, and its state when the cycle began. */
export interface SweepItem {
  key: string;
  state: RunState;
}

export class IndexRuns {
  readonly #root: string;
  readonly #prefix: string;
  readonly #options: IndexRunsOptions;
  readonly #watches: Watches;
  readonly #states = new Map<string, RunState>();
  /** Runs written through the store since their last check began (a check in flight is stale). */
  readonly #invalidated = new Set<string>();

  constructor(root: string, options: IndexRunsOptions) {
    this.#root = root;
    this.#prefix = join(root, "/");
    this.#options = options;
    this.#watches = options.watches;
  }

  /** A run folder's key: its path below the root (runDirs always start with the root). */
  key(runDir: string): string {
    return runDir.startsWith(this.#prefix)
      ? runDir.slice(this.#prefix.length)
      : relative(this.#root, runDir);
  }

  get(key: string): RunState | undefined {
    return this.#states.get(key);
  }

  set(key: string, state: RunState): void {
    this.#states.set(key, state);
  }

  /** Runs held. */
  get size(): number {
    return this.#states.size;
  }

  /** Runs watched whole (trusted without a system call). */
  get watched(): number {
    let watched = 0;
    for (const state of this.#states.values()) if (state.clean) watched++;
    return watched;
  }

  /** Every entry, for the index file. */
  entries(): [string, Entry][] {
    return [...this.#states].map(([key, state]): [string, Entry] => [key, state.entry]);
  }

  /** Holds the index file's entries, unproven: checked by the next search or the sweep. */
  load(entries: Map<string, Entry>): void {
    const dirty = !this.#options.watch;
    for (const [key, entry] of entries) {
      this.#states.set(key, { entry, clean: false, dirty, watchers: [] });
    }
  }

  /**
   * Re-checks one run, watching its folders first while the budget (less what is kept for
   * experiments) allows: the same entry when its stamp holds, else a fresh read.
   */
  async check(
    runDir: string,
    state: RunState | undefined,
    report: ProblemHandler,
  ): Promise<RunState> {
    const { reader, watch } = this.#options;
    const key = this.key(runDir);
    this.#invalidated.delete(key);
    const changed = { seen: false };
    const onChange = () => {
      changed.seen = true;
      const current = this.#states.get(key);
      if (current) {
        current.clean = false;
        current.dirty = true;
      }
      this.#options.changed(runDir);
    };
    const budget = this.#watches.forRuns;
    const watchers: FSWatcher[] = [];
    let all = watch;
    const watchFolder = (dir: string) => {
      if (this.#watches.add(watchers, dir, onChange, budget) === false) all = false;
    };
    // A run not wholly watched is checked by its stamp anyway: its watches go back to the budget.
    const settle = (entry: Entry): RunState => {
      // A run folder that is missing is watched by nothing (its experiment's watch only relists
      // it): its stamp is checked until it is back.
      if (watchers.length === 0) all = false;
      if (!all) this.#watches.release(watchers);
      // Not a run (yet, or any more): every search that lists the folder checks it again.
      const notRun = entry.run === undefined && entry.problem === undefined;
      // Written through the store while this check read it: the entry may predate the write.
      if (this.#invalidated.delete(key)) changed.seen = true;
      return { entry, watchers, clean: all && !changed.seen, dirty: changed.seen || notRun };
    };
    if (state) {
      this.#watches.release(state.watchers);
      const folders = entryFolders(runDir, state.entry);
      if (this.#watches.count + folders.length > budget) all = false;
      else for (const dir of folders) watchFolder(dir);
      if (isCurrent(runDir, state.entry)) return settle(state.entry);
      this.#watches.release(watchers);
      all = watch;
    }
    reader.forget(runDir);
    const entry = await readEntry(reader, runDir, report, watchFolder, this.#options.racyMs);
    this.#options.saving.changed();
    return settle(entry);
  }

  /** One sweep cycle: every run, the most likely to change first. */
  sweepOrder(): SweepItem[] {
    const order = [...this.#states].map(([key, state]) => ({
      key,
      state,
      a: activity(state.entry),
    }));
    return order.sort((x, y) => y.a - x.a);
  }

  /** The sweep's step: re-checks the run unless a search replaced it or it is watched whole. */
  async sweep({ key, state: before }: SweepItem): Promise<void> {
    const state = this.#states.get(key);
    if (state !== before || state.clean) return; // replaced, or watched and clean
    await this.#sweepRun(key, state);
  }

  /** Proves a run now as the sweep would, unless it is unknown, watched and clean, or dirty. */
  async recheck(runDir: string): Promise<void> {
    const key = this.key(runDir);
    const state = this.#states.get(key);
    // Watched and clean: a change would have raised an event; dirty: it already did.
    if (state && !state.clean && !state.dirty) await this.#sweepRun(key, state);
  }

  async #sweepRun(key: string, state: RunState): Promise<void> {
    const report: ProblemHandler = () => {}; // a search reports a run's problems
    const runDir = join(this.#root, key);
    if (this.#watches.count + 8 > this.#watches.forRuns) {
      // No room: only a changed run (the most active of all) takes the watches of the least
      // active watched run.
      if (isCurrent(runDir, state.entry)) {
        state.checkedAt = Date.now();
        return;
      }
      this.#evictLeastActive();
    }
    let next: RunState;
    try {
      next = await this.check(runDir, state, report);
    } catch {
      return; // unreadable now: the next search reports it
    }
    if (this.#states.get(key) !== state) {
      this.#watches.release(next.watchers); // a search replaced it meanwhile
      return;
    }
    next.checkedAt = Date.now();
    this.#states.set(key, next);
    if (next.entry !== state.entry) this.#options.changed(runDir);
  }

  /** Frees the watches of the watched run least active. */
  #evictLeastActive(): void {
    let least: RunState | undefined;
    let lowest = Number.POSITIVE_INFINITY;
    for (const state of this.#states.values()) {
      if (state.watchers.length === 0) continue;
      const a = activity(state.entry);
      if (a < lowest) {
        lowest = a;
        least = state;
      }
    }
    if (!least) return;
    this.#watches.release(least.watchers);
    least.clean = false;
  }

  /** Marks a run written through the store: read again before it is trusted. */
  invalidate(runDir: string): void {
    const key = this.key(runDir);
    this.#invalidated.add(key);
    const state = this.#states.get(key);
    if (state) {
      state.clean = false;
      state.dirty = true;
      state.entry.racy = true;
      state.checkedAt = undefined;
    }
  }

  /** A dataset record of the experiment changed: the runs that link one are re-checked. */
  datasetChanged(experimentDir: string): void {
    const prefix = `${relative(this.#root, experimentDir)}/`;
    for (const [key, run] of this.#states) {
      if (key.startsWith(prefix) && run.entry.extra.some((p) => p.startsWith("../datasets/"))) {
        run.clean = false;
        run.dirty = true;
      }
    }
  }

  /** Drops the entries of the experiment's run folders that are not in `runDirs` any more. */
  dropGone(experimentDir: string, runDirs: string[]): void {
    const prefix = `${relative(this.#root, experimentDir)}/`;
    const present = new Set(runDirs.map((d) => this.key(d)));
    for (const [key, run] of this.#states) {
      if (key.startsWith(prefix) && !key.includes("/", prefix.length) && !present.has(key)) {
        this.#watches.release(run.watchers);
        this.#states.delete(key);
        this.#options.saving.changed();
      }
    }
  }

  /** Releases every run's watches: each is checked again before it is used. */
  close(): void {
    for (const state of this.#states.values()) {
      this.#watches.release(state.watchers);
      state.clean = false;
      state.dirty = true;
    }
  }
}
