/**
 * `exportBundle`: the selected runs of a tree as one deterministic tar (gzip optional). The tree
 * is read twice: once to hash every file and build the manifest (which must come first), once to
 * write, re-hashing each file as it goes; a file that changed in between stops the export. With
 * a base bundle only what changed since it travels: new files whole, and of a metric file that
 * grew by appending only the appended lines.
 */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { isMissing, TEMP_PREFIX } from "../atomic.ts";
import type { Experiment } from "../entities.ts";
import { MlflowError, notFound } from "../errors.ts";
import type { FileStore } from "../store/file/index.ts";
import {
  experimentDocument,
  readExperimentDocument,
  readRunDocument,
  runDocument,
  type StoredRun,
} from "../store/file/meta.ts";
import { fromYaml, toYaml } from "../store/file/yaml.ts";
import { sourceId } from "../sync/identity.ts";
import { chooseExperiments, type Selection, selectRuns } from "../sync/select.ts";
import {
  type BundleRun,
  entryOrder,
  fullState,
  MANIFEST,
  type Manifest,
  ORIGIN_FILE,
  SIGNATURE,
  SUMS,
  sha256,
  sumsText,
  TRASH_DIR,
  TREE,
} from "./manifest.ts";
import { type KeyInput, signManifest } from "./sign.ts";
import { type FileSnapshot, snapshotFile, snapshotOf, walk } from "./snapshot.ts";
import { readHead } from "./source.ts";
import { artifactFolder, experimentRuns } from "./tree.ts";
import { type Entry, writeArchive, writeOutput } from "./write.ts";

export interface ExportOptions extends Omit<Selection, "source"> {
  source: FileStore;
  /** A file path (written under a temp name, renamed when complete), or a stream. */
  output: string | NodeJS.WritableStream;
  /** Compress with gzip. Default: when the output path ends in `.gz` or `.tgz`. */
  gzip?: boolean;
  /** Only what changed since: a previous bundle (its path), or a time (ms or a Date). */
  since?: string | number | Date;
  /** Sign the manifest with this Ed25519 private key (PEM text, a KeyObject, or a PEM file). */
  signingKey?: KeyInput;
  onProgress?: (progress: { bytes: number; totalBytes: number }) => void;
}

export interface ExportIssue {
  runId?: string;
  what: string;
  message: string;
}

export interface ExportReport {
  output: string;
  tree: string;
  /** SHA-256 of the manifest: the bundle's id, which `--since` of the next export names. */
  manifestSha256: string;
  base: string | null;
  since: number | null;
  experiments: number;
  runs: number;
  /** Runs that carry only what changed since the base. */
  partialRuns: number;
  /** Selected runs left out because nothing changed since the base. */
  unchangedRuns: number;
  files: number;
  /** Data bytes in the archive (before compression), and the bundle's size. */
  bytes: number;
  size: number;
  signed: boolean;
  issues: ExportIssue[];
}

const isTemp = (rel: string) => !rel.includes("/") && rel.startsWith(TEMP_PREFIX);

/** What the export starts from: the base bundle's state of every file, or a time. */
async function baseOf(since: ExportOptions["since"]) {
  if (since === undefined)
    return { base: null, sinceMs: null, state: new Map<string, [number, string]>() };
  if (typeof since === "string") {
    const head = await readHead(since);
    return { base: head.manifestSha256, sinceMs: null, state: fullState(head.manifest) };
  }
  const sinceMs = since instanceof Date ? since.getTime() : since;
  return { base: null, sinceMs, state: new Map<string, [number, string]>() };
}

/** A run's meta.yaml, or undefined (with an issue) when it is not one MLflow reads. */
function readMeta(path: string, runId: string, issues: ExportIssue[]): StoredRun | undefined {
  try {
    const stored = readRunDocument(fromYaml(readFileSync(path, "utf8")), runId);
    if (typeof stored !== "string") return stored;
    issues.push({ runId, what: "run", message: `${path}: ${stored}; left out` });
  } catch (error) {
    if (isMissing(error)) return undefined; // deleted meanwhile
    const why = (error as Error).message.split("\n")[0];
    issues.push({ runId, what: "run", message: `${path} is not valid YAML (${why}); left out` });
  }
  return undefined;
}

/** A run as a bundle knows it. */
interface RunRef {
  runId: string;
  experimentId: string;
}

/**
 * The runs the selection names. Without a filter, straight from the experiment folders: a search
 * would read every metric file to know the latest values, which an export never needs.
 */
async function chosenRuns(options: ExportOptions, experiments: Experiment[]): Promise<RunRef[]> {
  const { source } = options;
  if (options.filter !== undefined) {
    const levels = await selectRuns({ ...options, source }, experiments);
    return levels.flat().map((r) => ({ runId: r.info.runId, experimentId: r.info.experimentId }));
  }
  const runs: RunRef[] = [];
  for (const { experimentId } of experiments) {
    for (const runId of experimentRuns(join(source.root, experimentId)).keys()) {
      runs.push({ runId, experimentId });
    }
  }
  if (options.runIds === undefined) return runs;
  const wanted = new Set(options.runIds);
  const missing = [...wanted].filter((id) => !runs.some((r) => r.runId === id));
  if (missing.length > 0) {
    throw notFound(`No run ${missing.join(", ")} in the chosen experiments`);
  }
  return runs.filter((r) => wanted.has(r.runId));
}

