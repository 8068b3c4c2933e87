/**
 * The search index: every run's summary (summaries.ts), kept in memory between searches and in
 * the index file at the tree's root (index-file.ts), so a new process starts from it. It is a
 * cache (design rule 1): every entry proves itself against the tree before it is trusted, in one
 * of two ways.
 *
 * One-shot (the default, `watch: false`): every search re-checks every run by stat'ing the paths
 * of its stamp (summaries.ts). Complete: every change by any process is seen by the next search.
 *
 * Long-lived (`watch: true`, a server or a UI), where a warm search must not touch the disk:
 *
 * - Experiment folders (and their datasets/) are watched (Linux inotify through fs.watch), so a
 *   run folder added, removed or moved is seen by the next search.
 * - Runs are watched whole (the run folder, metrics/, params/, tags/, nested key folders,
 *   inputs/ and its input folders: four watches for a plain run) while the watch budget lasts:
 *   half of `fs.inotify.max_user_watches` (or `maxWatches`). The runs most likely to change get
 *   the watches first (running, then by latest activity); a run the sweep finds changed takes
 *   the watches of the least active watched run. A watch is placed before the folder is
 *   stat'ed, so a change after the stamp always raises an event; an event marks the run dirty
 *   and the next search re-checks it (a search first lets the event loop deliver pending
 *   events, which the kernel queues before the writer's call returns). A clean watched run
 *   costs no system call.
 * - Every run not watched whole is re-checked by its stamp by a background sweep, which uses at
 *   most half of one core (slices of 10 ms, each followed by as long a pause) and cycles
 *   through them for as long as the index is open; runs loaded from the index file are proven
 *   by it too, so a search answers from the file at once instead of first stat'ing the tree.
 *   A change by another process to an unwatched run is therefore seen within two sweep cycles
 *   (`stats.sweepMs` is the last cycle's length), and a watched run's at once.
 * - Writes through this FileStore invalidate their run directly (`invalidate`): seen at once.
 *
 * Changes seen: a metric line appended (file size/ctime; IN_MODIFY on metrics/), a tag file
 * added, edited in place or removed, a param file added or removed, meta.yaml rewritten
 * (delete/restore/rename/status, by us or by MLflow in place), a run folder added or removed,
 * an experiment moved to or from .trash (the FileStore resolves experiment folders on every
 * search), an rsync of a newer copy (temp file + rename: new inode, folder ctime; mtimes set back
 * do not hide it), dataset inputs and records. Not seen: a param file rewritten in place
 * (summaries.ts: MLflow never does); inotify queue overflow (more than
 * fs.inotify.max_queued_events events waiting while this process is blocked) is dropped silently
 * by libuv, so a watched run changed in such a burst may stay stale in this process (a new
 * process re-checks by stamps); and network filesystems do not report changes made on other
 * machines to inotify: use `{ watch: false }` there.
 *
 * Here: the searches, the experiments (listings watched, summaries kept) and the change feed;
 * the runs held and how each is proven are index-runs.ts, the watches index-watches.ts, the
 * sweep's pacing index-sweep.ts, reading and writing the file index-saving.ts.
 */
import type { FSWatcher } from "node:fs";
import { dirname, join } from "node:path";
import { inView, type Run, type ViewType } from "../../entities.ts";
import { INDEX_FILE } from "../../tree-files.ts";
import { IndexRuns, type SweepItem } from "./index-runs.ts";
import { IndexSaving } from "./index-saving.ts";
import { Sweep } from "./index-sweep.ts";
import { defaultMaxWatches, drainEvents, Watches } from "./index-watches.ts";
import type { ProblemHandler, TreeProblem } from "./problems.ts";
import type { RunReader } from "./runs.ts";
import { isCurrent } from "./summaries.ts";

export interface SearchIndexOptions {
  /** The index file; `null` keeps the index in memory only. Default: `<root>/.mlruns-index.json`. */
  file?: string | null;
  /**
   * The long-lived mode: folders watched (Linux inotify) within the budget and a background
   * sweep for the rest, so warm searches need no system call per run. Off by default: worth it
   * only in a process that searches a tree many times (a server, a UI); a script or a command
   * searches once, and every search then checks every run. Never on network filesystems.
   */
  watch?: boolean;
  /** At most this many folder watches. Default: half of fs.inotify.max_user_watches. */
  maxWatches?: number;
  /** Stamps younger than this (ms) are not trusted (summaries.ts RACY_MS); 0 trusts all (tests). */
  racyMs?: number;
}

/** A change a watch or the sweep saw: in an experiment folder, or in one of its runs. */
export interface TreeChange {
  experimentDir: string;
  runDir?: string;
}

