/**
 * Models in runs and in the registry: `registerModel` (a `runs:/` URI, a local path or any URI
 * becomes a new registered model version) and `logModel` (a model folder with an `MLmodel` file
 * that MLflow reads, logged as an artifact, recorded in `mlflow.log-model.history`).
 */
import { randomUUID } from "node:crypto";
import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { ModelVersion } from "../entities.ts";
import { invalid, isMlflowError } from "../errors.ts";
import { appendModelHistory } from "../model-history.ts";
import { registryOf, type TrackingStore } from "../store/store.ts";
import { validateArtifactPath } from "../validation.ts";

export interface RegisterModelOptions {
  /** `runs:/<run id>/<path>`, a local folder, or any URI MLflow understands. */
  modelUri: string;
  name: string;
  /** Tags of the new version. */
  tags?: Record<string, string>;
  description?: string;
}

const RUNS_URI = /^runs:\/([^/]+)\/(.+)$/;

/**
 * Creates the registered model when missing, then a new version of it. A `runs:/<id>/<path>`
 * URI is kept as the version's `source` (as MLflow 2.x does) and resolved against the run's
 * artifact URI for where the files are (`getModelVersionDownloadUri`).
 */
export async function registerModel(
  store: TrackingStore,
  options: RegisterModelOptions,
): Promise<ModelVersion> {
  const registry = registryOf(store);
  let source = options.modelUri;
  let runId: string | undefined;
  let storageLocation: string | undefined;
  const runs = RUNS_URI.exec(source);
  if (runs) {
    const [, id, path] = runs as unknown as [string, string, string];
    const run = await store.getRun(id);
    runId = id;
    storageLocation = `${run.info.artifactUri.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`;
  } else if (source.startsWith("runs:")) {
    throw invalid(`Invalid model URI '${source}': expected runs:/<run id>/<artifact path>`);
  } else if (!/^[a-z][a-z0-9+.-]*:/i.test(source) || /^[a-z]:[\\/]/i.test(source)) {
    source = pathToFileURL(resolve(source)).href;
  }
  try {
    await registry.createRegisteredModel(options.name);
  } catch (error) {
    if (!isMlflowError(error, "RESOURCE_ALREADY_EXISTS")) throw error;
  }
  return registry.createModelVersion({
    name: options.name,
    source,
    ...(runId === undefined ? {} : { runId }),
    ...(storageLocation === undefined ? {} : { storageLocation }),
    ...(options.tags === undefined ? {} : { tags: options.tags }),
    ...(options.description === undefined ? {} : { description: options.description }),
  });
}

/** One column of a model signature, as MLflow's ColSpec. */
export interface ColumnSpec {
  name?: string;
  /** `double`, `float`, `long`, `integer`, `boolean`, `string`, `binary`, `datetime`. */
  type: string;
  required?: boolean;
}

export interface LogModelOptions {
  /** Where the model folder goes in the run's artifacts, e.g. `model`. */
  artifactPath: string;
  /**
   * The model: a JSON-serialisable value (written as `model.json`), or the path of a local
   * folder whose files are copied into the model folder.
   */
  model: unknown;
  /** The flavor name in `MLmodel` (default `mlruns_json`, or `mlruns_dir` for a folder). */
  flavor?: string;
  /** Extra keys of that flavor's entry in `MLmodel`. */
  flavorConfig?: Record<string, string | number | boolean>;
  /** Registers the logged model under this name in the same step. */
  registeredModelName?: string;
  signature?: { inputs: ColumnSpec[]; outputs?: ColumnSpec[] };
}

export interface LoggedModel {
  /** `runs:/<run id>/<artifact path>`. */
  modelUri: string;
  modelUuid: string;
  /** The MLmodel document as written. */
  mlmodel: Record<string, unknown>;
  /** The new registered version, when `registeredModelName` was given. */
  registeredVersion?: ModelVersion;
}

/** `2024-05-01 12:00:00.123000`, as MLflow's `utc_time_created`. */
function utcTime(date: Date): string {
  const iso = date.toISOString(); // 2024-05-01T12:00:00.123Z
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}000`;
}

async function isDirectory(path: string): Promise<boolean> {
  return fs.stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

/** Writes the model folder, logs it, records the history tag, and registers it if asked. */
export async function logModel(
  store: TrackingStore,
  runId: string,
  options: LogModelOptions,
): Promise<LoggedModel> {
  const { artifactPath } = options;
  validateArtifactPath(artifactPath);
  const fromDir = typeof options.model === "string";
  if (fromDir && !(await isDirectory(options.model as string))) {
    throw invalid(
      `Model folder '${String(options.model)}' does not exist`,
      "Pass a folder path, or a JSON-serialisable object (wrap a string in an object)",
    );
  }
  const json = fromDir ? undefined : JSON.stringify(options.model, null, 2);
  if (!fromDir && json === undefined) {
    throw invalid("The model must be a JSON-serialisable value or a folder path");
  }
  const modelUuid = randomUUID().replaceAll("-", "");
  const flavorName = options.flavor ?? (fromDir ? "mlruns_dir" : "mlruns_json");
  const flavor: Record<string, unknown> = fromDir
    ? { format: "directory" }
    : { format: "json", data: "model.json" };
  Object.assign(flavor, options.flavorConfig);
  const mlmodel: Record<string, unknown> = {
    artifact_path: artifactPath,
    flavors: { [flavorName]: flavor },
    model_uuid: modelUuid,
    run_id: runId,
    utc_time_created: utcTime(new Date()),
    metadata: { written_by: "mlruns" },
  };
  if (options.signature) {
    mlmodel.signature = {
      inputs: JSON.stringify(options.signature.inputs),
      outputs: options.signature.outputs ? JSON.stringify(options.signature.outputs) : null,
      params: null,
    };
  }
  const work = await fs.mkdtemp(join(tmpdir(), "mlruns-model-"));
  try {
    const dir = join(work, basename(artifactPath));
    if (fromDir) {
      await fs.cp(options.model as string, dir, { recursive: true });
      if (await fs.stat(join(dir, "MLmodel")).catch(() => undefined)) {
        throw invalid(`Model folder '${String(options.model)}' already has an MLmodel file`);
      }
    } else {
      await fs.mkdir(dir);
      await fs.writeFile(join(dir, "model.json"), `${json}\n`);
    }
    // The YAML writer is loaded here: a tracker that never logs a model does not compile it.
    const { stringify } = await import("yaml");
    await fs.writeFile(join(dir, "MLmodel"), stringify(mlmodel, { version: "1.1" }));
    const parent = artifactPath.includes("/")
      ? artifactPath.slice(0, artifactPath.lastIndexOf("/"))
      : undefined;
    await store.logArtifact(runId, dir, parent);
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }

  const { signature: _, metadata: __, ...entry } = mlmodel;
  await appendModelHistory(store, runId, entry);

  const modelUri = `runs:/${runId}/${artifactPath}`;
  const logged: LoggedModel = { modelUri, modelUuid, mlmodel };
  if (options.registeredModelName !== undefined) {
    logged.registeredVersion = await registerModel(store, {
      modelUri,
      name: options.registeredModelName,
    });
  }
  return logged;
}