export async function exportBundle(options: ExportOptions): Promise<ExportReport> {
  const { source } = options;
  const tree = await sourceId(source);
  const { base, sinceMs, state: baseState } = await baseOf(options.since);
  const experiments = await chooseExperiments({ ...options, source });
  const runs = await chosenRuns(options, experiments);
  const issues: ExportIssue[] = [];
  const entries: Entry[] = [];
  const dirs = new Set<string>([TREE, TRASH_DIR]);
  const state: Record<string, [number, string]> = {};
  const bundleRuns: BundleRun[] = [];
  const usedExperiments = new Set<string>();
  let unchangedRuns = 0;
  let mtime = 0;

  for (const run of runs) {
    const plan = await planRun(source, run, tree, baseState, sinceMs, issues);
    if (plan === undefined) continue;
    if (plan.files.length === 0) {
      unchangedRuns++;
      Object.assign(state, plan.state);
      continue;
    }
    const folder = `${TREE}/${run.experimentId}/${run.runId}`;
    usedExperiments.add(run.experimentId);
    dirs.add(`${TREE}/${run.experimentId}`).add(folder);
    for (const dir of plan.dirs) dirs.add(`${folder}/${dir}`);
    for (const entry of plan.files)
      entries.push({ ...entry, file: { ...entry.file, path: `${folder}/${entry.file.path}` } });
    Object.assign(state, plan.state);
    bundleRuns.push(plan.run);
    mtime = Math.max(mtime, plan.mtime);
  }

  const bundleExperiments = experiments.filter((e) => usedExperiments.has(e.experimentId));
  for (const experiment of bundleExperiments) {
    const folder = `${TREE}/${experiment.experimentId}`;
    const { dir, files } = await experimentFiles(source, experiment.experimentId);
    for (const d of dir) dirs.add(`${folder}/${d}`);
    entries.push(
      ...files.map((e) => ({ ...e, file: { ...e.file, path: `${folder}/${e.file.path}` } })),
    );
  }
  entries.sort((a, b) => entryOrder(a.file.path, b.file.path));

  const manifest: Manifest = {
    format: "mlruns-bundle",
    version: 1,
    tree,
    base,
    since: sinceMs,
    experiments: bundleExperiments.map((e) => ({ id: e.experimentId, name: e.name })),
    runs: bundleRuns,
    dirs: [...dirs].sort(entryOrder),
    files: entries.map((e) => e.file),
    state: Object.fromEntries(Object.entries(state).sort(([a], [b]) => entryOrder(a, b))),
  };
  const manifestBytes = Buffer.from(`${JSON.stringify(manifest)}\n`);
  const manifestSha256 = sha256(manifestBytes);
  const signature =
    options.signingKey === undefined
      ? undefined
      : await signManifest(manifestBytes, options.signingKey);
  const head: [string, Buffer][] = [
    [MANIFEST, manifestBytes],
    ...(signature === undefined ? [] : ([[SIGNATURE, signature]] as [string, Buffer][])),
    [SUMS, Buffer.from(sumsText(manifestSha256, manifest))],
  ];
  const totalBytes = entries.reduce((sum, e) => sum + e.file.size, 0);
  let done = 0;
  const archive = writeArchive(head, manifest.dirs, entries, mtime, (bytes) => {
    done += bytes;
    options.onProgress?.({ bytes: done, totalBytes });
  });
  const size = await writeOutput(archive, options.output, options.gzip);
  return {
    output: typeof options.output === "string" ? options.output : "-",
    tree,
    manifestSha256,
    base,
    since: sinceMs,
    experiments: bundleExperiments.length,
    runs: bundleRuns.length,
    partialRuns: bundleRuns.filter((r) => r.partial).length,
    unchangedRuns,
    files: entries.length,
    bytes: totalBytes,
    size,
    signed: signature !== undefined,
    issues,
  };
}

interface RunPlan {
  run: BundleRun;
  /** The archive's timestamp as far as this run goes: its end (or start), in seconds. */
  mtime: number;
  dirs: string[];
  /** Paths relative to the run folder. */
  files: Entry[];
  state: Record<string, [number, string]>;
}

/**
 * One run's part of the bundle: every file that changed since the base (of a metric file that
 * only grew, its new lines), with meta.yaml and the origin tag always. Nothing at all when the
 * run is unchanged; what does not travel is recorded in `state`.
 */
