/**
 * Our own files at a tree's root, every one of them: plain files (never folders, which MLflow
 * would take for experiments), so that MLflow ignores them. Whatever watches or copies a tree
 * tells them from its runs by `isTreeFile`.
 */
import { basename } from "node:path";
import { TEMP_PREFIX } from "./atomic.ts";
import { isLockFile } from "./lock.ts";

/** FileStore's lock for creating and renaming experiments. */
export const LOCK_FILE = ".mlruns.lock";
/** FileStore's lock for the registry's read-modify-write steps. */
export const REGISTRY_LOCK_FILE = ".mlruns-registry.lock";
/** The search index, derived from the tree and rebuilt when deleted. */
export const INDEX_FILE = ".mlruns-index.json";
/** Held by a sync of a tree, so that a second sync of the same tree is refused. */
export const SYNC_LOCK_FILE = ".mlruns-sync.lock";
/** The sync ledger: what was copied where. */
export const LEDGER_FILE = ".mlruns-sync.json";
/** The tree's own id, which copied runs name as their source. */
export const TREE_ID_FILE = ".mlruns-tree-id";
/** Where a running `mlruns server` over the tree says it listens. */
export const DISCOVERY_FILE = ".mlruns-server.json";

const FILES = [INDEX_FILE, LEDGER_FILE, TREE_ID_FILE, DISCOVERY_FILE];
const LOCKS = [LOCK_FILE, REGISTRY_LOCK_FILE, SYNC_LOCK_FILE];

/**
 * Whether `path` names one of our files at the root, a temp file of one (`<name>.<…>.tmp`,
 * lowdb's `.<name>.tmp`, atomic.ts's `.tmp-…`) or a lock's claim: things that change without a
 * run changing.
 */
export function isTreeFile(path: string): boolean {
  const name = basename(path);
  return (
    name.startsWith(TEMP_PREFIX) ||
    FILES.some(
      (own) =>
        name === own ||
        name === `.${own}.tmp` ||
        (name.startsWith(`${own}.`) && name.endsWith(".tmp")),
    ) ||
    LOCKS.some((lock) => isLockFile(name, lock))
  );
}
