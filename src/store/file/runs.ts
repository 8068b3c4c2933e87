/**
 * Reading runs from the tree: locating a run folder by id, its meta.yaml (cached by mtime), and
 * its params, tags, latest metrics and inputs. Broken files are reported with their path and
 * line; `readRun` throws on them (as MLflow does), listings skip the run and go on.
 */
import {
  closeSync,
  promises as fs,
  fstatSync,
  openSync,
  readFileSync,
  readSync,
  type Stats,
  statSync,
} from "node:fs";
import { join } from "node:path";
import { isMissing, readDirIfExists } from "../../atomic.ts";
import type { Metric, Run } from "../../entities.ts";
import { invalid, isMlflowError } from "../../errors.ts";
import { runNotFound } from "../checks.ts";
import { inputsFromFolder } from "./inputs.ts";
import { readMetricFile, unendedPoint } from "./last-line.ts";
import { type Layout, RESERVED_EXPERIMENT_FOLDERS, TRASH } from "./layout.ts";
import { readRunDocument, type StoredRun } from "./meta.ts";
import { eachPoint, parseLine, readPoints } from "./metric-read.ts";
import { asTreeError, TreeError, type TreeProblem, utf8Text } from "./problems.ts";
import { latestOf, type RunFolderRead, readRunFolder, statIfAny, textOf } from "./run-folder.ts";
import { EXPERIMENT_FOLDER } from "./tree.ts";
import { fromYaml, yamlProblem } from "./yaml.ts";

export { isTreeError, TreeError } from "./problems.ts";

interface CachedMeta {
  mtimeMs: number;
  size: number;
  run: StoredRun;
}

export class RunReader {
  readonly #locations = new Map<string, string>();
  readonly #metas = new Map<string, CachedMeta>();

  readonly layout: Layout;

  constructor(layout: Layout) {
    this.layout = layout;
  }

  /** Every experiment folder, active ones first, then those in `.trash`. */
  async experimentDirs(): Promise<{ id: string; dir: string; deleted: boolean }[]> {
    const list = async (dir: string, deleted: boolean) => {
      return (await readDirIfExists(dir))
        .filter((e) => e.isDirectory() && !e.name.endsWith(TRASH) && e.name !== "models")
        .filter((e) => EXPERIMENT_FOLDER.test(e.name))
        .map((e) => ({ id: e.name, dir: join(dir, e.name), deleted }));
    };
    return [...(await list(this.layout.root, false)), ...(await list(this.layout.trash, true))];
  }

  /** The run folders of one experiment folder (those holding a meta.yaml are runs). */
  async runDirs(experimentDir: string): Promise<string[]> {
    return (await readDirIfExists(experimentDir))
      .filter((e) => e.isDirectory() && !RESERVED_EXPERIMENT_FOLDERS.has(e.name))
      .map((e) => join(experimentDir, e.name));
  }

  /** Tells where a run is (what a listing just saw), sparing `locate` a search. */
  remember(runId: string, runDir: string): void {
    this.#locations.set(runId, runDir);
  }

