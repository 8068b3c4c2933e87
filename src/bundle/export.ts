/**
 * `exportBundle`: the selected runs of a tree as one deterministic tar (gzip optional). The tree
 * is read twice: once to hash every file and build the manifest (which must come first), once to
 * write, re-hashing each file as it goes; a file that changed in between stops the export. With
 * a base bundle only what changed since it travels: new files whole, and of a metric file that
 * grew by appending only the appended lines.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, promises as fs } from "node:fs";
import { basename, dirname, join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import type { Run } from "../entities.ts";
import { MlflowError } from "../errors.ts";
import { isMissing } from "../store/file/atomic.ts";
import type { FileStore } from "../store/file/index.ts";
import {
  experimentDocument,
  readExperimentDocument,
  readRunDocument,
  runDocument,
} from "../store/file/meta.ts";
import { fromYaml, toYaml } from "../store/file/yaml.ts";
import { originOf, sourceId } from "../sync/identity.ts";
import { chooseExperiments, type Selection, selectRuns } from "../sync/select.ts";
import {
  type BundleFile,
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
import { archiveEnd, entryHeader, padding } from "./tar.ts";

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

/** A file of the bundle and where its bytes come from. */
interface Entry {
  file: BundleFile;
  snapshot: FileSnapshot;
}

const GZIP_LEVEL = 6;
const isTemp = (rel: string) => !rel.includes("/") && rel.startsWith(".tmp-");

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

/** A run's meta.yaml as the bundle holds it: artifacts found in the bundle, when they travel. */
function runMeta(
  text: string,
  runId: string,
  artifactsTravel: boolean,
  experimentId: string,
): Buffer {
  const stored = readRunDocument(fromYaml(text), runId);
  if (typeof stored === "string")
    throw new MlflowError("INTERNAL_ERROR", `Run ${runId}: ${stored}`);
  if (artifactsTravel) stored.info.artifactUri = `${TREE}/${experimentId}/${runId}/artifacts`;
  return Buffer.from(toYaml(runDocument(stored)));
}

export async function exportBundle(options: ExportOptions): Promise<ExportReport> {
  const { source } = options;
  const tree = await sourceId(source.uri);
  const { base, sinceMs, state: baseState } = await baseOf(options.since);
  const experiments = await chooseExperiments({ ...options, source });
  const runs = (await selectRuns({ ...options, source }, experiments)).flat();
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
    if (plan.files.length === 0) {
      unchangedRuns++;
      Object.assign(state, plan.state);
      continue;
    }
    const folder = `${TREE}/${run.info.experimentId}/${run.info.runId}`;
    usedExperiments.add(run.info.experimentId);
    dirs.add(`${TREE}/${run.info.experimentId}`).add(folder);
    for (const dir of plan.dirs) dirs.add(`${folder}/${dir}`);
    for (const entry of plan.files)
      entries.push({ ...entry, file: { ...entry.file, path: `${folder}/${entry.file.path}` } });
    Object.assign(state, plan.state);
    bundleRuns.push({
      id: run.info.runId,
      experiment: run.info.experimentId,
      name: run.info.runName,
      status: run.info.status,
      origin: originOf(run, tree),
      partial: plan.partial,
    });
    mtime = Math.max(mtime, Math.floor((run.info.endTime ?? run.info.startTime) / 1000));
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
  const size = await writeOutput(archive, options);
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
  dirs: string[];
  /** Paths relative to the run folder. */
  files: Entry[];
  state: Record<string, [number, string]>;
  partial: boolean;
}

/**
 * One run's part of the bundle: every file that changed since the base (of a metric file that
 * only grew, its new lines), with meta.yaml and the origin tag always. Nothing at all when the
 * run is unchanged; what does not travel is recorded in `state`.
 */
async function planRun(
  source: FileStore,
  run: Run,
  tree: string,
  baseState: Map<string, [number, string]>,
  sinceMs: number | null,
  issues: ExportIssue[],
): Promise<RunPlan> {
  const { runId, experimentId } = run.info;
  const folders = await source.runFolders(runId);
  const own = await walk(
    folders.run,
    (rel) => isTemp(rel) || rel === "artifacts" || rel === "meta.yaml",
  );
  const artifacts = folders.artifacts === null ? undefined : await walkIfThere(folders.artifacts);
  if (artifacts === undefined) {
    issues.push({
      runId,
      what: "artifacts",
      message: `they live at ${run.info.artifactUri}, outside any tree: not in the bundle`,
    });
  }
  const found = new Map(own.files);
  for (const [rel, abs] of artifacts?.files ?? []) found.set(`artifacts/${rel}`, abs);
  for (const rel of [...own.skipped, ...(artifacts?.skipped ?? []).map((r) => `artifacts/${r}`)]) {
    issues.push({ runId, what: rel, message: "not a regular file or folder (a link?): left out" });
  }
  const metaPath = join(folders.run, "meta.yaml");
  const [metaText, metaStat] = await Promise.all([
    fs.readFile(metaPath, "utf8"),
    fs.stat(metaPath),
  ]);
  const snapshots = new Map<string, FileSnapshot>([
    [
      "meta.yaml",
      snapshotOf(runMeta(metaText, runId, artifacts !== undefined, experimentId), metaStat.mtimeMs),
    ],
  ]);
  if (!found.has(ORIGIN_FILE))
    snapshots.set(ORIGIN_FILE, snapshotOf(Buffer.from(originOf(run, tree))));
  for (const [rel, abs] of found) {
    const base = baseState.get(`${runId}/${rel}`);
    snapshots.set(rel, await snapshotFile(abs, { lines: rel.startsWith("metrics/"), base }));
  }
  const isFresh = (rel: string, snapshot: FileSnapshot) => {
    if (sinceMs !== null) return snapshot.mtimeMs >= sinceMs;
    const before = baseState.get(`${runId}/${rel}`);
    return before?.[0] !== snapshot.size || before[1] !== snapshot.sha256;
  };
  const plan: RunPlan = { dirs: [], files: [], state: {}, partial: false };
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
      plan.partial = true;
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
      };
      plan.files.push({ file, snapshot });
    }
  }
  return plan;
}

