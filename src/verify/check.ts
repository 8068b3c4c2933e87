/**
 * verifyTree: walks an mlruns tree and reports every deviation from the format MLflow reads
 * (mlruns-format.md §1, §2, §4, §6, §8) and that `migrate-filestore` accepts (§5.3). Reads only.
 */
import type { Dirent } from "node:fs";
import { promises as fs } from "node:fs";
import { join, resolve } from "node:path";
import { checkExperimentMeta, checkRegistryMeta, checkRunMeta } from "./meta.ts";
import { checkMetricText } from "./metrics.ts";
import {
  isStrayFile,
  type ProgressHandler,
  problem,
  type VerifyProblem,
  type VerifyReport,
} from "./problems.ts";
import { TEMP_PREFIX } from "../atomic.ts";

const TRASH = ".trash";
/** Python `re.match(r"^[a-zA-Z0-9][\w\-]{0,63}$")` with a Unicode-aware `\w`. */
const EXPERIMENT_FOLDER = /^[a-zA-Z0-9][\p{L}\p{N}_-]{0,63}$/u;
const RESERVED_EXPERIMENT_FOLDERS = new Set(["tags", "datasets", "traces", "models"]);
const REQUIRED_RUN_FOLDERS = ["metrics", "params", "artifacts"] as const;
const VERSION_PREFIX = "version-";
/** Temp files younger than this may belong to a write in progress: not removed by a fix. */
const TEMP_FILE_GRACE_MS = 5 * 60_000;

export interface VerifyOptions {
  onProgress?: ProgressHandler;
  /** The clock, for the age of temp files (tests). */
  now?: number;
}

async function entries(dir: string): Promise<Dirent[]> {
  try {
    return (await fs.readdir(dir, { withFileTypes: true })).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return [];
    throw error;
  }
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await fs.readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR") return undefined;
    throw error;
  }
}

