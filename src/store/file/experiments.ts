/**
 * FileStore's experiments: one folder each (`.trash/` when deleted) with a meta.yaml and tags;
 * names kept unique under the tree's lock; a new experiment built whole before it appears.
 */
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { createFile, isMissing, replaceFile, TEMP_PREFIX } from "../../atomic.ts";
import { type Experiment, inView, type ViewType } from "../../entities.ts";
import { withLock } from "../../lock.ts";
import type { NewExperiment } from "../checked-store.ts";
import { experimentExists, experimentNotIn } from "../checks.ts";
import { prepareKeyFile, readKeyValues } from "./key-files.ts";
import { experimentDocument, readExperimentDocument } from "./meta.ts";
import { asTreeError, TreeError, utf8Text } from "./problems.ts";
import { isTreeError } from "./runs.ts";
import type { TreeHandle } from "./tree-handle.ts";
import { fromYaml, toYaml, yamlProblem } from "./yaml.ts";

/** 18 decimal digits, first non-zero, as MLflow's experiment ids. */
function newExperimentId(): string {
  const n = randomBytes(8).readBigUInt64BE() % 900_000_000_000_000_000n;
  return String(n + 100_000_000_000_000_000n);
}

/** An experiment's artifact location: a relative path made absolute, as MLflow does. */
function artifactLocationOf(location: string | undefined): string | undefined {
  if (location === undefined || location === "") return undefined;
  return /^[a-z][a-z0-9+.-]*:/i.test(location) ? location : resolve(location);
}

/** The experiment in folder `dir`; a TreeError naming the file when its meta.yaml is broken. */
export async function readExperiment(dir: string, id: string): Promise<Experiment> {
  const path = join(dir, "meta.yaml");
  let text: string | undefined;
  try {
    text = utf8Text(path, await fs.readFile(path));
  } catch (error) {
    if (!isMissing(error)) throw asTreeError(path, error);
  }
  if (text === undefined || text.trim() === "") {
    throw new TreeError({ path, message: "experiment meta.yaml is missing or empty" });
  }
  let document: unknown;
  try {
    document = fromYaml(text);
  } catch (error) {
    throw new TreeError({ path, message: yamlProblem(error) });
  }
  const experiment = readExperimentDocument(document, id);
  if (typeof experiment === "string") throw new TreeError({ path, message: experiment });
  experiment.tags = await readKeyValues(join(dir, "tags"));
  return experiment;
}

export async function getExperiment(tree: TreeHandle, experimentId: string): Promise<Experiment> {
  const { dir } = await tree.experimentDir(experimentId);
  if ((await tree.state()) === "none") return tree.defaultExperiment();
  return readExperiment(dir, experimentId);
}

export async function listExperiments(tree: TreeHandle, viewType: ViewType): Promise<Experiment[]> {
  if ((await tree.state()) === "none") {
    return inView("active", viewType) ? [tree.defaultExperiment()] : [];
  }
  const experiments: Experiment[] = [];
  for (const { id, dir, deleted } of await tree.runs.experimentDirs()) {
    if (!inView(deleted ? "deleted" : "active", viewType)) continue;
    try {
      experiments.push(await readExperiment(dir, id));
    } catch (error) {
      if (!isTreeError(error)) throw error;
      tree.onProblem(error.problem);
    }
  }
  return experiments.filter((e) => inView(e.lifecycleStage, viewType));
}

export async function getExperimentByName(
  tree: TreeHandle,
  name: string,
): Promise<Experiment | null> {
  const all = await listExperiments(tree, "ALL");
  return all.find((e) => e.name === name) ?? null;
}

async function assertNameFree(tree: TreeHandle, name: string): Promise<void> {
  const existing = await getExperimentByName(tree, name);
  if (existing) throw experimentExists(name, existing);
}

