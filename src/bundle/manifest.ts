/**
 * A bundle's manifest: what the bundle holds (every folder and file, with sizes and SHA-256), the
 * tree it came from, the runs with the tree each was first written in, and, for the next
 * `--since`, the state of every file of the exported runs. Read from an untrusted archive, so
 * every field is checked before anything else is believed; the order of the archive's entries
 * is the manifest's.
 */
import { createHash } from "node:crypto";
import { RUN_STATUSES, type RunStatus } from "../entities.ts";
import { invalid } from "../errors.ts";
import { ORIGIN_TAG } from "../sync/identity.ts";
import { isSafePath } from "./untar.ts";

export const MANIFEST = "manifest.json";
export const SIGNATURE = "manifest.sig";
export const SUMS = "SHA256SUMS";
/** The folder in a bundle that holds the runs as an mlruns tree. */
export const TREE = "mlruns";
export const TRASH_DIR = `${TREE}/.trash`;
/** Every run in a bundle carries the tree it was first written in as a tag. */
export const ORIGIN_FILE = `tags/${ORIGIN_TAG}`;

export const sha256 = (data: string | Uint8Array) =>
  createHash("sha256").update(data).digest("hex");

export interface BundleExperiment {
  id: string;
  name: string;
}

export interface BundleRun {
  id: string;
  experiment: string;
  name: string;
  status: RunStatus;
  /** The id of the tree the run was first written in (its identity, with its id). */
  origin: string;
  /** Only what changed since the base bundle travels: import the base too for the rest. */
  partial: boolean;
}

export interface BundleFile {
  path: string;
  size: number;
  sha256: string;
  /** The entry holds the source file from this byte on (points appended since the base)... */
  from?: number;
  /** ...and the SHA-256 of the bytes before (the file as the base bundle had it). */
  base?: string;
}

export interface Manifest {
  format: "mlruns-bundle";
  version: 1;
  /** The exporting tree's id. */
  tree: string;
  /** SHA-256 of the base bundle's manifest (`--since <bundle>`), else null. */
  base: string | null;
  /** `--since <date>`, in ms, else null. */
  since: number | null;
  experiments: BundleExperiment[];
  runs: BundleRun[];
  dirs: string[];
  files: BundleFile[];
  /**
   * Size and SHA-256 of each file of each exported run (`<run id>/<path in the run>`) that is
   * not in `files` whole: what the next `--since` compares against.
   */
  state: Record<string, [number, string]>;
}