async function isDir(path: string): Promise<boolean> {
  return fs.stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

class Checker {
  readonly problems: VerifyProblem[] = [];
  readonly checked = { experiments: 0, runs: 0, metricFiles: 0, models: 0 };
  readonly now: number;

  constructor(now: number) {
    this.now = now;
  }

  async tempFile(path: string, where: "folder" | "metrics" | "keys"): Promise<void> {
    const age = this.now - (await fs.stat(path)).mtimeMs;
    const old = age >= TEMP_FILE_GRACE_MS;
    const effect =
      where === "metrics"
        ? "; MLflow reads it as a metric and fails to read the run"
        : where === "keys"
          ? "; MLflow reads it as a bogus key"
          : "";
    this.problems.push(
      problem({
        code: "TEMP_FILE_LEFTOVER",
        path,
        message: `temp file left by an interrupted write${effect}${old ? "" : " (recent: a write may be in progress)"}`,
        read: where === "metrics",
        migrate: where === "metrics",
        ...(old
          ? { fix: { description: "delete the temp file", action: { kind: "delete-file", path } } }
          : {}),
      }),
    );
  }

  /** params/, tags/ (keys) or metrics/: every file is one key. */
  async keyFolder(dir: string, kind: "metrics" | "keys", runDir = ""): Promise<void> {
    for (const entry of await entries(dir)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        await this.keyFolder(path, kind, runDir);
        continue;
      }
      if (!entry.isFile()) continue;
      if (entry.name.startsWith(TEMP_PREFIX)) {
        await this.tempFile(path, kind);
        continue;
      }
      if (isStrayFile(entry.name)) {
        const metrics = kind === "metrics";
        this.problems.push(
          problem({
            code: "STRAY_FILE",
            path,
            message: metrics
              ? "not a metric file; MLflow reads it as one and fails to read the run (and migrate-filestore fails)"
              : "not a key file; MLflow shows it as a bogus key",
            read: metrics,
            migrate: metrics,
            fix: { description: "delete the file", action: { kind: "delete-file", path } },
          }),
        );
        continue;
      }
      if (kind === "metrics") {
        this.checked.metricFiles++;
        this.problems.push(...checkMetricText(path, (await readText(path)) ?? "", runDir));
      }
    }
  }

  async plainTempFiles(dir: string): Promise<void> {
    for (const entry of await entries(dir)) {
      if (entry.isFile() && entry.name.startsWith(TEMP_PREFIX)) {
        await this.tempFile(join(dir, entry.name), "folder");
      }
    }
  }

  async run(runDir: string, folder: string, experimentId: string): Promise<void> {
    const metaPath = join(runDir, "meta.yaml");
    const text = await readText(metaPath);
    if (text === undefined) {
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
    this.problems.push(...checkRunMeta(metaPath, text, folder, experimentId));
    for (const name of REQUIRED_RUN_FOLDERS) {
      const path = join(runDir, name);
      if (!(await isDir(path))) {
        this.problems.push(
          problem({
            code: "RUN_FOLDER_MISSING",
            path,
            message: `required folder ${name}/ is missing; MLflow reports the run as not found`,
            read: true,
            fix: { description: `create ${name}/`, action: { kind: "make-folder", path } },
          }),
        );
      }
    }
    await this.keyFolder(join(runDir, "metrics"), "metrics", runDir);
    await this.keyFolder(join(runDir, "params"), "keys");
    await this.keyFolder(join(runDir, "tags"), "keys");
    await this.plainTempFiles(runDir);
  }

  /** The model registry under `models/` (mlruns-format.md §4). */
  async registry(modelsDir: string): Promise<void> {
    for (const model of await entries(modelsDir)) {
      if (!model.isDirectory()) continue;
      this.checked.models++;
      const dir = join(modelsDir, model.name);
      const metaPath = join(dir, "meta.yaml");
      this.problems.push(...checkRegistryMeta(metaPath, await readText(metaPath), "model"));
      await this.keyFolder(join(dir, "tags"), "keys");
      await this.plainTempFiles(dir);
      // MLflow takes every folder named version-* for a version.
      const versions = new Set<string>();
      for (const entry of await entries(dir)) {
        if (!entry.isDirectory() || !entry.name.startsWith(VERSION_PREFIX)) continue;
        const versionDir = join(dir, entry.name);
        const versionMeta = join(versionDir, "meta.yaml");
        const text = await readText(versionMeta);
        this.problems.push(...checkRegistryMeta(versionMeta, text, "version"));
        if (text !== undefined) versions.add(entry.name.slice(VERSION_PREFIX.length));
        await this.keyFolder(join(versionDir, "tags"), "keys");
      }
      const aliases = join(dir, "aliases");
      await this.keyFolder(aliases, "keys");
      for (const alias of await entries(aliases)) {
        if (!alias.isFile() || alias.name.startsWith(TEMP_PREFIX) || isStrayFile(alias.name)) {
          continue;
        }
        const path = join(aliases, alias.name);
        const version = ((await readText(path)) ?? "").trim();
        if (versions.has(version)) continue;
        this.problems.push(
          problem({
            code: "MODEL_ALIAS_DANGLING",
            path,
            message: `alias '${alias.name}' names version '${version}', which does not exist; MLflow fails to resolve the alias`,
          }),
        );
      }
    }
  }
}

/**
 * Checks the tree at `root` and reports every problem with its path (and line), what it breaks
 * in MLflow, and whether `fixTree` can repair it. Reads only; never writes.
 */
export async function verifyTree(root: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const absolute = resolve(root);
  const check = new Checker(options.now ?? Date.now());
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
    check.problems.push(
      problem({
        code: "TRASH_MISSING",
        path: trash,
        message: ".trash/ is missing (MLflow creates it; read-only readers need it)",
        fix: { description: "create .trash/", action: { kind: "create-trash" } },
      }),
    );
  }
  const defaultMeta = [join(absolute, "0", "meta.yaml"), join(trash, "0", "meta.yaml")];
  if (
    (await readText(defaultMeta[0] as string)) === undefined &&
    (await readText(defaultMeta[1] as string)) === undefined
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

  const experiments: { id: string; dir: string }[] = [];
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
      experiments.push({ id: entry.name, dir: path });
    }
  }

  const runDirs: { dir: string; folder: string; experimentId: string }[] = [];
  const names = new Map<string, string>();
  for (const { id, dir } of experiments) {
    check.checked.experiments++;
    const metaPath = join(dir, "meta.yaml");
    const { problems, meta } = checkExperimentMeta(metaPath, await readText(metaPath), id);
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
    await check.keyFolder(join(dir, "tags"), "keys");
    await check.plainTempFiles(dir);
    for (const entry of await entries(dir)) {
      if (!entry.isDirectory() || RESERVED_EXPERIMENT_FOLDERS.has(entry.name)) continue;
      runDirs.push({ dir: join(dir, entry.name), folder: entry.name, experimentId: id });
    }
  }
  options.onProgress?.(0, runDirs.length);
  let done = 0;
  for (const { dir, folder, experimentId } of runDirs) {
    await check.run(dir, folder, experimentId);
    options.onProgress?.(++done, runDirs.length);
  }
  await check.registry(join(absolute, "models"));
  return report();
}
