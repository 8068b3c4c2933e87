/**
 * What every command needs: the global options, the store behind `--tracking-uri` (or
 * MLFLOW_TRACKING_URI, else ./mlruns), experiments named by name or id, and a confirmation.
 */
import { resolve } from "node:path";
import { createInterface } from "node:readline/promises";
import {
  type Config,
  type Experiment,
  findServer,
  isMlflowError,
  localTreePath,
  MlflowError,
  openStore,
  resolveConfig,
  Tracker,
  type TrackingStore,
  type ViewType,
} from "mlruns";
import type { GlobalArgs } from "./command.ts";
import { UsageError } from "./errors.ts";
import { e, note } from "./output.ts";

export { defineCommand, type GlobalArgs } from "./command.ts";

export interface Context {
  config: Config;
  store: TrackingStore;
  tracker: Tracker;
  /** The tree's folder when the store is a file store. */
  root: string | undefined;
}

/** The tracking URI after the flag and the environment: `./mlruns` by default. */
export function trackingUri(args: GlobalArgs): string {
  return resolveConfig(args.trackingUri ? { trackingUri: args.trackingUri } : {}).trackingUri;
}

const opened: TrackingStore[] = [];

/** Flushes every store a command opened (a tree's search index is saved for the next command). */
export async function flushStores(): Promise<void> {
  await Promise.allSettled(opened.splice(0).map((store) => store.flush()));
}

/**
 * Opens the store. A file tree must already exist unless `create` is set (so that a typo in a
 * path does not silently create an empty tree). With `read`, a tree that a running `mlruns
 * server` serves is read through that server (the discovery file at its root says where).
 */
export async function openContext(
  args: GlobalArgs,
  options: { create?: boolean; read?: boolean } = {},
): Promise<Context> {
  const config = resolveConfig(args.trackingUri ? { trackingUri: args.trackingUri } : {});
  const uri = config.mockMode ? "memory:" : config.trackingUri;
  // A read on a tree that `mlruns server` serves goes through it: its search index is warm.
  const tree = localTreePath(uri);
  const served = options.read && tree !== undefined ? await findServer(tree) : undefined;
  const credentials = config.http.username !== undefined || config.http.token !== undefined;
  const through = served !== undefined && (!served.auth || credentials);
  const store = await openStore(through ? served.url : uri, {
    http: config.http,
    mustExist: !options.create,
    file: {
      onProblem: (p) =>
        note(
          e.yellow(
            `warning: ${p.path}${p.line === undefined ? "" : `:${p.line}`}: ${p.message} (run \`mlruns verify\`)`,
          ),
        ),
    },
  });
  opened.push(store);
  return { config, store, tracker: new Tracker(store, "0", config), root: tree };
}

/**
 * The folder of an existing tree: `dir` if given, else the tracking URI's. Nothing there, or a
 * folder holding something else, is refused: commands that read a tree never create one.
 */
export async function existingTreeDir(dir: string | undefined, args: GlobalArgs): Promise<string> {
  const root = treeDir(dir, args);
  await openStore(root, { mustExist: true });
  return root;
}

/** The folder of a tree: `dir` if given, else the tracking URI's folder. */
export function treeDir(dir: string | undefined, args: GlobalArgs): string {
  if (dir !== undefined) return resolve(dir);
  const uri = trackingUri(args);
  const path = localTreePath(uri);
  if (path === undefined) {
    throw new UsageError(
      `This command works on a local tree, and the tracking URI is ${uri}`,
      "Pass the tree's folder, e.g. `mlruns verify ./mlruns`",
    );
  }
  return path;
}

/** An experiment by id or, failing that, by name (active or deleted). */
export async function findExperiment(store: TrackingStore, ref: string): Promise<Experiment> {
  if (/^\d+$/.test(ref)) {
    try {
      return await store.getExperiment(ref);
    } catch (error) {
      if (!isMlflowError(error, "RESOURCE_DOES_NOT_EXIST")) throw error;
    }
  }
  const byName = await store.getExperimentByName(ref);
  if (byName) return byName;
  throw new MlflowError("RESOURCE_DOES_NOT_EXIST", `No experiment with id or name '${ref}'`, {
    hint: "List them with `mlruns experiments list --view all`",
  });
}

export const VIEWS: Record<string, ViewType> = {
  active: "ACTIVE_ONLY",
  deleted: "DELETED_ONLY",
  all: "ALL",
};

/** `key=value` options (repeatable) as a record. */
export function keyValues(
  items: readonly string[] | undefined,
  what: string,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items ?? []) {
    const at = item.indexOf("=");
    if (at <= 0) throw new UsageError(`${what} '${item}' is not key=value`);
    out[item.slice(0, at)] = item.slice(at + 1);
  }
  return out;
}

/** Asks on the terminal; false without a terminal (the caller then only shows its plan). */
export async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/** A list option that yargs may give as one value or several. */
export function list(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

/** For `tag` commands: a value to set, or `--delete` and no value. */
export function valueOrDelete(args: { delete?: boolean; value?: string }): true {
  if (args.delete === true ? args.value !== undefined : args.value === undefined) {
    throw new UsageError("Give a value, or --delete without a value");
  }
  return true;
}
