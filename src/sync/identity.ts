/**
 * How a copied run is recognised again: tags on the remote run naming the local run and the tree
 * it came from, and the tree's own id, kept in a plain file at the tree's root (copied along
 * with the tree, so a tree rsync'ed to another machine is still the same source). A run imported
 * from a bundle keeps its id and names the tree it was first written in (ORIGIN_TAG), so each
 * run has one identity however many trees it passes through.
 */
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { createFile, readTextIfExists } from "../atomic.ts";
import type { Run } from "../entities.ts";
import { redactUrl } from "../redact.ts";
import { TREE_ID_FILE } from "../tree-files.ts";

export const SOURCE_TAGS = {
  runId: "mlruns.source.run_id",
  tree: "mlruns.source.tree",
  /** The local parent, kept when the parent itself was not copied. */
  parentRunId: "mlruns.source.parent_run_id",
} as const;

/**
 * On a run in a tree: the id of the tree it was first written in, when that is another tree (it
 * came in a bundle). Never copied to a target: there it is `mlruns.source.tree`.
 */
export const ORIGIN_TAG = "mlruns.origin.tree";

/** The tree a source run belongs to: its origin when imported, else the source's own id. */
export function originOf(run: Run, sourceTree: string): string {
  return run.data.tags[ORIGIN_TAG] ?? sourceTree;
}

/**
 * The id of the store's local tree, created on first use; for a store without one, its URI.
 * With `create: false` (a dry run writes nothing) a tree without an id gets a fresh one that no
 * copy carries: a tree never synced has no copies to find.
 */
export async function sourceId(
  store: { uri: string; root?: string },
  { create = true } = {},
): Promise<string> {
  if (store.root === undefined) return publicUri(store.uri);
  const path = join(store.root, TREE_ID_FILE);
  if (create) await createFile(path, randomUUID());
  return ((await readTextIfExists(path)) ?? randomUUID()).trim();
}

/** A store URI without credentials, safe to print and to keep in a ledger. */
export function publicUri(uri: string): string {
  try {
    const url = new URL(uri);
    url.username = "";
    url.password = "";
    return url.href.replace(/\/$/, "");
  } catch {
    return redactUrl(uri);
  }
}

/** The filter that finds the copy of `runId` from `tree` among the target's runs. */
export function identityFilter(runId: string, tree: string): string {
  // Run ids and tree ids are hex, UUIDs or URLs: never a quote to escape.
  return `tags.\`${SOURCE_TAGS.runId}\` = '${runId}' and tags.\`${SOURCE_TAGS.tree}\` = '${tree}'`;
}