export async function createExperiment(
  tree: TreeHandle,
  name: string,
  options: NewExperiment,
): Promise<string> {
  await tree.create();
  return withLock(tree.layout.lock, async () => {
    await assertNameFree(tree, name);
    const id = newExperimentId();
    const dir = tree.layout.experimentDir(id);
    // Built complete in a staging folder inside experiment 0 (a folder without meta.yaml,
    // which MLflow skips silently), then renamed into place: never half an experiment.
    const stage = join(
      tree.layout.experimentDir("0"),
      `${TEMP_PREFIX}${randomBytes(8).toString("hex")}`,
    );
    const staged = join(stage, id);
    await fs.mkdir(staged, { recursive: true });
    try {
      for (const [key, value] of Object.entries(options.tags)) {
        const file = prepareKeyFile(join(staged, "tags"), "experiment tag", key);
        await replaceFile(file, value, stage);
      }
      const now = Date.now();
      const document = experimentDocument({
        experimentId: id,
        name,
        artifactLocation: artifactLocationOf(options.artifactLocation) ?? pathToFileURL(dir).href,
        lifecycleStage: "active",
        creationTime: now,
        lastUpdateTime: now,
        tags: {},
      });
      await createFile(join(staged, "meta.yaml"), toYaml(document), stage);
      await fs.rename(staged, dir);
    } finally {
      await fs.rm(stage, { recursive: true, force: true });
    }
    return id;
  });
}

async function rewriteExperiment(dir: string, change: Partial<Experiment>): Promise<void> {
  const id = dir.split(/[\\/]/).at(-1) as string;
  const experiment = { ...(await readExperiment(dir, id)), ...change };
  experiment.lastUpdateTime = Date.now();
  await replaceFile(join(dir, "meta.yaml"), toYaml(experimentDocument(experiment)), dir);
}

export async function renameExperiment(
  tree: TreeHandle,
  experimentId: string,
  newName: string,
): Promise<void> {
  const dir = await tree.activeExperimentDir(experimentId, "rename");
  await withLock(tree.layout.lock, async () => {
    const current = await readExperiment(dir, experimentId);
    if (current.name === newName) return;
    await assertNameFree(tree, newName);
    await rewriteExperiment(dir, { name: newName });
  });
}

export async function setExperimentTag(
  tree: TreeHandle,
  experimentId: string,
  key: string,
  value: string,
): Promise<void> {
  const dir = await tree.activeExperimentDir(experimentId, "set tags on");
  const file = prepareKeyFile(join(dir, "tags"), "experiment tag", key);
  await replaceFile(file, value, dir);
}

export async function deleteExperimentTag(
  tree: TreeHandle,
  experimentId: string,
  key: string,
): Promise<void> {
  const dir = await tree.activeExperimentDir(experimentId, "delete tags of");
  await tree.removeKeyFile(join(dir, "tags"), key, `experiment '${experimentId}'`);
}

/** Moves the experiment to `.trash/`, its active runs marked deleted first. */
export async function deleteExperiment(tree: TreeHandle, experimentId: string): Promise<void> {
  const { dir, deleted } = await tree.experimentDir(experimentId);
  if (deleted) throw experimentNotIn(experimentId, "active");
  await moveRuns(tree, dir, "deleted", Date.now());
  await rewriteExperiment(dir, { lifecycleStage: "deleted" });
  await fs.rename(dir, tree.layout.experimentDir(experimentId, true));
}

/** Brings the experiment back with all its runs, as MLflow does. */
export async function restoreExperiment(tree: TreeHandle, experimentId: string): Promise<void> {
  const { dir, deleted } = await tree.experimentDir(experimentId);
  if (!deleted) throw experimentNotIn(experimentId, "deleted");
  const target = tree.layout.experimentDir(experimentId);
  await rewriteExperiment(dir, { lifecycleStage: "active" });
  await fs.rename(dir, target);
  await moveRuns(tree, target, "active", undefined);
}

/** Marks the experiment's runs of the other stage as `to` (deleted ones with `deletedTime`). */
async function moveRuns(
  tree: TreeHandle,
  dir: string,
  to: "active" | "deleted",
  deletedTime: number | undefined,
): Promise<void> {
  for (const runDir of await tree.runs.runDirs(dir)) {
    const run = await tree.tryReadMeta(runDir);
    if (run !== undefined && run.info.lifecycleStage !== to) {
      tree.writeRun(runDir, { info: { ...run.info, lifecycleStage: to }, deletedTime });
    }
  }
}