/** A folder's contents, or an empty folder when it does not exist (yet). */
async function walkIfThere(dir: string) {
  try {
    return await walk(dir);
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
  const parts = await walk(folder, (rel) => {
    const top = rel.split("/")[0] as string;
    return top !== "tags" && top !== "datasets" && top !== "meta.yaml";
  });
  const files: Entry[] = [];
  for (const [rel, abs] of parts.files) {
    let snapshot: FileSnapshot;
    if (rel === "meta.yaml") {
      const experiment = readExperimentDocument(
        fromYaml(await fs.readFile(abs, "utf8")),
        experimentId,
      );
      if (typeof experiment === "string")
        throw new MlflowError("INTERNAL_ERROR", `Experiment ${experimentId}: ${experiment}`);
      experiment.artifactLocation = `${TREE}/${experimentId}`;
      snapshot = snapshotOf(Buffer.from(toYaml(experimentDocument(experiment))));
    } else snapshot = await snapshotFile(abs);
    files.push({ file: { path: rel, size: snapshot.size, sha256: snapshot.sha256 }, snapshot });
  }
  return { dir: parts.dirs, files };
}

/** The archive, block by block: the head, then every folder and file in manifest order. */
async function* writeArchive(
  head: [string, Buffer][],
  dirs: string[],
  entries: Entry[],
  mtime: number,
  onBytes: (bytes: number) => void,
): AsyncGenerator<Buffer> {
  let written = 0;
  const out = (block: Buffer) => {
    written += block.length;
    return block;
  };
  for (const [path, data] of head) {
    yield out(entryHeader(path, "file", data.length, mtime));
    yield out(data);
    yield out(padding(data.length));
  }
  const files = new Map(entries.map((e) => [e.file.path, e]));
  const order = [...dirs.map((d) => `${d}/`), ...files.keys()].sort(entryOrder);
  for (const path of order) {
    const entry = files.get(path);
    if (entry === undefined) {
      yield out(entryHeader(path.slice(0, -1), "dir", 0, mtime));
      continue;
    }
    const { file, snapshot } = entry;
    yield out(entryHeader(path, "file", file.size, mtime));
    const hash = createHash("sha256");
    let sent = 0;
    for await (const chunk of contentOf(snapshot, file)) {
      hash.update(chunk);
      sent += chunk.length;
      onBytes(chunk.length);
      yield out(chunk);
    }
    if (sent !== file.size || hash.digest("hex") !== file.sha256) {
      throw new MlflowError("INVALID_STATE", `${path} changed while it was being exported`, {
        hint: "Export again (a run still writing is fine: only finished lines are taken)",
      });
    }
    yield out(padding(file.size));
  }
  yield out(archiveEnd(written));
}

async function* contentOf(snapshot: FileSnapshot, file: BundleFile): AsyncGenerator<Buffer> {
  const from = file.from ?? 0;
  if (snapshot.data !== undefined) {
    yield snapshot.data.subarray(from, from + file.size);
    return;
  }
  if (file.size === 0) return;
  yield* createReadStream(snapshot.abs, {
    start: from,
    end: from + file.size - 1,
    highWaterMark: 1 << 20,
  });
}

/** Writes the archive (gzipped if asked) to a stream, or to a file under a temp name first. */
async function writeOutput(
  archive: AsyncGenerator<Buffer>,
  options: ExportOptions,
): Promise<number> {
  const { output } = options;
  const gzip = options.gzip ?? (typeof output === "string" && /\.(t?gz)$/i.test(output));
  let size = 0;
  async function* bytes(): AsyncGenerator<Buffer> {
    const gzipped = createGzip({ level: GZIP_LEVEL });
    // pipeline, not pipe: an error of the archive (a file changed) must reach the reader.
    const feeding = gzip ? pipeline(Readable.from(archive), gzipped) : undefined;
    feeding?.catch(() => {});
    for await (const chunk of (gzip ? gzipped : archive) as AsyncIterable<Buffer>) {
      size += chunk.length;
      yield chunk;
    }
    await feeding;
  }
  const write = (to: NodeJS.WritableStream, end = true) =>
    pipeline(Readable.from(bytes()), to, { end });
  if (typeof output !== "string") {
    await write(output, output !== process.stdout);
    return size;
  }
  const temp = join(dirname(output), `.${basename(output)}.tmp-${randomBytes(6).toString("hex")}`);
  try {
    const handle = await fs.open(temp, "wx");
    try {
      await write(handle.createWriteStream());
      await handle.sync().catch(() => {});
    } finally {
      await handle.close().catch(() => {});
    }
    await fs.rename(temp, output);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
  return size;
}