  /** The folder of a run, wherever its experiment is (active or in `.trash`). */
  async locate(runId: string): Promise<string> {
    const cached = this.#locations.get(runId);
    if (cached !== undefined && (await this.#hasMeta(cached))) return cached;
    for (const { dir } of await this.experimentDirs()) {
      const candidate = join(dir, runId);
      if (await this.#hasMeta(candidate)) {
        this.#locations.set(runId, candidate);
        return candidate;
      }
    }
    throw runNotFound(runId);
  }

  /** True when the folder has a meta.yaml (whatever it holds: reading it says what is wrong). */
  async #hasMeta(runDir: string): Promise<boolean> {
    const path = join(runDir, "meta.yaml");
    try {
      await fs.stat(path);
      return true;
    } catch (error) {
      if (isMissing(error)) return false;
      throw asTreeError(path, error);
    }
  }

  /**
   * A run's meta.yaml, re-read only when the file changed. Synchronous: a small file, also read
   * where the event loop cannot be waited for (a run's end on process.exit()).
   */
  readMeta(runDir: string): StoredRun {
    const path = join(runDir, "meta.yaml");
    let stat: Stats;
    let bytes: Buffer;
    try {
      stat = statSync(path);
      const cached = this.#metas.get(path);
      if (cached && cached.mtimeMs === stat.mtimeMs && cached.size === stat.size) {
        return structuredClone(cached.run);
      }
      bytes = readFileSync(path);
    } catch (error) {
      if (isMissing(error)) throw error;
      throw asTreeError(path, error);
    }
    const run = parseRunMeta(runDir, utf8Text(path, bytes));
    this.#metas.set(path, { mtimeMs: stat.mtimeMs, size: stat.size, run });
    return structuredClone(run);
  }

  forget(runDir: string): void {
    this.#metas.delete(join(runDir, "meta.yaml"));
  }

  /** Every point of one metric in file order; a malformed line throws naming file and line. */
  async history(key: string, path: string): Promise<Metric[]> {
    let read: { lines: Buffer; size: number };
    try {
      read = await readMetricFile(path);
    } catch (error) {
      if (isMissing(error)) return [];
      throw asTreeError(path, error);
    }
    if (read.size === 0) throw new TreeError({ path, message: "metric file is empty" });
    const points: Metric[] = []; // none when its first line is being written
    eachPoint(read.lines, key, (point) => {
      if (typeof point === "string") {
        throw new TreeError({ path, line: points.length + 1, message: point });
      }
      points.push(point);
    });
    return points;
  }

  /**
   * At most `count` points of one metric from byte `from` of its file, where a line starts, and
   * where the next page starts (none at the end); a malformed line throws naming the file.
   */
  historyPage(
    key: string,
    path: string,
    from: number,
    count: number,
  ): { points: Metric[]; next?: number } {
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch (error) {
      if (isMissing(error) && from === 0) return { points: [] };
      throw asTreeError(path, error);
    }
    try {
      const stat = fstatSync(fd);
      const { size } = stat;
      const before = Buffer.alloc(1);
      if (
        from > 0 &&
        (from > size || readSync(fd, before, 0, 1, from - 1) !== 1 || before[0] !== 0x0a)
      ) {
        throw invalid("Invalid page token: it does not point at a point of this history");
      }
      if (size === 0) throw new TreeError({ path, message: "metric file is empty" });
      const points: Metric[] = [];
      const take = (point: Metric | string) => {
        if (typeof point === "string") throw new TreeError({ path, message: point });
        points.push(point);
        return points.length < count;
      };
      const end = readPoints(fd, from, size, key, take);
      if (points.length === count && end < size) return { points, next: end };
      // Stopped short of `count`: the rest, if any, is a last line without its newline.
      const unended = unendedPoint(fd, end, stat);
      if (unended !== undefined) take(parseLine(key, unended));
      return { points };
    } catch (error) {
      // A folder opens, then fails to read (EISDIR): named as the tree's problem.
      throw isMlflowError(error) ? error : asTreeError(path, error);
    } finally {
      closeSync(fd);
    }
  }

  /** The whole run: info, params, tags, latest metrics and dataset inputs. */
  async readRun(runDir: string, report: (problem: TreeProblem) => void): Promise<Run> {
    return this.runFromFolder(readRunFolder(runDir), report);
  }

  /**
   * The run from what one pass over its folder read (run-folder.ts): the same result, problems
   * and errors as reading each file in turn. Throws the error of meta.yaml (ENOENT: not a run),
   * a TreeError for a broken run, or the I/O error of a file it needed.
   */
  runFromFolder(read: RunFolderRead, report: (problem: TreeProblem) => void): Run {
    const { runDir } = read;
    const { info } = this.#metaFromFolder(read);
    // The folders MLflow requires of a run (else it reports the run as not found).
    for (const folder of ["metrics", "params", "artifacts"]) {
      const path = join(runDir, folder);
      const stat = folder === "artifacts" ? statIfAny(path) : read.stats.get(`${folder}/`);
      if (!stat?.isDirectory()) {
        throw new TreeError({ path, message: "required folder is missing (or not a folder)" });
      }
    }
    const values = (namespace: "params" | "tags") => {
      const out: Record<string, string> = {};
      for (const key of read.keys[namespace]) {
        out[key] = textOf(read, `${namespace}/${key}`) as string;
      }
      return out;
    };
    const params = values("params");
    const tags = values("tags");
    const metrics: Record<string, Metric> = {};
    for (const key of read.keys.metrics) {
      let latest: Metric | undefined;
      try {
        latest = latestOf(read, `metrics/${key}`);
      } catch (error) {
        if (isMissing(error)) continue; // gone since it was listed: no history
        throw error;
      }
      if (latest) metrics[key] = latest;
    }
    if (!info.runName && tags["mlflow.runName"]) info.runName = tags["mlflow.runName"];
    const experimentDir = join(runDir, "..");
    const inputs = inputsFromFolder(read, this.layout, experimentDir, report);
    return { info, data: { params, metrics, tags }, inputs };
  }

  /** meta.yaml as readMeta reads it, from the pass's text; caches it as readMeta does. */
  #metaFromFolder(read: RunFolderRead): StoredRun {
    const path = join(read.runDir, "meta.yaml");
    const text = textOf(read, "meta.yaml");
    const stat = read.stats.get("meta.yaml");
    if (stat === undefined || text === undefined) {
      throw Object.assign(new Error(`ENOENT: no such file or directory, stat '${path}'`), {
        code: "ENOENT",
      });
    }
    const run = parseRunMeta(read.runDir, text);
    this.#metas.set(path, { mtimeMs: stat.mtimeMs, size: stat.size, run });
    return { ...run, info: { ...run.info } };
  }
}

/** A run's meta.yaml document; a TreeError naming the file when it is not one. */
function parseRunMeta(runDir: string, text: string): StoredRun {
  const path = join(runDir, "meta.yaml");
  let document: unknown;
  try {
    document = fromYaml(text);
  } catch (error) {
    throw new TreeError({ path, message: yamlProblem(error) });
  }
  const run = readRunDocument(document, runDir.split(/[\\/]/).at(-1) ?? "");
  if (typeof run === "string") throw new TreeError({ path, message: run });
  return run;
}