/** Tree ids and origins go into filter strings and tags: no quotes, spaces or controls. */
const TREE_ID = /^[^\s'"\\`\p{Cc}]{1,256}$/u;
const EXPERIMENT_ID = /^[a-zA-Z0-9][\p{L}\p{N}_-]{0,63}$/u;
const RUN_ID = /^[a-zA-Z0-9][\p{L}\p{N}_-]{0,255}$/u;
const SHA256 = /^[0-9a-f]{64}$/;
/** Folders of an experiment that are not runs (as MLflow's file store reserves them). */
const EXPERIMENT_PARTS = new Set(["meta.yaml", "tags", "datasets"]);

/** The order of entries in a bundle: by path, a folder (as `path/`) before what it holds. */
export function entryOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Every folder and file in archive order, folders as `path/`. */
export function entries(manifest: Manifest): string[] {
  return [...manifest.dirs.map((d) => `${d}/`), ...manifest.files.map((f) => f.path)].sort(
    entryOrder,
  );
}

/** A line of `sha256sum` output; names with `\` or line breaks are escaped as coreutils does. */
function sumLine(sha256: string, path: string): string {
  if (!/[\\\n\r]/.test(path)) return `${sha256}  ${path}\n`;
  const escaped = path.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll("\r", "\\r");
  return `\\${sha256}  ${escaped}\n`;
}

/** SHA256SUMS: the manifest, then every file, so `sha256sum -c SHA256SUMS` checks an unpacking. */
export function sumsText(manifestSha256: string, manifest: Manifest): string {
  return [
    sumLine(manifestSha256, MANIFEST),
    ...manifest.files.map((f) => sumLine(f.sha256, f.path)),
  ].join("");
}

/** The state of every file of the exported runs, `<run id>/<path>` → [size, SHA-256]. */
export function fullState(manifest: Manifest): Map<string, [number, string]> {
  const state = new Map(Object.entries(manifest.state));
  for (const file of manifest.files) {
    const place = runFile(file.path);
    if (place && file.from === undefined)
      state.set(`${place.run}/${place.rest}`, [file.size, file.sha256]);
  }
  return state;
}

/** For `mlruns/<experiment>/<run>/<rest>`: the run and the path inside it. */
export function runFile(
  path: string,
): { experiment: string; run: string; rest: string } | undefined {
  const [root, experiment, run, ...rest] = path.split("/");
  if (root !== TREE || experiment === undefined || run === undefined || rest.length === 0)
    return undefined;
  if (EXPERIMENT_PARTS.has(run)) return undefined;
  return { experiment, run, rest: rest.join("/") };
}

const damaged = (message: string) =>
  invalid(
    `The bundle's manifest is invalid: ${message}`,
    "The bundle is damaged or was not written by `mlruns export`",
  );

function check(ok: boolean, message: string): asserts ok {
  if (!ok) throw damaged(message);
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const isSize = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isString = (v: unknown): v is string => typeof v === "string";

/** Checks a parsed manifest field by field; returns it typed, or throws naming what is wrong. */
export function checkManifest(value: unknown): Manifest {
  check(isObject(value), "not a JSON object");
  const m = value;
  check(m.format === "mlruns-bundle", "'format' is not 'mlruns-bundle'");
  check(m.version === 1, `version ${String(m.version)} is not supported (this mlruns reads 1)`);
  check(isString(m.tree) && TREE_ID.test(m.tree), "'tree' is not a tree id");
  check(m.base === null || (isString(m.base) && SHA256.test(m.base)), "'base' is not a SHA-256");
  check(m.since === null || isSize(m.since), "'since' is not a time");
  check(Array.isArray(m.experiments) && Array.isArray(m.runs), "'experiments' or 'runs' missing");
  check(
    Array.isArray(m.dirs) && Array.isArray(m.files) && isObject(m.state),
    "'dirs', 'files' or 'state' missing",
  );

  const experiments = new Map<string, BundleExperiment>();
  for (const e of m.experiments as unknown[]) {
    check(isObject(e) && isString(e.id) && EXPERIMENT_ID.test(e.id), "an experiment id is invalid");
    check(isString(e.name) && e.name.trim() !== "", `experiment ${e.id} has no name`);
    check(!experiments.has(e.id), `experiment ${e.id} is listed twice`);
    experiments.set(e.id, { id: e.id, name: e.name });
  }
  const runs = new Map<string, BundleRun>();
  for (const r of m.runs as unknown[]) {
    check(isObject(r) && isString(r.id) && RUN_ID.test(r.id), "a run id is invalid");
    check(
      isString(r.experiment) && experiments.has(r.experiment),
      `run ${r.id} names no listed experiment`,
    );
    check(
      isString(r.name) && (RUN_STATUSES as readonly unknown[]).includes(r.status),
      `run ${r.id} has no name or status`,
    );
    check(isString(r.origin) && TREE_ID.test(r.origin), `run ${r.id} has no origin tree id`);
    check(typeof r.partial === "boolean", `run ${r.id}: 'partial' is not true or false`);
    check(!runs.has(r.id), `run ${r.id} is listed twice`);
    runs.set(r.id, {
      id: r.id,
      experiment: r.experiment,
      name: r.name,
      status: r.status as RunStatus,
      origin: r.origin,
      partial: r.partial,
    });
  }

  const dirs = new Set<string>();
  const placed = (path: string) => {
    check(
      isSafePath(path) && (path === TREE || path.startsWith(`${TREE}/`)),
      `'${path}' is not a path inside '${TREE}/'`,
    );
    const parent = path.slice(0, path.lastIndexOf("/"));
    check(path === TREE || dirs.has(parent), `the folder of '${path}' is not listed before it`);
    const [, experiment, run] = path.split("/");
    if (experiment === undefined || path === TRASH_DIR) return;
    check(experiments.has(experiment), `'${path}' is in an experiment the manifest does not list`);
    if (run === undefined || EXPERIMENT_PARTS.has(run)) return;
    const owner = runs.get(run);
    check(owner?.experiment === experiment, `'${path}' is in a run the manifest does not list`);
  };
  for (const d of m.dirs as unknown[]) {
    check(isString(d) && !dirs.has(d), "a folder is invalid or listed twice");
    placed(d);
    dirs.add(d);
  }
  const files: BundleFile[] = [];
  const paths = new Map<string, BundleFile>();
  for (const f of m.files as unknown[]) {
    check(isObject(f) && isString(f.path), "a file has no path");
    check(!paths.has(f.path) && !dirs.has(f.path), `'${f.path}' is listed twice`);
    placed(f.path);
    check(
      isSize(f.size) && isString(f.sha256) && SHA256.test(f.sha256),
      `'${f.path}' has no size or SHA-256`,
    );
    const tail = f.from !== undefined || f.base !== undefined;
    check(
      !tail || (isSize(f.from) && isString(f.base) && SHA256.test(f.base)),
      `'${f.path}' has an invalid 'from' or 'base'`,
    );
    const file = {
      path: f.path,
      size: f.size,
      sha256: f.sha256,
      ...(tail ? { from: f.from as number, base: f.base as string } : {}),
    };
    paths.set(f.path, file);
    files.push(file);
  }
  for (const run of runs.values()) {
    const folder = `${TREE}/${run.experiment}/${run.id}`;
    const origin = paths.get(`${folder}/${ORIGIN_FILE}`);
    check(paths.has(`${folder}/meta.yaml`), `run ${run.id} has no meta.yaml`);
    check(origin?.sha256 === sha256(run.origin), `run ${run.id} does not carry its origin tag`);
  }
  for (const [key, value] of Object.entries(m.state)) {
    check(
      Array.isArray(value) &&
        value.length === 2 &&
        isSize(value[0]) &&
        isString(value[1]) &&
        SHA256.test(value[1]),
      `state of '${key}' is invalid`,
    );
  }
  return {
    format: "mlruns-bundle",
    version: 1,
    tree: m.tree,
    base: m.base as string | null,
    since: m.since as number | null,
    experiments: [...experiments.values()],
    runs: [...runs.values()],
    dirs: [...dirs],
    files,
    state: m.state as Record<string, [number, string]>,
  };
}
