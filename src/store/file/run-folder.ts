/**
 * One synchronous pass over a run folder: every inode a run summary depends on is stat'ed and
 * every file read, with the stat of each file taken from the very descriptor it is read through
 * (open, fstat, read, close). Of a metric file only its latest point is kept, read without its
 * whole history where that can be proven the same (latest-point.ts). RunReader assembles the
 * Run from what this collected; the search index (summaries.ts) also digests the stats into the
 * run's stamp.
 *
 * Synchronous on purpose: a run holds a few dozen small files, and Node's promise-based fs costs
 * far more per call (a thread-pool round trip, a FileHandle, promises) than the system calls
 * themselves; reading 10,000 runs this way is several times faster.
 *
 * Order (what makes a stamp safe, see summaries.ts): each folder is stat'ed before it is listed,
 * each file stat'ed before (by fstat on the same descriptor) its bytes are read. A change racing
 * with the pass leaves a stamp older than the content, never the reverse.
 */
import {
  closeSync,
  type Dirent,
  fstatSync,
  openSync,
  readdirSync,
  readSync,
  type Stats,
  statSync,
} from "node:fs";
import { join } from "node:path";
import { isMissing } from "../../atomic.ts";
import type { Metric } from "../../entities.ts";
import { latestInMetricFile } from "./latest-point.ts";
import { asTreeError, utf8Text } from "./problems.ts";
import { fromYaml } from "./yaml.ts";

const NAMESPACES = ["metrics", "params", "tags"] as const;
/** Dataset ids the stamp follows into `../datasets/` (those that cannot climb out of it). */
const SAFE_ID = /^[\w.-]+$/;

/**
 * A file as read: its stat (undefined: missing), and its text (a metric file: its latest point)
 * or the error reading it.
 */
export interface FileRead {
  stat: Stats | undefined;
  text?: string;
  latest?: Metric;
  error?: unknown;
}

export interface RunFolderRead {
  runDir: string;
  /** Every stamped path (relative to the run folder, folders end in `/`) and its stat. */
  stats: Map<string, Stats | undefined>;
  /** Every file read, by the same relative path. */
  files: Map<string, FileRead>;
  /** The keys found under metrics/, params/ and tags/ (`/`-separated), sorted. */
  keys: Record<(typeof NAMESPACES)[number], string[]>;
  /** The entries of inputs/, sorted; empty when there is no inputs/ folder. */
  inputs: string[];
}

/**
 * A path's stat, or undefined when nothing can be there (missing, under a file, a link loop);
 * a folder path ending in `/` is undefined unless it is a folder.
 */
export function statIfAny(path: string): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw asTreeError(path, error);
  }
}

/** The error of a failed read, with the stat of its path as statSync reports it. */
function failedRead(path: string, error: unknown): FileRead {
  if ((error as NodeJS.ErrnoException).code === "ENOENT") return { stat: undefined, error };
  try {
    return { stat: statSync(path, { throwIfNoEntry: false }), error };
  } catch {
    return { stat: undefined, error }; // a link loop, a permission: the read's error says it
  }
}

/**
 * open + fstat + read + close: the stat describes the inode read, taken before its bytes. Reads
 * up to the size the stat saw (a regular file), so the text never runs ahead of the stamp by an
 * append; other files are read to their end.
 */
export function readFileWithStat(path: string): FileRead {
  return withStat(path, (fd, stat) => {
    const regular = stat.isFile();
    let buffer = Buffer.allocUnsafe(regular ? stat.size : 8192);
    let total = 0;
    while (!regular || total < stat.size) {
      if (total === buffer.length) {
        const grown = Buffer.allocUnsafe(buffer.length * 2);
        buffer.copy(grown, 0, 0, total);
        buffer = grown;
      }
      const n = readSync(fd, buffer, total, buffer.length - total, null);
      if (n === 0) break;
      total += n;
    }
    return { stat, text: utf8Text(path, buffer.subarray(0, total)) };
  });
}

