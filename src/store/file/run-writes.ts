/**
 * FileStore's writes into runs: a new run's folder (meta.yaml last, so readers never see half a
 * run), its info, lifecycle, params, tags, metric points (metric-files.ts) and dataset inputs.
 * Each write tells the search index that the run changed, before and after writing.
 */
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { createFile, isMissing, readTextIfExists, replaceFile } from "../../atomic.ts";
import type { Batch, DatasetInput, Run, RunInfo } from "../../entities.ts";
import { SYSTEM_TAGS } from "../../entities.ts";
import { invalid, notFound } from "../../errors.ts";
import { runNameFromTags } from "../../run-name.ts";
import type { NewRun, RunUpdate } from "../checked-store.ts";
import { paramChanged } from "../checks.ts";
import type { SyncRunWriter } from "../store.ts";
import { readExperiment } from "./experiments.ts";
import { writeInputs } from "./inputs.ts";
import { prepareKeyFile } from "./key-files.ts";
import { RUN_FOLDERS } from "./layout.ts";
import { runDocument } from "./meta.ts";
import type { TreeHandle } from "./tree-handle.ts";
import { toYaml } from "./yaml.ts";

export async function createRun(tree: TreeHandle, options: NewRun): Promise<Run> {
  const { runName, tags } = options;
  const experimentDir = await tree.activeExperimentDir(options.experimentId, "create runs in");
  const experiment = await readExperiment(experimentDir, options.experimentId);
  const runId = randomBytes(16).toString("hex");
  const runDir = tree.layout.runDir(experimentDir, runId);
  tree.index.invalidate(runDir);
  await fs.mkdir(runDir);
  for (const folder of RUN_FOLDERS) await fs.mkdir(join(runDir, folder));
  for (const [key, value] of Object.entries(tags)) {
    await replaceFile(prepareKeyFile(join(runDir, "tags"), "tag", key), value, runDir);
  }
  const info: RunInfo = {
    runId,
    experimentId: options.experimentId,
    runName,
    userId: options.userId,
    status: "RUNNING",
    startTime: options.startTime,
    endTime: null,
    artifactUri: `${experiment.artifactLocation.replace(/\/+$/, "")}/${runId}/artifacts`,
    lifecycleStage: "active",
  };
  // meta.yaml comes last: until it exists, readers (MLflow too) skip the folder.
  await createFile(
    join(runDir, "meta.yaml"),
    toYaml(runDocument({ info, deletedTime: null })),
    runDir,
  );
  return { info, data: { params: {}, metrics: {}, tags }, inputs: [] };
}

export async function updateRun(
  tree: TreeHandle,
  runId: string,
  update: RunUpdate,
): Promise<RunInfo> {
  const { runDir, run } = await tree.activeRun(runId);
  const info = { ...run.info };
  if (update.status !== undefined) info.status = update.status;
  if (update.endTime !== undefined) info.endTime = update.endTime;
  if (update.runName !== undefined) {
    info.runName = update.runName;
    const file = prepareKeyFile(join(runDir, "tags"), "tag", SYSTEM_TAGS.runName);
    await replaceFile(file, update.runName, runDir);
  }
  tree.writeRun(runDir, { info, deletedTime: undefined });
  return info;
}

/** Marks the run deleted (`true`) or active again (`false`). */
export async function setRunDeleted(
  tree: TreeHandle,
  runId: string,
  deleted: boolean,
): Promise<void> {
  const runDir = await tree.runDir(runId);
  const run = tree.runs.readMeta(runDir);
  tree.writeRun(runDir, {
    info: { ...run.info, lifecycleStage: deleted ? "deleted" : "active" },
    deletedTime: deleted ? Date.now() : undefined,
  });
}

export async function logBatch(tree: TreeHandle, runId: string, batch: Batch): Promise<void> {
  const { runDir, run } = await tree.activeRun(runId);
  tree.index.invalidate(runDir);
  const params = Object.entries(batch.params ?? {});
  const tags = Object.entries(batch.tags ?? {});
  // Check everything against the tree before the first write.
  const paramFiles = await Promise.all(
    params.map(async ([key, value]) => {
      const file = prepareKeyFile(join(runDir, "params"), "param", key);
      const existing = await readTextIfExists(file);
      if (existing !== undefined && existing !== value) {
        throw paramChanged(runId, key, existing, value);
      }
      return { file, value, exists: existing !== undefined };
    }),
  );
  const tagFiles = await Promise.all(
    tags.map(async ([key, value]) => ({
      value,
      file: prepareKeyFile(join(runDir, "tags"), "tag", key),
    })),
  );
  const writeMetrics = tree.metrics.prepare(runDir, batch.metrics ?? []);

  for (const { file, value, exists } of paramFiles) {
    if (
      !exists &&
      !(await createFile(file, value, runDir)) &&
      (await readTextIfExists(file)) !== value
    ) {
      throw invalid(`Param '${file}' was changed by another writer at the same time`);
    }
  }
  for (const { value, file } of tagFiles) await replaceFile(file, value, runDir);
  const newName = runNameFromTags(batch.tags);
  if (newName !== undefined && newName !== run.info.runName) {
    tree.writeRun(runDir, {
      info: { ...run.info, runName: newName },
      deletedTime: undefined,
    });
  }
  writeMetrics();
  tree.index.invalidate(runDir); // again: a sweep may have read the run in between
}

export async function deleteTag(tree: TreeHandle, runId: string, key: string): Promise<void> {
  const { runDir } = await tree.activeRun(runId);
  tree.index.invalidate(runDir);
  await tree.removeKeyFile(join(runDir, "tags"), key, `run '${runId}'`);
  tree.index.invalidate(runDir); // again: a sweep may have read the run in between
}

export async function logInputs(
  tree: TreeHandle,
  runId: string,
  inputs: DatasetInput[],
): Promise<void> {
  const { runDir } = await tree.activeRun(runId);
  tree.index.invalidate(runDir);
  await writeInputs(tree.layout, join(runDir, ".."), runDir, runId, inputs);
  tree.index.invalidate(runDir); // again: a sweep may have read the run in between
}

/** Metric points and the run's end written synchronously (store.ts `SyncRunWriter`). */
export async function openSyncWriter(tree: TreeHandle, runId: string): Promise<SyncRunWriter> {
  const runDir = await tree.runDir(runId);
  const active = () => {
    try {
      return tree.activeMeta(runId, runDir);
    } catch (error) {
      if (!isMissing(error)) throw error;
      throw notFound(
        `Run '${runId}' is no longer at ${runDir}`,
        "It was moved or removed (its experiment deleted?) while the run was open",
      );
    }
  };
  return {
    logMetrics: (metrics) => {
      active();
      tree.index.invalidate(runDir);
      tree.metrics.prepare(runDir, metrics)();
    },
    end: (status, endTime) => {
      const { info } = active();
      const ended = { ...info, status, endTime };
      tree.writeRun(runDir, { info: ended, deletedTime: undefined });
      return ended;
    },
  };
}
