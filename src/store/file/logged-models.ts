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
 * written last at creation, so a half-made model is never listed.
 */
import { createHash, randomBytes } from "node:crypto";
import { promises as fs, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { isRemoteUri, openRepository } from "../../artifacts/open.ts";
import type { ArtifactRepository } from "../../artifacts/repository.ts";
import { createFile, isMissing, readTextIfExists, replaceFile } from "../../atomic.ts";
import {
  type ArtifactData,
  type ArtifactStream,
  type Experiment,
  type FileInfo,
  LOGGED_MODEL_STATUSES,
  type LoggedModelRecord,
  type LoggedModelStatus,
  type Metric,
} from "../../entities.ts";
import { invalid, notFound } from "../../errors.ts";
import { isLaterPoint } from "../../metric-latest.ts";
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
import {
  deleteArtifactPath,
  listArtifactDir,
  openArtifactFile,
  writeArtifactFile,
} from "./artifacts.ts";
import { listKeyFiles, prepareKeyFile, readKeyValues } from "./key-files.ts";
import { parseMetricLine } from "./metric-lines.ts";
import { fromYaml, toYaml, type YamlValue } from "./yaml.ts";

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

const META = "meta.yaml";
const MODELS = "models";

/** meta.yaml's fields (MLflow's `LoggedModel.to_dictionary` without tags, params, metrics). */
interface StoredModel {
  artifact_location: string;
  creation_timestamp: number;
  experiment_id: string;
  last_updated_timestamp: number;
  lifecycle_stage?: "active" | "deleted";
  model_id: string;
  model_type: string | null;
  name: string;
  source_run_id: string | null;
  status: number;
  status_message: string | null;
}

const md5 = (text: string) => createHash("md5").update(text, "utf8").digest("hex");
const statusNumber = (status: LoggedModelStatus) => LOGGED_MODEL_STATUSES.indexOf(status);

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

  async #read(folder: string): Promise<{ stored: StoredModel; model: LoggedModelRecord }> {
    const text = await readTextIfExists(join(folder, META));
    const stored = (text === undefined ? null : fromYaml(text)) as StoredModel | null;
    if (stored === null || typeof stored !== "object" || typeof stored.model_id !== "string") {
      throw notFound(`Model folder ${folder} has no readable meta.yaml`);
    }
    const [tags, params, metrics] = await Promise.all([
      readKeyValues(join(folder, "tags")),
      readKeyValues(join(folder, "params")),
      this.#metrics(folder),
    ]);
    const model: LoggedModelRecord = {
      modelId: stored.model_id,
      experimentId: String(stored.experiment_id),
      name: String(stored.name ?? ""),
      artifactLocation: String(stored.artifact_location ?? ""),
      creationTimestamp: Number(stored.creation_timestamp ?? 0),
      lastUpdatedTimestamp: Number(stored.last_updated_timestamp ?? 0),
      modelType: stored.model_type ?? null,
      sourceRunId: stored.source_run_id ?? null,
      status: LOGGED_MODEL_STATUSES[Number(stored.status)] ?? "UNSPECIFIED",
      statusMessage: stored.status_message ?? null,
      tags,
      params,
      metrics,
    };
    return { stored, model };
  }

  /** The latest point of each metric per (dataset name, digest), as MLflow reads them. */
  async #metrics(folder: string): Promise<LoggedModelRecord["metrics"]> {
    const latest: LoggedModelRecord["metrics"] = [];
    for (const [key, file] of await listKeyFiles(join(folder, "metrics"))) {
      const groups = new Map<string, LoggedModelRecord["metrics"][number]>();
      for (const line of (await fs.readFile(file, "utf8")).split("\n")) {
        if (line.trim() === "") continue;
        const fields = line.trim().split(" ");
        const [runId = ""] = fields.splice(3, 1);
        const point = parseMetricLine(key, fields.join(" "));
        if (typeof point === "string") throw invalid(`${file}: ${point}`);
        const group = `${point.datasetName ?? ""} ${point.datasetDigest ?? ""}`;
        const best = groups.get(group);
        if (best === undefined || isLaterPoint(point, best)) groups.set(group, { ...point, runId });
      }
      latest.push(...groups.values());
    }
    return latest;
  }

  async #write(folder: string, stored: StoredModel): Promise<void> {
    await replaceFile(
      join(folder, META),
      toYaml(stored as unknown as Record<string, YamlValue>),
      folder,
    );
  }

  async #writeKeys(folder: string, namespace: "tags" | "params", values: Record<string, string>) {
    for (const [key, value] of Object.entries(values)) {
      const file = prepareKeyFile(join(folder, namespace), namespace.slice(0, -1), key);
      await replaceFile(file, value, folder);
    }
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
    await this.#writeKeys(folder, "params", options.params ?? {});
    await this.#writeKeys(folder, "tags", options.tags ?? {});
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
    await createFile(
      join(folder, META),
      toYaml(stored as unknown as Record<string, YamlValue>),
      folder,
    );
    return (await this.#read(folder)).model;
  }

  protected async _getLoggedModel(
    modelId: string,
    options: { allowDeleted?: boolean } = {},
  ): Promise<LoggedModelRecord> {
    const { stored, model } = await this.#read(await this.#locate(modelId));
    if (stored.lifecycle_stage === "deleted" && !options.allowDeleted) {
      throw loggedModelNotFound(modelId);
    }
    return model;
  }

  async #active(modelId: string): Promise<{ folder: string; stored: StoredModel }> {
    const folder = await this.#locate(modelId);
    const { stored } = await this.#read(folder);
    if (stored.lifecycle_stage === "deleted") throw loggedModelNotFound(modelId);
    return { folder, stored };
  }

  protected async _finalizeLoggedModel(
    modelId: string,
    status: LoggedModelStatus,
  ): Promise<LoggedModelRecord> {
    const { folder, stored } = await this.#active(modelId);
    const { lifecycle_stage: _, ...rest } = stored;
    await this.#write(folder, {
      ...rest,
      status: statusNumber(status),
      last_updated_timestamp: Date.now(),
    });
    return (await this.#read(folder)).model;
  }

  protected async _setLoggedModelTags(
    modelId: string,
    tags: Record<string, string>,
  ): Promise<void> {
    await this.#writeKeys((await this.#active(modelId)).folder, "tags", tags);
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
    await this.#writeKeys((await this.#active(modelId)).folder, "params", params);
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
    await this.#write(folder, {
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
        const read = await this.#read(join(dir, MODELS, entry)).catch(() => undefined);
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
    const runDir = await this.#tree.activeRunDir(runId);
    for (const { modelId, step } of outputs) {
      const dir = join(runDir, "outputs", modelId);
      await fs.mkdir(dir, { recursive: true });
      const link = {
        destination_id: modelId,
        destination_type: "MODEL_OUTPUT",
        source_id: modelId,
        source_type: "RUN_OUTPUT",
        step,
        tags: {},
      };
      await createFile(join(dir, META), toYaml(link), runDir);
    }
  }

  protected async _logRunModelInputs(runId: string, modelIds: string[]): Promise<void> {
    const runDir = await this.#tree.activeRunDir(runId);
    for (const modelId of modelIds) {
      const dir = join(runDir, "inputs", md5(modelId + runId));
      await fs.mkdir(dir, { recursive: true });
      const link = {
        destination_id: modelId,
        destination_type: "RUN",
        source_id: modelId,
        source_type: "MODEL",
        tags: {},
      };
      await createFile(join(dir, META), toYaml(link), runDir);
    }
  }

  /** Synchronous reads (two folder listings, usually missing): a search asks for 100 runs. */
  protected async _runModelLinks(runId: string): Promise<RunModelLinks> {
    const runDir = await this.#tree.runDir(runId);
    const links: RunModelLinks = { outputs: [], inputs: [] };
    for (const kind of ["outputs", "inputs"] as const) {
      const folder = join(runDir, kind);
      let entries: string[];
      try {
        entries = readdirSync(folder);
      } catch (error) {
        if (isMissing(error)) continue;
        throw error;
      }
      for (const entry of entries) {
        let text: string;
        try {
          text = readFileSync(join(folder, entry, META), "utf8");
        } catch (error) {
          if (isMissing(error)) continue;
          throw error;
        }
        const link = fromYaml(text) as Record<string, unknown> | null;
        if (link === null || typeof link !== "object") continue;
        if (kind === "outputs" && link.source_type === "RUN_OUTPUT") {
          links.outputs.push({ modelId: String(link.source_id), step: Number(link.step ?? 0) });
        } else if (kind === "inputs" && link.source_type === "MODEL") {
          links.inputs.push(String(link.source_id));
        }
      }
    }
    links.outputs.sort((a, b) => (a.modelId < b.modelId ? -1 : 1));
    links.inputs.sort();
    return links;
  }

  // ---- artifacts ----

  /**
   * Where its artifacts are: a bucket's repository when its experiment keeps artifacts in one
   * (`s3://…`, `gs://…`, `wasbs://…`, `abfss://…`), else the folder its location names (its own
   * `artifacts/` when the tree moved).
   */
  async #artifacts(modelId: string): Promise<ArtifactRepository | string> {
    const folder = await this.#locate(modelId);
    const { model } = await this.#read(folder);
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
