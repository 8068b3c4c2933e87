/**
 * Reading runs from the tree: locating a run folder by id, its meta.yaml (cached by mtime), and
 * its params, tags, latest metrics and inputs. Broken files are reported with their path and
 * line; `readRun` throws on them (as MLflow does), listings skip the run and go on.
 */
import { promises as fs } from "node:fs";
import { join } from "node:path";
import type { Metric, Run } from "../../entities.ts";
import { MlflowError, notFound } from "../../errors.ts";
import { latestPoint } from "../../metric-latest.ts";
import { isMissing } from "./atomic.ts";
import { readInputs } from "./inputs.ts";
import { listKeyFiles, readKeyValues } from "./key-files.ts";
import { type Layout, RESERVED_EXPERIMENT_FOLDERS, TRASH } from "./layout.ts";
import { readRunDocument, type StoredRun } from "./meta.ts";
import { parseMetricFile } from "./metric-files.ts";
import { describeProblem, type TreeProblem } from "./problems.ts";
import { fromYaml } from "./yaml.ts";

const EXPERIMENT_FOLDER = /^[a-zA-Z0-9][\p{L}\p{N}_-]{0,63}$/u;

/** A problem that makes a run or experiment unreadable. */
export class TreeError extends MlflowError {
  readonly problem: TreeProblem;

  constructor(problem: TreeProblem) {
    super("INTERNAL_ERROR", `Malformed mlruns tree: ${describeProblem(problem)}`, {
      hint: "Run `mlruns verify` on the tree to see every problem and what `--fix` can repair",
    });
    this.problem = problem;
  }
}

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
      let entries: import("node:fs").Dirent[];
      try {
        entries = await fs.readdir(dir, { withFileTypes: true });
      } catch (error) {
        if (isMissing(error)) return [];
        throw error;
      }
      return entries
        .filter((e) => e.isDirectory() && !e.name.endsWith(TRASH) && e.name !== "models")
        .filter((e) => EXPERIMENT_FOLDER.test(e.name))
        .map((e) => ({ id: e.name, dir: join(dir, e.name), deleted }));
    };
    return [...(await list(this.layout.root, false)), ...(await list(this.layout.trash, true))];
  }

  /** The run folders of one experiment folder (those holding a meta.yaml are runs). */
  async runDirs(experimentDir: string): Promise<string[]> {
    let entries: import("node:fs").Dirent[];
    try {
      entries = await fs.readdir(experimentDir, { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return [];
      throw error;
    }
    return entries
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
    throw notFound(`Run '${runId}' not found`, "Check the run id, or the tracking URI");
  }

  async #hasMeta(runDir: string): Promise<boolean> {
    try {
      return (await fs.stat(join(runDir, "meta.yaml"))).isFile();
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
  }

  /** A run's meta.yaml, re-read only when the file changed. */
  async readMeta(runDir: string): Promise<StoredRun> {
    const path = join(runDir, "meta.yaml");
    const stat = await fs.stat(path);
    const cached = this.#metas.get(path);
    if (cached && cached.mtimeMs === stat.mtimeMs && cached.size === stat.size) {
      return structuredClone(cached.run);
    }
    const text = await fs.readFile(path, "utf8");
    let document: unknown;
    try {
      document = fromYaml(text);
    } catch (error) {
      throw new TreeError({ path, message: `not valid YAML: ${(error as Error).message}` });
    }
    const folder = runDir.split(/[\\/]/).at(-1) ?? "";
    const run = readRunDocument(document, folder);
    if (typeof run === "string") throw new TreeError({ path, message: run });
    this.#metas.set(path, { mtimeMs: stat.mtimeMs, size: stat.size, run });
    return structuredClone(run);
  }

  forget(runDir: string): void {
    this.#metas.delete(join(runDir, "meta.yaml"));
  }

  /** Every point of one metric in file order; a malformed line throws naming file and line. */
  async history(key: string, path: string): Promise<Metric[]> {
    let text: string;
    try {
      text = await fs.readFile(path, "utf8");
    } catch (error) {
      if (isMissing(error)) return [];
      throw error;
    }
    const { points, problems } = parseMetricFile(path, key, text);
    if (problems[0]) throw new TreeError(problems[0]);
    return points;
  }

  /** The whole run: info, params, tags, latest metrics and dataset inputs. */
  async readRun(runDir: string, report: (problem: TreeProblem) => void): Promise<Run> {
    const { info } = await this.readMeta(runDir);
    for (const folder of ["metrics", "params", "artifacts"]) {
      try {
        await fs.stat(join(runDir, folder));
      } catch (error) {
        if (!isMissing(error)) throw error;
        throw new TreeError({ path: join(runDir, folder), message: "required folder is missing" });
      }
    }
    const [params, tags, metricFiles] = await Promise.all([
      readKeyValues(join(runDir, "params")),
      readKeyValues(join(runDir, "tags")),
      listKeyFiles(join(runDir, "metrics")),
    ]);
    const metrics: Record<string, Metric> = {};
    const keys = [...metricFiles.keys()].sort();
    const histories = await Promise.all(
      keys.map((key) => this.history(key, metricFiles.get(key) as string)),
    );
    keys.forEach((key, i) => {
      const latest = latestPoint(histories[i] as Metric[]);
      if (latest) metrics[key] = latest;
    });
    if (!info.runName && tags["mlflow.runName"]) info.runName = tags["mlflow.runName"];
    const experimentDir = join(runDir, "..");
    const inputs = await readInputs(this.layout, experimentDir, runDir, report);
    return { info, data: { params, metrics, tags }, inputs };
  }
}
