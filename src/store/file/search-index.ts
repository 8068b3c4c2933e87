/**
 * The search index: every run's summary (summaries.ts), kept in memory between searches and in
 * a lowdb file at the tree's root (`.mlruns-index.json`, a plain file, which MLflow ignores) so
 * a new process starts from it. It is a cache (design rule 1): a missing, half-written,
 * unreadable or other-version file is ignored and rebuilt; every entry proves itself against
 * the tree before it is used.
 *
 * How a search knows an entry is current — every change by any process is seen by the next
 * search:
 *
 * - Watched runs (Linux inotify through fs.watch, one watch per folder: the run folder,
 *   metrics/, params/, tags/, nested key folders, inputs/ and its input folders; plus each
 *   searched experiment folder and its datasets/). A watch is placed before the folder is
 *   stat'ed, so a change after the stamp always raises an event. Any event marks the run (or
 *   the experiment's listing) dirty; a search first lets the event loop deliver pending events
 *   (the kernel queues them before the writer's call returns), then re-checks dirty runs only.
 *   A clean watched run costs no system call at all, and an experiment in which no event came
 *   since the last search hands over its list of summaries as it is: a warm search only runs
 *   the filter over summaries in memory. Four watches a run (run folder, metrics/, params/,
 *   tags/) is what a 100,000-run tree costs in the system's inotify budget.
 * - Unwatched runs (watch budget spent, watching off, or not Linux) are re-checked on every
 *   search by stat'ing every path of their stamp (summaries.ts): complete, but ~40 stats a run.
 * - A re-check that fails (stamp differs, racy stamp) reads the run again.
 * - Writes through this FileStore invalidate the run directly (`invalidate`).
 *
 * Changes seen: a metric line appended (file size/ctime; IN_MODIFY on metrics/), a param/tag
 * file added, edited in place or removed, meta.yaml rewritten (delete/restore/rename/status, by
 * us or by MLflow in place), a run folder added or removed, an experiment moved to or from
 * .trash (the FileStore resolves experiment folders on every search), an rsync of a newer copy
 * (temp file + rename: new inode, folder ctime; mtimes set back do not hide it), dataset inputs
 * and records. Not seen: inotify queue overflow (more than fs.inotify.max_queued_events events
 * waiting while this process is blocked) is dropped silently by libuv, so a watched run changed
 * in such a burst may stay stale in this process until `refresh()` (a new process re-checks by
 * stamps); and network filesystems do not report changes made on other machines to inotify —
 * use `{ watch: false }` there (every search then re-checks by stamps).
 */
import { watch as fsWatch, type FSWatcher, readFileSync } from "node:fs";
import { promises as fs } from "node:fs";
import { dirname, join, relative } from "node:path";
import { Low } from "lowdb";
import type { Run, ViewType } from "../../entities.ts";
import type { ProblemHandler, TreeProblem } from "./problems.ts";
import type { RunReader } from "./runs.ts";
import {
  decodeEntry,
  type Entry,
  encodeEntry,
  entryFolders,
  isCurrent,
  isStoredEntry,
  readEntry,
  type StoredEntry,
} from "./summaries.ts";
import { isMissing, replaceFile } from "../../atomic.ts";

export const INDEX_FILE = ".mlruns-index.json";
const FORMAT = "mlruns-search-index";
const VERSION = 1;
/** Re-reading at least this many runs saves the index before the search returns. */
const SAVE_NOW = 1000;
const SAVE_DELAY_MS = 2000;

export interface SearchIndexOptions {
  /** The index file; `null` keeps the index in memory only. Default: `<root>/.mlruns-index.json`. */
  file?: string | null;
  /**
   * Watch folders for changes (Linux inotify), so warm searches need no system call per run.
   * Off by default: worth it only in a long-lived process that searches a tree many times (a
   * server, a UI); a script or a command searches once, and watches would only cost time and
   * the system's watch budget. Never on network filesystems.
   */
  watch?: boolean;
  /** At most this many folder watches. Default: half of fs.inotify.max_user_watches. */
  maxWatches?: number;
  /** Stamps younger than this (ms) are not trusted (summaries.ts RACY_MS); for tests. */
  racyMs?: number;
}

/** A change a watch saw: in an experiment folder, or in one of its runs (`runDir` set). */
export interface TreeChange {
  experimentDir: string;
  runDir?: string;
}

