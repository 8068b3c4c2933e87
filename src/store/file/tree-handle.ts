/**
 * What every part of FileStore shares (experiments.ts, run-writes.ts, run-reads.ts,
 * run-history.ts, run-search.ts, run-artifacts.ts): the tree's layout, run reader, metric files,
 * search index and problem handler; the tree made on the first write; experiments and runs
 * located by id; and the one way a run's meta.yaml is rewritten.
 */
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createFile, exists, isMissing, replaceFileSync } from "../../atomic.ts";
import type { Experiment } from "../../entities.ts";
import { isMlflowError } from "../../errors.ts";
import { experimentNotActive, experimentNotFound, runNotActive, tagNotFound } from "../checks.ts";
import { Layout } from "./layout.ts";
import { experimentDocument, runDocument, type StoredRun } from "./meta.ts";
import { MetricFiles } from "./metric-files.ts";
import { type ProblemHandler, warnProblem } from "./problems.ts";
import { isTreeError, RunReader } from "./runs.ts";
import { SearchIndex, type SearchIndexOptions } from "./search-index.ts";
import { notATree, treeState } from "./tree.ts";
import { toYaml } from "./yaml.ts";

export interface FileStoreOptions {
  /** Called for each broken file found while listing; the default emits a Node warning. */
  onProblem?: ProblemHandler;
  /** Where the search index lives and how it stays current (search-index.ts). */
  searchIndex?: SearchIndexOptions;
}

export class TreeHandle {
  readonly root: string;
  readonly layout: Layout;
  readonly runs: RunReader;
  readonly metrics = new MetricFiles();
  readonly index: SearchIndex;
  readonly onProblem: ProblemHandler;
  /** Set once the root is known to hold a tree. */
  #isTree = false;

  constructor(root: string, options: FileStoreOptions) {
    this.root = root;
    this.layout = new Layout(root);
    this.runs = new RunReader(this.layout);
    this.onProblem = options.onProblem ?? warnProblem;
    this.index = new SearchIndex(root, this.runs, options.searchIndex);
  }

  /** `tree`, or `none` while nothing is there yet; anything else is refused (tree.ts). */
  async state(): Promise<"tree" | "none"> {
    if (this.#isTree) return "tree";
    const state = await treeState(this.root);
    if (state === "file" || state === "foreign") throw notATree(this.root, state);
    this.#isTree = state === "tree";
    return state;
  }

  /** What a write needs: the tree, created when there is none yet, with experiment 0. */
  async create(): Promise<void> {
    await this.state();
    await this.init();
  }

  /** The folder, `.trash/` and the Default experiment, each only when missing. */
  async init(): Promise<void> {
    await fs.mkdir(this.layout.trash, { recursive: true }).catch((error: unknown) => {
      // A .trash that is not a folder is the tree's problem (`mlruns verify` reports it).
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    });
    await this.#ensureDefaultExperiment();
    this.#isTree = true;
  }

  /** The Default experiment as the first write will create it: what reads show until then. */
  defaultExperiment(): Experiment {
    return {
      experimentId: "0",
      name: "Default",
      artifactLocation: pathToFileURL(this.layout.experimentDir("0")).href,
      lifecycleStage: "active",
      creationTime: null,
      lastUpdateTime: null,
      tags: {},
    };
  }

  async #ensureDefaultExperiment(): Promise<void> {
    const dir = this.layout.experimentDir("0");
    if (await exists(join(dir, "meta.yaml"))) return;
    if (await exists(join(this.layout.trash, "0", "meta.yaml"))) return;
    await fs.mkdir(dir, { recursive: true });
    const now = Date.now();
    const document = experimentDocument({
      ...this.defaultExperiment(),
      creationTime: now,
      lastUpdateTime: now,
    });
    await createFile(join(dir, "meta.yaml"), toYaml(document), dir);
  }

  // ---- experiments ----

  async experimentDir(experimentId: string): Promise<{ dir: string; deleted: boolean }> {
    if ((await this.state()) === "none" && experimentId === "0") {
      return { dir: this.layout.experimentDir("0"), deleted: false };
    }
    for (const deleted of [false, true]) {
      const dir = this.layout.experimentDir(experimentId, deleted);
      if (await exists(join(dir, "meta.yaml"))) return { dir, deleted };
    }
    throw experimentNotFound(experimentId);
  }

  /** For writes: an experiment's folder (experiment 0, and the tree, created when missing). */
  async writableExperimentDir(experimentId: string): Promise<{ dir: string; deleted: boolean }> {
    if (experimentId === "0") await this.create();
    return this.experimentDir(experimentId);
  }

  /** For writes: an active experiment's folder (experiment 0 is created when missing). */
  async activeExperimentDir(experimentId: string, action: string): Promise<string> {
    const { dir, deleted } = await this.writableExperimentDir(experimentId);
    if (deleted) throw experimentNotActive(experimentId, action);
    return dir;
  }

  // ---- runs ----

  async runDir(runId: string): Promise<string> {
    await this.state();
    return this.runs.locate(runId);
  }

  async activeRun(runId: string): Promise<{ runDir: string; run: StoredRun }> {
    const runDir = await this.runDir(runId);
    return { runDir, run: this.activeMeta(runId, runDir) };
  }

  activeMeta(runId: string, runDir: string): StoredRun {
    const run = this.runs.readMeta(runDir);
    if (run.info.lifecycleStage !== "active") throw runNotActive(runId);
    return run;
  }

  /** A run's meta.yaml, or undefined when it is missing or broken (reported). */
  async tryReadMeta(runDir: string): Promise<StoredRun | undefined> {
    try {
      return this.runs.readMeta(runDir);
    } catch (error) {
      if (isMissing(error)) return undefined;
      if (isTreeError(error)) {
        this.onProblem(error.problem);
        return undefined;
      }
      throw error;
    }
  }

  writeRun(runDir: string, run: StoredRun): void {
    this.index.invalidate(runDir);
    replaceFileSync(join(runDir, "meta.yaml"), toYaml(runDocument(run)), runDir);
    this.runs.forget(runDir);
    this.index.invalidate(runDir);
  }

  /** Removes a tag's file, or says the tag is not there. */
  async removeKeyFile(namespaceDir: string, key: string, owner: string): Promise<void> {
    try {
      const file = join(namespaceDir, ...key.split("/"));
      if (!(await fs.stat(file)).isFile()) throw new Error("not a file");
      await fs.rm(file);
    } catch (error) {
      if (isMlflowError(error)) throw error;
      throw tagNotFound(key, owner);
    }
  }
}
