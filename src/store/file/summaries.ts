/**
 * Run summaries and their validity stamps, for the search index (search-index.ts).
 *
 * A summary is exactly what search needs and returns: the `Run` (info, params, tags, latest
 * metrics, dataset inputs), read by RunReader.runFromFolder. Its stamp is a digest of the metadata of
 * every inode the summary was read from: the run folder itself, meta.yaml, metrics/, params/,
 * tags/ (and nested key folders), every key file, inputs/ with each input folder and link, and
 * the experiment's dataset records the links name. Per inode: inode number, size, mtime and
 * ctime (or "missing").
 *
 * Why that is enough: creating, deleting or renaming an entry changes its folder's mtime and
 * ctime; writing a file in place (a metric append, MLflow overwriting a tag or meta.yaml)
 * changes that file's size/mtime/ctime; a file replaced by rename has a new inode. rsync -a and
 * editors may set mtimes back, but ctime is set by the kernel on every change and no tool can
 * set it. The one gap is timestamp granularity (a second write within the same clock tick as
 * the stamp, same size): a stamp taken less than RACY_MS after any of its inodes changed is
 * "racy" and never trusted; the run is read again (as git treats racy index entries).
 *
 * What is not stamped, because its parent folder's stamp already covers every change it can
 * see: files under params/ (write-once in MLflow's format: MLflow refuses to change a param, and
 * ours, rsync and editors replace a file by rename, which changes params/ itself), and paths
 * inside the run folder that were missing (creating one changes its folder; the run folder
 * itself is always stamped, missing or not). A param file
 * rewritten in place by hand, keeping its length, is the one change this does not see.
 *
 * The paths are not stored whole: those that follow from the summary (its keys) are derived
 * again, only the rest (inputs, empty key folders, stray entries) is kept as `extra`.
 */
import { createHash } from "node:crypto";
import type { Stats } from "node:fs";
import { join } from "node:path";
import { isMissing } from "../../atomic.ts";
import type { Run } from "../../entities.ts";
import { WRITING_MS } from "./last-line.ts";
import type { TreeProblem } from "./problems.ts";
import { readRunFolder, statIfAny } from "./run-folder.ts";
import { isTreeError, type RunReader } from "./runs.ts";

/**
 * A stamp younger than this (ms) may miss a same-tick write: the run is re-read next time. As
 * long as a last line without its newline is taken for one being written (last-line.ts), so
 * a run read while a line was half written is read again once it is finished or left.
 */
export const RACY_MS = WRITING_MS;

/** One run folder in the index. Exactly one of `run` / `problem` / neither (not a run). */
export interface Entry {
  stamp: string;
  /** Stamped paths (relative to the run folder, folders end in `/`) not derived from `run`. */
  extra: string[];
  run?: Run;
  problem?: TreeProblem;
  racy?: boolean;
  /** The stamped paths, sorted (derived from `run` and `extra` once, then kept). */
  paths?: string[];
}

/**
 * Whether a path read is part of the stamp (see the top of this file). The run folder always
 * is, even missing: nothing else in the stamp would change when it appears (again).
 */
function stamped(path: string, stat: Stats | undefined): boolean {
  if (path.startsWith("params/") && !path.endsWith("/")) return false;
  return stat !== undefined || path === "/" || path.startsWith("../");
}

/** The stamped paths a summary was necessarily read from; folders end in `/`. */
export function derivedPaths(run: Run | undefined): string[] {
  if (run === undefined) return ["/"];
  const paths = ["/", "meta.yaml"];
  // A namespace folder with no keys (or missing) is in `extra` when it exists.
  const add = (namespace: string, keys: string[], files: boolean) => {
    if (keys.length === 0) return;
    paths.push(`${namespace}/`);
    for (const key of keys) {
      const parts = key.split("/");
      for (let i = 1; i < parts.length; i++)
        paths.push(`${namespace}/${parts.slice(0, i).join("/")}/`);
      if (files) paths.push(`${namespace}/${key}`);
    }
  };
  add("metrics", Object.keys(run.data.metrics), true);
  add("params", Object.keys(run.data.params), false);
  add("tags", Object.keys(run.data.tags), true);
  return paths;
}

function allPaths(entry: Entry): string[] {
  entry.paths ??= [...new Set([...derivedPaths(entry.run), ...entry.extra])].sort();
  return entry.paths;
}

/** The folders among an entry's paths, absolute: what a watcher must watch. */
export function entryFolders(runDir: string, entry: Entry): string[] {
  return allPaths(entry)
    .filter((p) => p.endsWith("/"))
    .map((p) => (p === "/" ? runDir : join(runDir, p)));
}

const describe = (stat: Stats | undefined) =>
  stat ? `${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}` : "-";

function digest(lines: string[]): string {
  return createHash("sha1").update(lines.join("\n")).digest("base64url").slice(0, 20);
}

// 0 trusts every stamp: Date.now() drops the fraction of a millisecond a file's times keep, so
// a file changed in this very millisecond would look changed after now.
const isRacy = (stat: Stats | undefined, now: number, racyMs: number) =>
  racyMs > 0 && stat !== undefined && (now - stat.ctimeMs < racyMs || now - stat.mtimeMs < racyMs);

/** Paths are already normal (no `.` or `//`; `../` only for dataset records): no join needed. */
function statPath(runDir: string, path: string): Stats | undefined {
  const full =
    path === "/" ? runDir : path.startsWith("../") ? join(runDir, path) : `${runDir}/${path}`;
  return statIfAny(full);
}

/**
 * True when the entry still describes the folder: every path stat'ed again (no folder listing,
 * no file read), same digest, and the entry was not racy.
 */
export function isCurrent(runDir: string, entry: Entry): boolean {
  if (entry.racy) return false;
  const lines: string[] = [];
  for (const path of allPaths(entry)) lines.push(`${path}\0${describe(statPath(runDir, path))}`);
  return digest(lines) === entry.stamp;
}

/**
 * Reads a run folder afresh in one synchronous pass (run-folder.ts): each folder stat'ed before
 * it is listed, each file fstat'ed on the descriptor it is then read through; the stamp digests
 * those stats and the summary is assembled from those very bytes. A change racing with the read
 * leaves a stamp older than the content, which the next check sees as changed; never the
 * reverse. `beforeFolder` is called with each folder before it is stat'ed (the index watches it
 * there).
 */
export async function readEntry(
  reader: RunReader,
  runDir: string,
  report: (problem: TreeProblem) => void,
  beforeFolder: (dir: string) => void = () => {},
  racyMs = RACY_MS,
): Promise<Entry> {
  const now = Date.now();
  const read = readRunFolder(runDir, beforeFolder);
  const { stats } = read;
  const paths = [...stats.keys()].filter((p) => stamped(p, stats.get(p))).sort();
  const entry: Entry = {
    stamp: digest(paths.map((p) => `${p}\0${describe(stats.get(p))}`)),
    extra: [],
    paths,
  };
  // Unstamped files count too: a param written in this tick is not in the summary for sure.
  if ([...stats.values()].some((stat) => isRacy(stat, now, racyMs))) entry.racy = true;
  if (stats.get("meta.yaml") !== undefined) {
    try {
      entry.run = reader.runFromFolder(read, report);
    } catch (error) {
      if (isTreeError(error)) entry.problem = error.problem;
      else if (!isMissing(error)) throw error;
    }
  }
  const derived = new Set(derivedPaths(entry.run));
  entry.extra = paths.filter((p) => !derived.has(p));
  return entry;
}
