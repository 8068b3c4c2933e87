/**
 * verifyTree: walks an mlruns tree and reports every deviation from the format MLflow reads
 * (mlruns-format.md §1, §2, §4, §6, §8) and that `migrate-filestore` accepts (§5.3). Reads only.
 * Every file is judged by what MLflow does with it (files.ts reads as MLflow reads).
 */
import { join, resolve } from "node:path";
import { unfollowedLink } from "../artifacts/folder.ts";
import { artifactDirOf } from "../store/file/artifacts.ts";
import { RESERVED_EXPERIMENT_FOLDERS } from "../store/file/layout.ts";
import { EXPERIMENT_FOLDER } from "../store/file/tree.ts";
import { entries, exists, isDir, readEntry } from "./files.ts";
import { checkKeyFolder } from "./keys.ts";
import {
  checkDatasetMeta,
  checkExperimentMeta,
  checkInputMeta,
  checkRunMeta,
  parseMeta,
} from "./meta.ts";
import {
  type ProgressHandler,
  problem,
  type VerifyProblem,
  type VerifyReport,
} from "./problems.ts";
import { checkRegistry } from "./registry.ts";
import { checkTempFiles } from "./temp-files.ts";

const TRASH = ".trash";
const REQUIRED_RUN_FOLDERS = ["metrics", "params", "artifacts"] as const;

export interface VerifyOptions {
  onProgress?: ProgressHandler;
  /** The clock, for the age of temp files (tests). */
  now?: number;
}

interface Experiment {
  id: string;
  dir: string;
  /** Dataset records the experiment's runs link. */
  linkedDatasets: Set<string>;
}

class Checker {
  readonly problems: VerifyProblem[] = [];
  readonly checked = { experiments: 0, runs: 0, metricFiles: 0, models: 0 };
  readonly root: string;
  readonly now: number;

  constructor(root: string, now: number) {
    this.root = root;
    this.now = now;
  }

  async keys(dir: string, kind: "metrics" | "keys", runDir = ""): Promise<void> {
    const { problems, metricFiles } = await checkKeyFolder(dir, kind, runDir);
    this.problems.push(...problems);
    this.checked.metricFiles += metricFiles;
  }

  async plainTempFiles(dir: string): Promise<void> {
    this.problems.push(...(await checkTempFiles(dir, this.now)));
  }

  async run(runDir: string, folder: string, experiment: Experiment): Promise<void> {
    const metaPath = join(runDir, "meta.yaml");
    const meta = await readEntry(metaPath);
    if (meta.kind === "missing") {
      this.problems.push(
        problem({
          code: "RUN_FOLDER_WITHOUT_META",
          path: runDir,
          message: "folder in an experiment without meta.yaml; MLflow skips it",
        }),
      );
      return;
    }
    this.checked.runs++;
    this.problems.push(...checkRunMeta(metaPath, meta, folder, experiment.id));
    for (const name of REQUIRED_RUN_FOLDERS) {
      const path = join(runDir, name);
      if (await isDir(path)) continue;
      const present = await exists(path);
      this.problems.push(
        problem({
          code: "RUN_FOLDER_MISSING",
          path,
          message: `required folder ${name}/ is ${present ? "a file, not a folder" : "missing"}; MLflow reports the run as not found`,
          read: true,
          ...(present
            ? {}
            : { fix: { description: `create ${name}/`, action: { kind: "make-folder", path } } }),
        }),
      );
    }
    await this.keys(join(runDir, "metrics"), "metrics", runDir);
    await this.keys(join(runDir, "params"), "keys");
    await this.keys(join(runDir, "tags"), "keys");
    await this.inputs(runDir, experiment);
    await this.artifactLinks(runDir, meta.kind === "text" ? meta.text : "", experiment.id);
    await this.plainTempFiles(runDir);
  }

  /** The run's input links; MLflow 3 reads each one with the run. */
  async inputs(runDir: string, experiment: Experiment): Promise<void> {
    const inputs = join(runDir, "inputs");
    for (const entry of await entries(inputs)) {
      const path = join(inputs, entry.name, "meta.yaml");
      const { problems, datasetId } = checkInputMeta(path, await readEntry(path));
      this.problems.push(...problems);
      if (datasetId !== undefined) experiment.linkedDatasets.add(datasetId);
    }
  }

  /** Links in the run's artifacts that mlruns does not follow (MLflow does). */
  async artifactLinks(runDir: string, metaText: string, experimentId: string): Promise<void> {
    const parsed = parseMeta(metaText);
    const uri = parsed.kind === "ok" ? parsed.doc.artifact_uri : undefined;
    const runId = runDir.split(/[\\/]/).at(-1) as string;
    const artifactDir = await artifactDirOf(this.root, {
      runDir,
      experimentId,
      runId,
      uri: typeof uri === "string" ? uri : "",
    }).catch(() => undefined);
    if (artifactDir === undefined) return; // not a local folder: nothing to check here
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await entries(dir)) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) await walk(path);
        if (!entry.isSymbolicLink()) continue;
        const why = await unfollowedLink(artifactDir, path);
        if (why === undefined) continue;
        this.problems.push(
          problem({
            code: "SYMLINK",
            path,
            message: `an artifact that is ${why}; MLflow follows it`,
          }),
        );
      }
    };
    await walk(artifactDir);
  }

  async datasets(experiment: Experiment): Promise<void> {
    const datasets = join(experiment.dir, "datasets");
    for (const entry of await entries(datasets)) {
      if (!entry.isDirectory()) continue;
      const path = join(datasets, entry.name, "meta.yaml");
      const linked = experiment.linkedDatasets.has(entry.name);
      this.problems.push(...checkDatasetMeta(path, await readEntry(path), linked));
    }
  }
}

