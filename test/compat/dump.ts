/**
 * One JSON shape for "everything a store holds", built either by the real MLflow
 * (`reader.py dump`, documented at the top of that file) or by `dumpStore` from our
 * TrackingStore. Compat tests compare the two with `toEqual`.
 */
import { cp, mkdir, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { FileInfo, Metric, ModelVersion, Run } from "../../src/entities.ts";
import type { RegistryStore } from "../../src/store/registry.ts";
import type { TrackingStore } from "../../src/store/store.ts";
import { REPO_ROOT, runPython } from "../helpers/mlflow-env.ts";

/** A float as JSON: NaN and the infinities become strings, as in reader.py. */
export type DumpNumber = number | "NaN" | "Infinity" | "-Infinity";

export interface ExperimentDump {
  experiment_id: string;
  name: string;
  lifecycle_stage: string;
  artifact_location: string;
  creation_time: number | null;
  last_update_time: number | null;
  tags: Record<string, string>;
}

export interface RunInfoDump {
  run_id: string;
  experiment_id: string;
  run_name: string;
  user_id: string;
  status: string;
  start_time: number;
  end_time: number | null;
  artifact_uri: string;
  lifecycle_stage: string;
}

export interface DatasetInputDump {
  dataset: {
    name: string;
    digest: string;
    source_type: string;
    source: string;
    schema: string | null;
    profile: string | null;
  };
  tags: Record<string, string>;
}

export interface ArtifactDump {
  path: string;
  is_dir: boolean;
  file_size: number | null;
}

export interface RunDump {
  info: RunInfoDump;
  params: Record<string, string>;
  tags: Record<string, string>;
  metrics: Record<string, { value: DumpNumber; timestamp: number; step: number }>;
  /** Per key, `[timestamp, value, step]` in the order the store returned them. */
  metric_history: Record<string, [number, DumpNumber, number][]>;
  inputs: DatasetInputDump[];
  artifacts: ArtifactDump[] | null;
}

export interface ModelVersionDump {
  version: string;
  current_stage: string;
  description: string | null;
  creation_timestamp: number | null;
  last_updated_timestamp: number | null;
  source: string | null;
  run_id: string | null;
  run_link: string | null;
  status: string;
  status_message: string | null;
  user_id: string | null;
  model_id: string | null;
  tags: Record<string, string>;
  aliases: string[];
}

export interface RegisteredModelDump {
  name: string;
  description: string | null;
  creation_timestamp: number | null;
  last_updated_timestamp: number | null;
  tags: Record<string, string>;
  aliases: Record<string, string>;
  versions: ModelVersionDump[];
}

export interface Dump {
  experiments: ExperimentDump[];
  runs: RunDump[];
  /** `null` when the registry was not read. */
  registered_models: RegisteredModelDump[] | null;
}

/** Python's string order: by Unicode code point (JS `<` compares UTF-16 code units). */
export function compareCodePoints(a: string, b: string): number {
  const x = Array.from(a);
  const y = Array.from(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const cx = x[i]?.codePointAt(0) ?? 0;
    const cy = y[i]?.codePointAt(0) ?? 0;
    if (cx !== cy) return cx - cy;
  }
  return x.length - y.length;
}

function compareLists(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compareCodePoints(a[i] ?? "", b[i] ?? "");
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

/** Numeric ids by value (no BigInt needed: by length, then digits), other ids after them. */
export function compareIds(a: string, b: string): number {
  const da = /^\d+$/.test(a);
  const db = /^\d+$/.test(b);
  if (da !== db) return da ? -1 : 1;
  if (da && a.length !== b.length) return a.length - b.length;
  return compareCodePoints(a, b);
}

export function dumpNumber(x: number): DumpNumber {
  if (Number.isNaN(x)) return "NaN";
  if (x === Number.POSITIVE_INFINITY) return "Infinity";
  if (x === Number.NEGATIVE_INFINITY) return "-Infinity";
  return x;
}

function inputSortKey(i: DatasetInputDump): string[] {
  const d = i.dataset;
  const tagParts = Object.keys(i.tags)
    .sort(compareCodePoints)
    .flatMap((k) => [k, i.tags[k] ?? ""]);
  return [d.name, d.digest, d.source_type, d.source, ...tagParts];
}

async function listArtifactsRecursive(
  store: TrackingStore,
  runId: string,
  path?: string,
): Promise<ArtifactDump[]> {
  const out: ArtifactDump[] = [];
  const children: FileInfo[] = await store.listArtifacts(runId, path);
  for (const f of children) {
    out.push({ path: f.path, is_dir: f.isDir, file_size: f.isDir ? null : (f.fileSize ?? null) });
    if (f.isDir) out.push(...(await listArtifactsRecursive(store, runId, f.path)));
  }
  return out;
}

async function dumpRun(store: TrackingStore, run: Run, artifacts: boolean): Promise<RunDump> {
  const metrics: RunDump["metrics"] = {};
  const history: RunDump["metric_history"] = {};
  const keys = Object.keys(run.data.metrics).sort(compareCodePoints);
  for (const key of keys) {
    const m = run.data.metrics[key] as Metric;
    metrics[key] = { value: dumpNumber(m.value), timestamp: m.timestamp, step: m.step };
    history[key] = (await store.getMetricHistory(run.info.runId, key)).map(
      (p): [number, DumpNumber, number] => [p.timestamp, dumpNumber(p.value), p.step],
    );
  }
  const inputs: DatasetInputDump[] = run.inputs.map((i) => ({
    dataset: {
      name: i.dataset.name,
      digest: i.dataset.digest,
      source_type: i.dataset.sourceType,
      source: i.dataset.source,
      schema: i.dataset.schema,
      profile: i.dataset.profile,
    },
    tags: { ...i.tags },
  }));
  inputs.sort((a, b) => compareLists(inputSortKey(a), inputSortKey(b)));
  const info = run.info;
  return {
    info: {
      run_id: info.runId,
      experiment_id: info.experimentId,
      run_name: info.runName,
      user_id: info.userId,
      status: info.status,
      start_time: info.startTime,
      end_time: info.endTime,
      artifact_uri: info.artifactUri,
      lifecycle_stage: info.lifecycleStage,
    },
    params: { ...run.data.params },
    tags: { ...run.data.tags },
    metrics,
    metric_history: history,
    inputs,
    artifacts: artifacts
      ? (await listArtifactsRecursive(store, info.runId)).sort((a, b) =>
          compareCodePoints(a.path, b.path),
        )
      : null,
  };
}

/** Every page of a search, in order. */
async function allPages<T>(
  fetch: (pageToken: string | undefined) => Promise<{ items: T[]; next?: string | undefined }>,
): Promise<T[]> {
  const out: T[] = [];
  let token: string | undefined;
  do {
    const page = await fetch(token);
    out.push(...page.items);
    token = page.next;
  } while (token);
  return out;
}

function dumpVersion(v: ModelVersion): ModelVersionDump {
  const empty = (s: string | null) => (s === "" ? null : s);
  return {
    version: v.version,
    current_stage: v.currentStage,
    description: empty(v.description),
    creation_timestamp: v.creationTimestamp,
    last_updated_timestamp: v.lastUpdatedTimestamp,
    source: v.source,
    run_id: empty(v.runId),
    run_link: empty(v.runLink),
    status: v.status,
    status_message: empty(v.statusMessage),
    user_id: empty(v.userId),
    model_id: empty(v.modelId),
    tags: { ...v.tags },
    aliases: [...v.aliases].sort(compareCodePoints),
  };
}

/** The registry in reader.py's shape (`registered_models`), read as reader.py reads it. */
export async function dumpRegistry(store: RegistryStore): Promise<RegisteredModelDump[]> {
  const models = await allPages(async (pageToken) => {
    const page = await store.searchRegisteredModels({
      maxResults: 1000,
      ...(pageToken ? { pageToken } : {}),
    });
    return { items: page.models, next: page.nextPageToken };
  });
  const out: RegisteredModelDump[] = [];
  for (const model of models) {
    const found = await allPages(async (pageToken) => {
      const page = await store.searchModelVersions({
        filter: `name='${model.name.replaceAll("'", "\\'")}'`,
        maxResults: 1000,
        ...(pageToken ? { pageToken } : {}),
      });
      return { items: page.versions, next: page.nextPageToken };
    });
    const versions: ModelVersionDump[] = [];
    for (const v of found)
      versions.push(dumpVersion(await store.getModelVersion(model.name, v.version)));
    versions.sort((a, b) => Number(a.version) - Number(b.version));
    out.push({
      name: model.name,
      description: model.description === "" ? null : model.description,
      creation_timestamp: model.creationTimestamp,
      last_updated_timestamp: model.lastUpdatedTimestamp,
      tags: { ...model.tags },
      aliases: { ...model.aliases },
      versions,
    });
  }
  return out.sort((a, b) => compareCodePoints(a.name, b.name));
}

/**
 * Everything `store` holds, in reader.py's shape. Artifacts are listed unless
 * `artifacts: false`. `registered_models` is filled with `registry: true` when the store has a
 * registry (compare with `reader.py dump ...`), and null otherwise (compare with
 * `reader.py dump ... --no-registry`).
 */
export async function dumpStore(
  store: TrackingStore,
  options: { artifacts?: boolean; registry?: boolean } = {},
): Promise<Dump> {
  const experiments: ExperimentDump[] = (await store.listExperiments("ALL")).map((e) => ({
    experiment_id: e.experimentId,
    name: e.name,
    lifecycle_stage: e.lifecycleStage,
    artifact_location: e.artifactLocation,
    creation_time: e.creationTime,
    last_update_time: e.lastUpdateTime,
    tags: { ...e.tags },
  }));
  experiments.sort((a, b) => compareIds(a.experiment_id, b.experiment_id));
  const runs: RunDump[] = [];
  const ids = experiments.map((e) => e.experiment_id);
  for (const run of ids.length > 0 ? await store.listRuns(ids, "ALL") : []) {
    runs.push(await dumpRun(store, run, options.artifacts ?? true));
  }
  runs.sort((a, b) => compareCodePoints(a.info.run_id, b.info.run_id));
  const registered_models =
    options.registry === true && store.registry ? await dumpRegistry(store.registry) : null;
  return { experiments, runs, registered_models };
}

/** The Python side of the oracle: `reader.py dump` run by the real MLflow `version`. */
export async function mlflowDump(
  version: string,
  trackingUri: string,
  options: {
    artifacts?: boolean;
    registry?: boolean;
    loggedModels?: boolean;
    cwd?: string;
    /** Only experiments and registered models whose names start with this (a shared server). */
    prefix?: string;
  } = {},
): Promise<Dump> {
  const flags: string[] = [];
  if (options.prefix !== undefined) flags.push(`--prefix=${options.prefix}`);
  if (options.loggedModels === true) flags.push("--logged-models");
  if (options.artifacts === true) flags.push("--artifacts");
  if (options.artifacts === false) flags.push("--no-artifacts");
  if (options.registry === false) flags.push("--no-registry");
  const stdout = await runPython(version, READER, ["dump", trackingUri, ...flags], {
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  return JSON.parse(stdout) as Dump;
}

/** `mlflow migrate-filestore` (via reader.py) from an mlruns dir into a new SQLite file. */
export async function mlflowMigrate(
  version: string,
  mlrunsDir: string,
  sqlitePath: string,
): Promise<string> {
  return runPython(version, READER, ["migrate", mlrunsDir, sqlitePath]);
}

export const READER = join(REPO_ROOT, "test", "compat", "reader.py");
export const FIXTURES_DIR = join(REPO_ROOT, "fixtures");

/** Placeholders that fixtures/generate.py wrote instead of the generating machine's paths. */
export const FIXTURE_ROOT_URI = "file:///__MLRUNS_FIXTURE_ROOT__";
export const FIXTURE_ROOT_PATH = "/__MLRUNS_FIXTURE_ROOT__";

async function* walkFiles(dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) yield* walkFiles(p);
    else if (entry.isFile()) yield p;
  }
}

/**
 * Copies `fixtures/<name>/mlruns` (e.g. name `mlflow-3.17.2`) into a fresh temporary directory
 * (recreating the empty directories listed in `fixtures/<name>/empty-dirs.txt`, which git does
 * not keep) and puts the real location back in place of the placeholders: as a percent-encoded `file://`
 * URI where the fixture has the URI placeholder, as a plain path elsewhere. Returns the new
 * mlruns dir; the caller removes its parent directory when done.
 */
export async function materializeFixture(name: string): Promise<string> {
  const parent = await mkdtemp(join(tmpdir(), `mlruns-${name}-`));
  const root = join(parent, "mlruns");
  await cp(join(FIXTURES_DIR, name, "mlruns"), root, { recursive: true });
  // Git keeps no empty dirs; generate.py listed the ones MLflow needs (metrics/, artifacts/...).
  const emptyDirs = await readFile(join(FIXTURES_DIR, name, "empty-dirs.txt"), "utf8");
  for (const rel of emptyDirs.split("\n").filter((line) => line !== "")) {
    await mkdir(join(root, ...rel.split("/")), { recursive: true });
  }
  const uri = pathToFileURL(root).href;
  const marker = Buffer.from(FIXTURE_ROOT_PATH, "utf8");
  for await (const file of walkFiles(root)) {
    const bytes = await readFile(file);
    if (!bytes.includes(marker)) continue;
    const text = bytes.toString("utf8");
    const replaced = text.replaceAll(FIXTURE_ROOT_URI, uri).replaceAll(FIXTURE_ROOT_PATH, root);
    await writeFile(file, replaced, "utf8");
  }
  return root;
}
