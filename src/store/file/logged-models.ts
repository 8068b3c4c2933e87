/**
 * MLflow 3's logged models in a tree, as MLflow's file store lays them out:
 *
 *   <experiment>/models/<m-id>/meta.yaml      artifact_location, creation_timestamp, experiment_id,
 *                                             last_updated_timestamp, [lifecycle_stage], model_id,
 *                                             model_type, name, source_run_id, status (0-3),
 *                                             status_message
 *   <experiment>/models/<m-id>/params/<key>, tags/<key>
 *   <experiment>/models/<m-id>/metrics/<key>  "<timestamp> <value> <step> <run id>[ <dataset> <digest>]"
 *   <experiment>/models/<m-id>/artifacts/     (the default artifact location)
 *   <run>/outputs/<m-id>/meta.yaml            the run made the model (at a step)
 *   <run>/inputs/<md5(m-id + run id)>/meta.yaml  the run used the model
 *
 * `lifecycle_stage: active` is written at creation only; finalizing rewrites meta.yaml without
 * it, deleting writes `deleted` (MLflow's own sequence). meta.yaml is replaced atomically and
 * written last at creation, so a half-made model is never listed. Here the driver's decisions;
 * a model's folder is read and written by logged-model-folders.ts, the links by
 * run-model-links.ts.
 */
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  deleteArtifactPath,
  listArtifactDir,
  openArtifactFile,
  writeArtifactFile,
} from "../../artifacts/folder.ts";
import { isRemoteUri, openRepository } from "../../artifacts/open.ts";
import type { ArtifactRepository } from "../../artifacts/repository.ts";
import { createFile, isMissing, readTextIfExists } from "../../atomic.ts";
import type {
  ArtifactData,
  ArtifactStream,
  Experiment,
  FileInfo,
  LoggedModelRecord,
  LoggedModelStatus,
  Metric,
} from "../../entities.ts";
import { pyFloatRepr } from "../../py-format.ts";
import { generateRunName } from "../../run-name.ts";
import {
  type SearchLoggedModelsRequest,
  type SearchLoggedModelsResult,
  searchLoggedModels,
} from "../../search/logged-models.ts";
import { CheckedLoggedModels } from "../checked-logged-models.ts";
import {
  type CreateLoggedModelOptions,
  experimentNotActiveForModel,
  loggedModelNotFound,
  loggedModelTagNotFound,
  type RunModelLinks,
} from "../logged-models.ts";
import { prepareKeyFile } from "./key-files.ts";
import {
  META,
  MODELS,
  modelMeta,
  readModel,
  type StoredModel,
  statusNumber,
  writeModel,
  writeModelKeys,
} from "./logged-model-folders.ts";
import { readRunModelLinks, writeRunModelInputs, writeRunOutputs } from "./run-model-links.ts";

/** What the logged models need of their FileStore. */
export interface LoggedModelTree {
  /** Every experiment folder, active and deleted. */
  experimentDirs(): Promise<{ id: string; dir: string; deleted: boolean }[]>;
  /** An experiment's folder and whether it is deleted; RESOURCE_DOES_NOT_EXIST when unknown. */
  experimentDir(experimentId: string): Promise<{ dir: string; deleted: boolean }>;
  getExperiment(experimentId: string): Promise<Experiment>;
  /** A run's folder, refused unless the run is active. */
  activeRunDir(runId: string): Promise<string>;
  /** A run's folder, whatever its stage. */
  runDir(runId: string): Promise<string>;
}

export class FileLoggedModels extends CheckedLoggedModels {
  readonly #tree: LoggedModelTree;

  constructor(tree: LoggedModelTree) {
    super();
    this.#tree = tree;
  }