/**
 * Checks the tree at `root` and reports every problem with its path (and line), what it breaks
 * in MLflow, and whether `fixTree` can repair it. Reads only; never writes.
 */
export async function verifyTree(root: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const absolute = resolve(root);
  const check = new Checker(absolute, options.now ?? Date.now());
  const report = (): VerifyReport => ({
    root: absolute,
    problems: check.problems,
    checked: check.checked,
  });
  if (!(await isDir(absolute))) {
    check.problems.push(
      problem({
        code: "ROOT_MISSING",
        path: absolute,
        message: "no mlruns tree here (not a folder)",
        read: true,
        migrate: true,
      }),
    );
    return report();
  }
  const trash = join(absolute, TRASH);
  if (!(await isDir(trash))) {
    const present = await exists(trash);
    check.problems.push(
      present
        ? problem({
            code: "TRASH_NOT_A_FOLDER",
            path: trash,
            message:
              ".trash is not a folder; MLflow fails to list deleted experiments and to find runs (move it away)",
            read: true,
          })
        : problem({
            code: "TRASH_MISSING",
            path: trash,
            message: ".trash/ is missing (MLflow creates it; read-only readers need it)",
            fix: { description: "create .trash/", action: { kind: "create-trash" } },
          }),
    );
  }
  const defaultMeta = [join(absolute, "0", "meta.yaml"), join(trash, "0", "meta.yaml")];
  if (
    (await readEntry(defaultMeta[0] as string)).kind === "missing" &&
    (await readEntry(defaultMeta[1] as string)).kind === "missing"
  ) {
    check.problems.push(
      problem({
        code: "DEFAULT_EXPERIMENT_MISSING",
        path: join(absolute, "0"),
        message:
          "the Default experiment 0 is missing; MLflow does not create it in an existing tree",
        fix: {
          description: "create experiment 0 named Default",
          action: { kind: "create-default-experiment" },
        },
      }),
    );
  }
  await check.plainTempFiles(absolute);

  const experiments: Experiment[] = [];
  for (const [dir, deleted] of [
    [absolute, false],
    [trash, true],
  ] as const) {
    for (const entry of await entries(dir)) {
      if (!entry.isDirectory()) continue;
      if (!deleted && (entry.name.endsWith(TRASH) || entry.name === "models")) continue;
      const path = join(dir, entry.name);
      if (!EXPERIMENT_FOLDER.test(entry.name)) {
        check.problems.push(
          problem({
            code: "ODD_ROOT_FOLDER",
            path,
            message: `'${entry.name}' is not a valid experiment id; MLflow fails to list experiments`,
            read: true,
          }),
        );
        continue;
      }
      if (!/^\d+$/.test(entry.name)) {
        check.problems.push(
          problem({
            code: "NON_NUMERIC_EXPERIMENT_ID",
            path,
            message: `experiment id '${entry.name}' is not an integer; migrate-filestore skips it silently`,
          }),
        );
      }
      experiments.push({ id: entry.name, dir: path, linkedDatasets: new Set() });
    }
  }

  const runDirs: { dir: string; folder: string; experiment: Experiment }[] = [];
  const names = new Map<string, string>();
  for (const experiment of experiments) {
    const { id, dir } = experiment;
    check.checked.experiments++;
    const metaPath = join(dir, "meta.yaml");
    const { problems, meta } = checkExperimentMeta(metaPath, await readEntry(metaPath), id);
    check.problems.push(...problems);
    if (meta) {
      const first = names.get(meta.name);
      if (first !== undefined) {
        check.problems.push(
          problem({
            code: "DUPLICATE_EXPERIMENT_NAME",
            path: metaPath,
            message: `experiment name '${meta.name}' is also used by ${first}; migrate-filestore rejects the tree`,
            migrate: true,
          }),
        );
      } else names.set(meta.name, metaPath);
      if (meta.name.length > 256) {
        check.problems.push(
          problem({
            code: "EXPERIMENT_NAME_TOO_LONG",
            path: metaPath,
            message: `experiment name is ${meta.name.length} characters; MLflow's SQL stores keep 256`,
          }),
        );
      }
    }
    await check.keys(join(dir, "tags"), "keys");
    await check.plainTempFiles(dir);
    for (const entry of await entries(dir)) {
      if (!entry.isDirectory() || RESERVED_EXPERIMENT_FOLDERS.has(entry.name)) continue;
      if (entry.name === "meta.yaml") continue; // the experiment's own, broken: reported above
      runDirs.push({ dir: join(dir, entry.name), folder: entry.name, experiment });
    }
  }
  options.onProgress?.(0, runDirs.length);
  let done = 0;
  for (const { dir, folder, experiment } of runDirs) {
    await check.run(dir, folder, experiment);
    options.onProgress?.(++done, runDirs.length);
  }
  for (const experiment of experiments) await check.datasets(experiment);
  const registry = await checkRegistry(join(absolute, "models"), check.now);
  check.problems.push(...registry.problems);
  check.checked.models = registry.models;
  return report();
}