async function planRun(
  source: FileStore,
  { runId, experimentId }: RunRef,
  tree: string,
  baseState: Map<string, [number, string]>,
  sinceMs: number | null,
  issues: ExportIssue[],
): Promise<RunPlan | undefined> {
  const runDir = join(source.root, experimentId, runId);
  const metaPath = join(runDir, "meta.yaml");
  const stored = readMeta(metaPath, runId, issues);
  if (stored === undefined) return undefined;
  const { info } = stored;
  const own = walk(runDir, (rel) => isTemp(rel) || rel === "artifacts" || rel === "meta.yaml");
  const artifactDir = await artifactFolder(source.root, runDir, info);
  const artifacts = artifactDir === null ? undefined : walkIfThere(artifactDir);
  if (artifacts === undefined) {
    issues.push({
      runId,
      what: "artifacts",
      message: `they live at ${info.artifactUri}, outside any tree: not in the bundle`,
    });
  } else info.artifactUri = `${TREE}/${experimentId}/${runId}/artifacts`;
  const found = new Map(own.files);
  for (const [rel, abs] of artifacts?.files ?? []) found.set(`artifacts/${rel}`, abs);
  for (const rel of [...own.skipped, ...(artifacts?.skipped ?? []).map((r) => `artifacts/${r}`)]) {
    issues.push({ runId, what: rel, message: "not a regular file or folder (a link?): left out" });
  }
  const originFile = found.get(ORIGIN_FILE);
  const origin = originFile === undefined ? tree : readFileSync(originFile, "utf8");
  const meta = Buffer.from(toYaml(runDocument(stored)));
  const snapshots = new Map([["meta.yaml", snapshotOf(meta, statSync(metaPath).mtimeMs)]]);
  if (originFile === undefined) snapshots.set(ORIGIN_FILE, snapshotOf(Buffer.from(origin)));
  for (const [rel, abs] of found) {
    const base = baseState.get(`${runId}/${rel}`);
    snapshots.set(rel, await snapshotFile(abs, { lines: rel.startsWith("metrics/"), base }));
  }
  const plan: RunPlan = {
    run: {
      id: runId,
      experiment: experimentId,
      name: info.runName,
      status: info.status,
      origin,
      partial: false,
    },
    mtime: Math.floor((info.endTime ?? info.startTime) / 1000),
    dirs: [],
    files: [],
    state: {},
  };
  const isFresh = (rel: string, snapshot: FileSnapshot) => {
    if (sinceMs !== null) return snapshot.mtimeMs >= sinceMs;
    const before = baseState.get(`${runId}/${rel}`);
    return before?.[0] !== snapshot.size || before[1] !== snapshot.sha256;
  };
  if (![...snapshots].some(([rel, snapshot]) => isFresh(rel, snapshot))) {
    for (const [rel, { size, sha256 }] of snapshots) plan.state[`${runId}/${rel}`] = [size, sha256];
    return plan;
  }
  plan.dirs = ["artifacts", ...own.dirs, ...(artifacts?.dirs ?? []).map((d) => `artifacts/${d}`)];
  for (const [rel, snapshot] of snapshots) {
    const whole = { file: { path: rel, size: snapshot.size, sha256: snapshot.sha256 }, snapshot };
    if (rel === "meta.yaml" || rel === ORIGIN_FILE) {
      plan.files.push(whole);
      continue;
    }
    const fresh = isFresh(rel, snapshot);
    if (!fresh || (snapshot.tail && sinceMs === null)) {
      plan.state[`${runId}/${rel}`] = [snapshot.size, snapshot.sha256];
      plan.run.partial = true;
    }
    if (!fresh) continue;
    const { tail } = snapshot;
    if (tail === undefined || sinceMs !== null) plan.files.push(whole);
    else {
      const file = {
        path: rel,
        size: snapshot.size - tail.from,
        sha256: tail.sha256,
        from: tail.from,
        base: tail.base,
      };
      plan.files.push({ file, snapshot });
    }
  }
  return plan;
}

/** A folder's contents, or an empty folder when it does not exist (yet). */
function walkIfThere(dir: string) {
  try {
    return walk(dir);
  } catch (error) {
    if (isMissing(error)) return { dirs: [], files: new Map<string, string>(), skipped: [] };
    throw error;
  }
}

/** An experiment's meta.yaml (artifacts found in the bundle), tags and dataset records. */
async function experimentFiles(
  source: FileStore,
  experimentId: string,
): Promise<{ dir: string[]; files: Entry[] }> {
  const folder = join(source.root, experimentId);
  const parts = walk(folder, (rel) => {
    const top = rel.split("/")[0] as string;
    return top !== "tags" && top !== "datasets" && top !== "meta.yaml";
  });
  const files: Entry[] = [];
  for (const [rel, abs] of parts.files) {
    let snapshot: FileSnapshot;
    if (rel === "meta.yaml") {
      const experiment = readExperimentDocument(fromYaml(readFileSync(abs, "utf8")), experimentId);
      if (typeof experiment === "string")
        throw new MlflowError("INTERNAL_ERROR", `Experiment ${experimentId}: ${experiment}`);
      experiment.artifactLocation = `${TREE}/${experimentId}`;
      snapshot = snapshotOf(Buffer.from(toYaml(experimentDocument(experiment))));
    } else snapshot = await snapshotFile(abs);
    files.push({ file: { path: rel, size: snapshot.size, sha256: snapshot.sha256 }, snapshot });
  }
  return { dir: parts.dirs, files };
}