export interface SearchIndexStats {
  /** Runs held. */
  runs: number;
  /** Runs watched whole (trusted without a system call). */
  watched: number;
  /** Folder watches held. */
  watches: number;
  /** Sweep cycles completed, and the length (ms) of the last one (long-lived mode). */
  sweeps: number;
  sweepMs: number | undefined;
}

interface ExperimentState {
  runDirs?: string[];
  clean: boolean;
  watchers: FSWatcher[];
  /** Bumped by every change seen in the experiment or any of its runs. */
  generation: number;
  /** Every run's summary and problem, kept while the listing and all its runs stay unchanged. */
  summaries?: { runs: Run[]; problems: TreeProblem[] };
}

export class SearchIndex {
  readonly #reader: RunReader;
  readonly #watch: boolean;
  readonly #watches: Watches;
  #loaded: Promise<void> | undefined;
  readonly #runs: IndexRuns;
  readonly #experiments = new Map<string, ExperimentState>();
  readonly #saving: IndexSaving;
  readonly #listeners = new Set<(change: TreeChange) => void>();
  readonly #sweep: Sweep<SweepItem>;

  constructor(root: string, reader: RunReader, options: SearchIndexOptions = {}) {
    this.#reader = reader;
    const file = options.file === undefined ? join(root, INDEX_FILE) : options.file;
    this.#saving = new IndexSaving(file ?? undefined, root, () => this.#runs.entries());
    this.#watch = options.watch ?? false;
    const linux = process.platform === "linux";
    this.#watches = new Watches(
      this.#watch && linux ? (options.maxWatches ?? defaultMaxWatches()) : 0,
    );
    this.#runs = new IndexRuns(root, {
      reader,
      watches: this.#watches,
      saving: this.#saving,
      watch: this.#watch,
      racyMs: options.racyMs,
      changed: (runDir) => {
        this.#touch(dirname(runDir));
        this.#emit({ experimentDir: dirname(runDir), runDir });
      },
    });
    this.#sweep = new Sweep({
      cycle: () => this.#runs.sweepOrder(),
      visit: (item) => this.#runs.sweep(item),
      cycleDone: () => this.#saving.saveSoon(),
    });
  }

  /** How many runs are held and watched, the watches, and the sweep (for reports and tests). */
  get stats(): SearchIndexStats {
    const { size: runs, watched } = this.#runs;
    const { cycles: sweeps, lastMs: sweepMs } = this.#sweep;
    return { runs, watched, watches: this.#watches.count, sweeps, sweepMs };
  }

  async #load(): Promise<void> {
    this.#loaded ??= (async () => this.#runs.load(await this.#saving.read()))();
    return this.#loaded;
  }

  /**
   * The summaries of every run in `experimentDirs` in `viewType`, current as of this call
   * (long-lived: within the sweep's bound for runs not watched). The objects are shared with the
   * index: callers must clone what they hand out.
   */
  async runs(experimentDirs: string[], viewType: ViewType, report: ProblemHandler): Promise<Run[]> {
    await this.#load();
    if (this.#watch) await drainEvents();
    const out: Run[] = [];
    for (const experimentDir of experimentDirs) {
      const { runs, problems } = await this.#summaries(experimentDir, report);
      for (const problem of problems) report(problem);
      for (const run of runs) {
        const stage = run.info.lifecycleStage;
        if (inView(stage, viewType)) out.push(run);
      }
    }
    if (this.#watch) this.#sweep.start();
    this.#saving.saveSoon();
    return out;
  }

  /**
   * One experiment's summaries: the list kept from the last search while nothing in the
   * experiment changed since (a warm long-lived search touches no run at all), else each run
   * that needs it re-checked: every run (one-shot), or new and dirty ones (long-lived).
   */
  async #summaries(
    experimentDir: string,
    report: ProblemHandler,
  ): Promise<{ runs: Run[]; problems: TreeProblem[] }> {
    const kept = this.#experiments.get(experimentDir);
    if (kept?.clean && kept.summaries) return kept.summaries;
    const runDirs = await this.#runDirs(experimentDir);
    const experiment = this.#experiments.get(experimentDir) as ExperimentState;
    const generation = experiment.generation;
    const summaries: { runs: Run[]; problems: TreeProblem[] } = { runs: [], problems: [] };
    const now = Date.now();
    for (const runDir of runDirs) {
      const key = this.#runs.key(runDir);
      let state = this.#runs.get(key);
      if (!state || (this.#watch ? state.dirty || state.entry.racy : !state.clean)) {
        state = await this.#runs.check(runDir, state, report);
        this.#runs.set(key, state);
        state.checkedAt = now;
      } else if (state.clean) state.checkedAt = now;
      const { run, problem } = state.entry;
      if (problem) summaries.problems.push(problem);
      if (!run) continue;
      this.#reader.remember(run.info.runId, runDir);
      summaries.runs.push(run);
    }
    if (this.#watch && experiment.clean && experiment.generation === generation) {
      experiment.summaries = summaries;
    }
    return summaries;
  }

  /**
   * The summary of a run proven current within the last `maxAgeMs` (by a search or the sweep),
   * unless racy; undefined otherwise. Lets a caller that just searched skip reading the run
   * again. A search that hands over an experiment's kept list does not renew the proof: the
   * caller then reads the run, which is only slower.
   */
  proven(runDir: string, maxAgeMs: number): Run | undefined {
    const state = this.#runs.get(this.#runs.key(runDir));
    const { entry, checkedAt } = state ?? {};
    if (!entry?.run || entry.racy || state?.dirty || checkedAt === undefined) return undefined;
    return Date.now() - checkedAt <= maxAgeMs ? entry.run : undefined;
  }

  /**
   * The summary of a run when the index holds one that still describes its folder: watched with
   * no event since, or its stamp checked now (summaries.ts); undefined when it holds none, or
   * one that is racy, changed or written through the store. Shared with the index: callers must
   * clone it.
   */
  async current(runDir: string): Promise<Run | undefined> {
    const key = this.#runs.key(runDir);
    if (this.#watch) await drainEvents();
    const state = this.#runs.get(key);
    const entry = state?.entry;
    if (!entry?.run || entry.racy) return undefined;
    if (state?.clean && !state.dirty) return entry.run;
    return isCurrent(runDir, entry) ? entry.run : undefined;
  }

  /**
   * Calls `listener` for every change a watch or the sweep sees, as it is seen (a live view's
   * feed): at once for watched runs and experiment folders, within the sweep's bound for the
   * others. Returns the function that stops the calls.
   */
  onChange(listener: (change: TreeChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Proves these runs now rather than when the sweep comes to them (the runs a live page shows):
   * each one not watched whole is re-checked by its stamp, and a change is reported to the
   * `onChange` listeners and takes watches, as when the sweep finds it. Unknown runs are skipped.
   */
  async recheck(runDirs: readonly string[]): Promise<void> {
    await this.#load();
    for (const runDir of runDirs) await this.#runs.recheck(runDir);
  }

  #emit(change: TreeChange): void {
    for (const listener of this.#listeners) listener(change);
  }

  /** Marks a run changed (a write through this store): it is read again at the next search. */
  invalidate(runDir: string): void {
    this.#runs.invalidate(runDir);
    this.#touch(dirname(runDir), { relist: true });
  }

  /** Something in an experiment changed: its kept summaries go (and its listing, if asked). */
  #touch(experimentDir: string, { relist = false } = {}): void {
    const experiment = this.#experiments.get(experimentDir);
    if (!experiment) return;
    experiment.generation++;
    experiment.summaries = undefined;
    if (relist) experiment.clean = false;
  }

  async #runDirs(experimentDir: string): Promise<string[]> {
    let state = this.#experiments.get(experimentDir);
    if (state?.clean && state.runDirs) return state.runDirs;
    if (!state) {
      state = { clean: false, watchers: [], generation: 0 };
      this.#experiments.set(experimentDir, state);
    }
    this.#watches.release(state.watchers);
    const changed = { seen: false };
    const relist = () => {
      changed.seen = true;
      this.#touch(experimentDir, { relist: true });
      this.#emit({ experimentDir });
    };
    // A dataset record changed: the runs that link one are re-checked by their stamps.
    const datasetChanged = () => {
      relist();
      this.#runs.datasetChanged(experimentDir);
    };
    const all = await this.#watches.watchExperiment(
      state.watchers,
      experimentDir,
      relist,
      datasetChanged,
    );
    state.runDirs = await this.#reader.runDirs(experimentDir);
    state.clean = all && !changed.seen;
    this.#runs.dropGone(experimentDir, state.runDirs);
    return state.runDirs;
  }

  /** Writes the index file now (also done after large re-reads, and soon after small ones). */
  save(): Promise<void> {
    return this.#saving.save();
  }

  /** Stops the sweep and the watches, and writes what is unsaved. */
  async close(): Promise<void> {
    this.#sweep.stop();
    // Used after this, it checks every run again (the sweep is gone).
    this.#runs.close();
    for (const state of this.#experiments.values()) this.#watches.release(state.watchers);
    this.#experiments.clear();
    await this.save();
  }
}