  /** The model's folder (in an active or deleted experiment), or RESOURCE_DOES_NOT_EXIST. */
  async #locate(modelId: string): Promise<string> {
    for (const { dir } of await this.#tree.experimentDirs()) {
      const folder = join(dir, MODELS, modelId);
      if ((await readTextIfExists(join(folder, META))) !== undefined) return folder;
    }
    throw loggedModelNotFound(modelId);
  }

  protected async _createLoggedModel(
    options: CreateLoggedModelOptions,
  ): Promise<LoggedModelRecord> {
    const { experimentId } = options;
    const name = options.name || generateRunName();
    const { dir, deleted } = await this.#tree.experimentDir(experimentId);
    if (deleted) throw experimentNotActiveForModel(experimentId);
    const experiment = await this.#tree.getExperiment(experimentId);
    const modelId = `m-${randomBytes(16).toString("hex")}`;
    const folder = join(dir, MODELS, modelId);
    await fs.mkdir(join(folder, "metrics"), { recursive: true });
    await fs.mkdir(join(folder, "params"));
    await writeModelKeys(folder, "params", options.params ?? {});
    await writeModelKeys(folder, "tags", options.tags ?? {});
    const now = Date.now();
    const stored: StoredModel = {
      artifact_location: `${experiment.artifactLocation.replace(/\/+$/, "")}/${MODELS}/${modelId}/artifacts`,
      creation_timestamp: now,
      experiment_id: experimentId,
      last_updated_timestamp: now,
      lifecycle_stage: "active",
      model_id: modelId,
      model_type: options.modelType || null,
      name,
      source_run_id: options.sourceRunId || null,
      status: statusNumber("PENDING"),
      status_message: null,
    };
    // meta.yaml last: until it exists, readers (MLflow too) skip the folder.
    await createFile(join(folder, META), modelMeta(stored), folder);
    return (await readModel(folder)).model;
  }

  protected async _getLoggedModel(
    modelId: string,
    options: { allowDeleted?: boolean } = {},
  ): Promise<LoggedModelRecord> {
    const { stored, model } = await readModel(await this.#locate(modelId));
    if (stored.lifecycle_stage === "deleted" && !options.allowDeleted) {
      throw loggedModelNotFound(modelId);
    }
    return model;
  }

  async #active(modelId: string): Promise<{ folder: string; stored: StoredModel }> {
    const folder = await this.#locate(modelId);
    const { stored } = await readModel(folder);
    if (stored.lifecycle_stage === "deleted") throw loggedModelNotFound(modelId);
    return { folder, stored };
  }

  protected async _finalizeLoggedModel(
    modelId: string,
    status: LoggedModelStatus,
  ): Promise<LoggedModelRecord> {
    const { folder, stored } = await this.#active(modelId);
    const { lifecycle_stage: _, ...rest } = stored;
    await writeModel(folder, {
      ...rest,
      status: statusNumber(status),
      last_updated_timestamp: Date.now(),
    });
    return (await readModel(folder)).model;
  }

  protected async _setLoggedModelTags(
    modelId: string,
    tags: Record<string, string>,
  ): Promise<void> {
    await writeModelKeys((await this.#active(modelId)).folder, "tags", tags);
  }

  protected async _deleteLoggedModelTag(modelId: string, key: string): Promise<void> {
    const { folder } = await this.#active(modelId);
    try {
      await fs.rm(join(folder, "tags", ...key.split("/")));
    } catch (error) {
      if (!isMissing(error)) throw error;
      throw loggedModelTagNotFound(modelId, key);
    }
  }

  protected async _logLoggedModelParams(
    modelId: string,
    params: Record<string, string>,
  ): Promise<void> {
    await writeModelKeys((await this.#active(modelId)).folder, "params", params);
  }

  protected async _logLoggedModelMetrics(
    modelId: string,
    runId: string,
    metrics: Metric[],
  ): Promise<void> {
    const { folder } = await this.#active(modelId);
    const byKey = new Map<string, string>();
    for (const m of metrics) {
      const dataset =
        m.datasetName !== undefined && m.datasetDigest !== undefined
          ? ` ${m.datasetName} ${m.datasetDigest}`
          : "";
      const line = `${m.timestamp} ${pyFloatRepr(m.value)} ${m.step} ${runId}${dataset}\n`;
      byKey.set(m.key, (byKey.get(m.key) ?? "") + line);
    }
    for (const [key, lines] of byKey) {
      const file = prepareKeyFile(join(folder, "metrics"), "metric", key);
      await fs.appendFile(file, lines); // one write: lines appear whole
    }
  }

  protected async _deleteLoggedModel(modelId: string): Promise<void> {
    const { folder, stored } = await this.#active(modelId);
    await writeModel(folder, {
      ...stored,
      lifecycle_stage: "deleted",
      last_updated_timestamp: Date.now(),
    });
  }

  protected async _searchLoggedModels(
    request: SearchLoggedModelsRequest,
  ): Promise<SearchLoggedModelsResult> {
    const models: LoggedModelRecord[] = [];
    for (const experimentId of request.experimentIds) {
      const { dir } = await this.#tree
        .experimentDir(experimentId)
        .catch(() => ({ dir: undefined }));
      if (dir === undefined) continue;
      const entries = await fs.readdir(join(dir, MODELS)).catch(() => [] as string[]);
      for (const entry of entries) {
        if (!entry.startsWith("m-")) continue;
        const read = await readModel(join(dir, MODELS, entry)).catch(() => undefined);
        if (read === undefined || read.stored.lifecycle_stage === "deleted") continue;
        if (read.model.experimentId === experimentId) models.push(read.model);
      }
    }
    return searchLoggedModels(models, request);
  }

  // ---- links between runs and models ----

  protected async _logRunOutputs(
    runId: string,
    outputs: { modelId: string; step: number }[],
  ): Promise<void> {
    await writeRunOutputs(await this.#tree.activeRunDir(runId), outputs);
  }

  protected async _logRunModelInputs(runId: string, modelIds: string[]): Promise<void> {
    await writeRunModelInputs(await this.#tree.activeRunDir(runId), runId, modelIds);
  }

  protected async _runModelLinks(runId: string): Promise<RunModelLinks> {
    return readRunModelLinks(await this.#tree.runDir(runId));
  }

  // ---- artifacts ----

  /**
   * Where its artifacts are: a bucket's repository when its experiment keeps artifacts in one
   * (`s3://…`, `gs://…`, `wasbs://…`, `abfss://…`), else the folder its location names (its own
   * `artifacts/` when the tree moved).
   */
  async #artifacts(modelId: string): Promise<ArtifactRepository | string> {
    const folder = await this.#locate(modelId);
    const { model } = await readModel(folder);
    const own = join(folder, "artifacts");
    const uri = model.artifactLocation;
    if (isRemoteUri(uri)) return openRepository(uri);
    const dir = uri === "" ? own : uri.startsWith("file:") ? fileURLToPath(uri) : uri;
    if (dir === own) return own;
    const parentExists = await fs.stat(join(dir, "..")).then(
      () => true,
      () => false,
    );
    return parentExists ? dir : own;
  }

  protected async _listArtifacts(modelId: string, path?: string): Promise<FileInfo[]> {
    const at = await this.#artifacts(modelId);
    if (typeof at === "string") return listArtifactDir(at, path);
    return at.list(path);
  }

  protected async _putArtifact(modelId: string, path: string, data: ArtifactData): Promise<void> {
    const at = await this.#artifacts(modelId);
    await (typeof at === "string" ? writeArtifactFile(at, path, data) : at.put(path, data));
  }

  protected async _openArtifact(modelId: string, path: string): Promise<ArtifactStream> {
    const at = await this.#artifacts(modelId);
    return typeof at === "string" ? openArtifactFile(at, path) : at.get(path);
  }

  protected async _deleteArtifact(modelId: string, path: string): Promise<void> {
    const at = await this.#artifacts(modelId);
    await (typeof at === "string" ? deleteArtifactPath(at, path) : at.delete(path || undefined));
  }
}