/** Opens `path`, takes its stat, then reads it with `read`; an error is the read's result. */
function withStat(path: string, read: (fd: number, stat: Stats) => FileRead): FileRead {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (error) {
    return failedRead(path, error);
  }
  let stat: Stats | undefined;
  try {
    stat = fstatSync(fd);
    return read(fd, stat);
  } catch (error) {
    return stat ? { stat, error } : failedRead(path, error);
  } finally {
    closeSync(fd);
  }
}

/** A metric file as `readFileWithStat` reads a file, but only its latest point kept. */
function readMetricWithStat(path: string, key: string): FileRead {
  return withStat(path, (fd, stat) => {
    const latest = latestInMetricFile(fd, stat, path, key);
    return latest === undefined ? { stat } : { stat, latest };
  });
}

/** Reads a run folder in one pass; `beforeFolder` is called with each folder before its stat. */
export function readRunFolder(
  runDir: string,
  beforeFolder: (dir: string) => void = () => {},
): RunFolderRead {
  const read: RunFolderRead = {
    runDir,
    stats: new Map(),
    files: new Map(),
    keys: { metrics: [], params: [], tags: [] },
    inputs: [],
  };
  const folder = (path: string): Stats | undefined => {
    const dir = path === "/" ? runDir : join(runDir, path);
    beforeFolder(dir);
    const stat = statIfAny(dir);
    read.stats.set(path, stat);
    return stat;
  };
  const file = (path: string, metricKey?: string): FileRead => {
    const full = join(runDir, path);
    const got =
      metricKey === undefined ? readFileWithStat(full) : readMetricWithStat(full, metricKey);
    read.stats.set(path, got.stat);
    read.files.set(path, got);
    return got;
  };
  const list = (path: string): Dirent[] | undefined => {
    try {
      return readdirSync(join(runDir, path), { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  };

  folder("/");
  if (file("meta.yaml").stat === undefined) return read;
  for (const namespace of NAMESPACES) {
    const keys = read.keys[namespace];
    const walk = (path: string, prefix: string) => {
      if (!folder(`${path}/`)?.isDirectory()) return;
      for (const entry of list(path) ?? []) {
        const key = `${prefix}${entry.name}`;
        if (entry.isDirectory()) walk(`${path}/${entry.name}`, `${key}/`);
        else if (entry.isFile()) {
          file(`${path}/${entry.name}`, namespace === "metrics" ? key : undefined);
          keys.push(key);
        }
      }
    };
    walk(namespace, "");
    keys.sort();
  }
  // inputs/, each input folder and link, and the dataset record each link names.
  if (folder("inputs/")?.isDirectory()) {
    read.inputs = (list("inputs") ?? []).map((entry) => entry.name).sort();
    for (const name of read.inputs) {
      folder(`inputs/${name}/`);
      const link = file(`inputs/${name}/meta.yaml`);
      if (link.text === undefined) continue;
      let source: unknown;
      try {
        source = (fromYaml(link.text) as Record<string, unknown> | null)?.source_id;
      } catch {
        continue; // reading the run reports it; the link's stamp covers a later fix
      }
      if (typeof source === "string" && SAFE_ID.test(source)) {
        file(`../datasets/${source}/meta.yaml`);
      }
    }
  }
  return read;
}

/** The error a read of `path` met: a missing file's ENOENT, anything else a TreeError naming it. */
function readError(read: RunFolderRead, path: string, error: unknown): unknown {
  return isMissing(error) ? error : asTreeError(join(read.runDir, path), error);
}

/** The latest point of a metric file the pass read, or its error thrown (see readError). */
export function latestOf(read: RunFolderRead, path: string): Metric | undefined {
  const got = read.files.get(path);
  if (got?.error !== undefined) throw readError(read, path, got.error);
  return got?.latest;
}

/** The text of a file the pass read, or its error thrown (see readError); `undefined` when it was not read. */
export function textOf(read: RunFolderRead, path: string): string | undefined {
  const got = read.files.get(path);
  if (got === undefined) return undefined;
  if (got.error === undefined) return got.text;
  throw readError(read, path, got.error);
}