interface IndexData {
  format: string;
  version: number;
  entries: Record<string, StoredEntry>;
}

/** A lowdb adapter that never tears the file, even with several processes writing it. */
class AtomicJsonFile {
  readonly #file: string;

  constructor(file: string) {
    this.#file = file;
  }

  async read(): Promise<IndexData | null> {
    let text: string;
    try {
      text = await fs.readFile(this.#file, "utf8");
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
    try {
      const data = JSON.parse(text) as Partial<IndexData> | null;
      const { entries } = data ?? {};
      const ours =
        data?.format === FORMAT &&
        data.version === VERSION &&
        typeof entries === "object" &&
        entries !== null &&
        !Array.isArray(entries);
      return ours ? (data as IndexData) : null;
    } catch {
      return null; // half-written by a crashed tool, or not ours: rebuilt
    }
  }

  /** Replaced whole: readers see the old index or the new one. */
  async write(data: IndexData): Promise<void> {
    await replaceFile(this.#file, JSON.stringify(data));
  }
}

function defaultMaxWatches(): number {
  try {
    const max = Number(readFileSync("/proc/sys/fs/inotify/max_user_watches", "utf8"));
    return Number.isFinite(max) ? Math.floor(max / 2) : 0;
  } catch {
    return 0;
  }
}

interface RunState {
  entry: Entry;
  /** When the entry was last proven current (read, or its stamp checked). */
  checkedAt?: number;
  /** A watch holds every folder of the run, and no event came since the last check. */
  clean: boolean;
  watchers: FSWatcher[];
}

interface ExperimentState {
  runDirs?: string[];
  clean: boolean;
  watchers: FSWatcher[];
  /** Bumped by every change seen in the experiment or any of its runs. */
  generation: number;
  /** Every run's summary and problem, kept while the listing and all its runs stay clean. */
  summaries?: { runs: Run[]; problems: TreeProblem[] };
}

export class SearchIndex {
  readonly #reader: RunReader;
  readonly #root: string;
  readonly #prefix: string;
  readonly #db: Low<IndexData> | undefined;
  readonly #watch: boolean;
  readonly #maxWatches: number;
  readonly #racyMs: number | undefined;
  #watchCount = 0;
  #loaded: Promise<void> | undefined;
  readonly #runs = new Map<string, RunState>();
  readonly #experiments = new Map<string, ExperimentState>();
  #unsaved = 0;
  #saveTimer: NodeJS.Timeout | undefined;
  #saving: Promise<void> = Promise.resolve();
  readonly #listeners = new Set<(change: TreeChange) => void>();

  constructor(root: string, reader: RunReader, options: SearchIndexOptions = {}) {
    this.#root = root;
    this.#prefix = join(root, "/");
    this.#reader = reader;
    const file = options.file === undefined ? join(root, INDEX_FILE) : options.file;
    if (file !== null) {
      this.#db = new Low(new AtomicJsonFile(file), {
        format: FORMAT,
        version: VERSION,
        entries: {},
      });
    }
    this.#watch = (options.watch ?? false) && process.platform === "linux";
    this.#racyMs = options.racyMs;
    this.#maxWatches = this.#watch ? (options.maxWatches ?? defaultMaxWatches()) : 0;
  }

  /** How many runs are held, and how many of them are watched (for reports and tests). */
  get stats(): { runs: number; watched: number; watches: number } {
    let watched = 0;
    for (const state of this.#runs.values()) if (state.clean) watched++;
    return { runs: this.#runs.size, watched, watches: this.#watchCount };
  }

  async #load(): Promise<void> {
    this.#loaded ??= (async () => {
      if (!this.#db) return;
      try {
        await this.#db.read();
      } catch {
        return; // unreadable: start empty
      }
      for (const [key, stored] of Object.entries(this.#db.data.entries)) {
        if (!isStoredEntry(stored)) continue;
        try {
          this.#runs.set(key, { entry: decodeEntry(stored), clean: false, watchers: [] });
        } catch {
          // a malformed entry is simply not used
        }
      }
      this.#db.data.entries = {};
    })();
    return this.#loaded;
  }

  /**
   * The summaries of every run in `experimentDirs` in `viewType`, current as of this call.
   * The objects are shared with the index: callers must clone what they hand out.
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
        if (viewType === "ALL" || (viewType === "ACTIVE_ONLY") === (stage === "active"))
          out.push(run);
      }
    }
    if (this.#unsaved >= SAVE_NOW) await this.save();
    else if (this.#unsaved > 0) this.#scheduleSave();
    return out;
  }

  /**
   * One experiment's summaries: the list kept from the last search while nothing in the
   * experiment changed since (a warm watched search touches no run at all), else each run that
   * is not clean re-checked.
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
    let allClean = experiment.clean;
    const now = Date.now();
    for (const runDir of runDirs) {
      const key = this.#key(runDir);
      let state = this.#runs.get(key);
      if (!state?.clean) {
        state = await this.#check(runDir, state, report);
        this.#runs.set(key, state);
      }
      state.checkedAt = now;
      allClean &&= state.clean;
      const { run, problem } = state.entry;
      if (problem) summaries.problems.push(problem);
      if (!run) continue;
      this.#reader.remember(run.info.runId, runDir);
      summaries.runs.push(run);
    }
    if (allClean && experiment.generation === generation) experiment.summaries = summaries;
    return summaries;
  }

  /** A run folder's key: its path below the root (runDirs always start with the root). */
  #key(runDir: string): string {
    return runDir.startsWith(this.#prefix)
      ? runDir.slice(this.#prefix.length)
      : relative(this.#root, runDir);
  }

  /**
   * The summary of a run proven current within the last `maxAgeMs` (by a search), unless racy;
   * undefined otherwise. Lets a caller that just searched skip reading the run again. A search
   * that hands over an experiment's kept list (watched, unchanged) does not renew the proof: the
   * caller then reads the run, which is only slower.
   */
  proven(runDir: string, maxAgeMs: number): Run | undefined {
    const state = this.#runs.get(this.#key(runDir));
    const { entry, checkedAt } = state ?? {};
    if (!entry?.run || entry.racy || checkedAt === undefined) return undefined;
    return Date.now() - checkedAt <= maxAgeMs ? entry.run : undefined;
  }

  /**
   * Calls `listener` for every change a watch sees, as it is seen (a live view's feed). Only
   * watched folders report: those of experiments and runs searched at least once, within the
   * watch budget. Returns the function that stops the calls.
   */
  onChange(listener: (change: TreeChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(change: TreeChange): void {
    for (const listener of this.#listeners) listener(change);
  }

  /** Marks a run changed (a write through this store): it is read again at the next search. */
  invalidate(runDir: string): void {
    const state = this.#runs.get(this.#key(runDir));
    if (state) {
      state.clean = false;
      state.entry.racy = true;
      state.checkedAt = undefined;
    }
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

  /** Forgets what the watches vouched for: every run is re-checked by its stamp next time. */
  refresh(): void {
    for (const state of this.#runs.values()) state.clean = false;
    for (const dir of this.#experiments.keys()) this.#touch(dir, { relist: true });
  }

  async #runDirs(experimentDir: string): Promise<string[]> {
    let state = this.#experiments.get(experimentDir);
    if (state?.clean && state.runDirs) return state.runDirs;
    if (!state) {
      state = { clean: false, watchers: [], generation: 0 };
      this.#experiments.set(experimentDir, state);
    }
    this.#unwatch(state.watchers);
    const changed = { seen: false };
    const relist = () => {
      changed.seen = true;
      this.#touch(experimentDir, { relist: true });
      this.#emit({ experimentDir });
    };
    // A dataset record changed: the runs that link one are re-checked by their stamps.
    const datasetChanged = () => {
      relist();
      const prefix = `${relative(this.#root, experimentDir)}/`;
      for (const [key, run] of this.#runs) {
        if (key.startsWith(prefix) && run.entry.extra.some((p) => p.startsWith("../datasets/"))) {
          run.clean = false;
        }
      }
    };
    let all = this.#addWatch(state.watchers, experimentDir, relist) === true;
    const datasets = join(experimentDir, "datasets");
    if (this.#addWatch(state.watchers, datasets, datasetChanged) === false) all = false;
    for (const name of await listFolders(datasets)) {
      if (this.#addWatch(state.watchers, join(datasets, name), datasetChanged) === false) {
        all = false;
      }
    }
    state.runDirs = await this.#reader.runDirs(experimentDir);
    state.clean = all && !changed.seen;
    // Entries of run folders that are gone are dropped.
    const prefix = `${relative(this.#root, experimentDir)}/`;
    const present = new Set(state.runDirs.map((d) => relative(this.#root, d)));
    for (const [key, run] of this.#runs) {
      if (key.startsWith(prefix) && !key.includes("/", prefix.length) && !present.has(key)) {
        this.#unwatch(run.watchers);
        this.#runs.delete(key);
        this.#unsaved++;
      }
    }
    return state.runDirs;
  }

  /** Re-checks one run: the same entry when its stamp holds, else a fresh read. */
  async #check(
    runDir: string,
    state: RunState | undefined,
    report: ProblemHandler,
  ): Promise<RunState> {
    const key = this.#key(runDir);
    const changed = { seen: false };
    const onChange = () => {
      changed.seen = true;
      const current = this.#runs.get(key);
      if (current) current.clean = false;
      this.#touch(dirname(runDir));
      this.#emit({ experimentDir: dirname(runDir), runDir });
    };
    const watchers: FSWatcher[] = [];
    let all = this.#watch;
    const watchFolder = (dir: string) => {
      if (this.#addWatch(watchers, dir, onChange) === false) all = false;
    };
    // A run not wholly watched is checked by its stamp anyway: its watches go back to the budget.
    const settle = (entry: Entry): RunState => {
      if (!all) this.#unwatch(watchers);
      return { entry, watchers, clean: all && !changed.seen };
    };
    if (state) {
      this.#unwatch(state.watchers);
      const folders = entryFolders(runDir, state.entry);
      if (this.#watchCount + folders.length > this.#maxWatches) all = false;
      else for (const dir of folders) watchFolder(dir);
      if (isCurrent(runDir, state.entry)) return settle(state.entry);
      this.#unwatch(watchers);
      all = this.#watch;
    }
    this.#reader.forget(runDir);
    const entry = await readEntry(this.#reader, runDir, report, watchFolder, this.#racyMs);
    this.#unsaved++;
    return settle(entry);
  }

  /**
   * Watches `dir`; true when watched, undefined when it does not exist (its parent's watch sees
   * it appear), false when no watch could be placed (budget spent, not Linux, watching off).
   */
  #addWatch(into: FSWatcher[], dir: string, onChange: () => void): boolean | undefined {
    if (!this.#watch || this.#watchCount >= this.#maxWatches) return false;
    try {
      const watcher = fsWatch(dir, { persistent: false }, onChange);
      watcher.on("error", onChange);
      into.push(watcher);
      this.#watchCount++;
      return true;
    } catch (error) {
      if (isMissing(error)) return undefined;
      return false; // ENOSPC (the user's inotify limit), EMFILE, …: checked by stamps instead
    }
  }

  #unwatch(watchers: FSWatcher[]): void {
    for (const watcher of watchers) watcher.close();
    this.#watchCount -= watchers.length;
    watchers.length = 0;
  }

  #scheduleSave(): void {
    if (!this.#db || this.#saveTimer) return;
    this.#saveTimer = setTimeout(() => {
      this.#saveTimer = undefined;
      void this.save().catch(() => {});
    }, SAVE_DELAY_MS);
    this.#saveTimer.unref();
  }

  /** Writes the index file now (also done after large re-reads, and soon after small ones). */
  async save(): Promise<void> {
    if (this.#saveTimer) clearTimeout(this.#saveTimer);
    this.#saveTimer = undefined;
    const db = this.#db;
    if (!db || this.#unsaved === 0) return this.#saving;
    this.#unsaved = 0;
    this.#saving = this.#saving.then(async () => {
      const entries: Record<string, StoredEntry> = {};
      for (const [key, state] of this.#runs) entries[key] = encodeEntry(state.entry);
      db.data = { format: FORMAT, version: VERSION, entries };
      try {
        await db.write();
      } catch {
        // a cache that cannot be written (read-only tree, string too long) is only slower
      } finally {
        db.data.entries = {};
      }
    });
    return this.#saving;
  }

  /** Stops watching and writes what is unsaved. */
  async close(): Promise<void> {
    for (const state of this.#runs.values()) this.#unwatch(state.watchers);
    for (const state of this.#experiments.values()) this.#unwatch(state.watchers);
    this.#experiments.clear();
    for (const state of this.#runs.values()) state.clean = false;
    await this.save();
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
async function drainEvents(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
}
