/** What a sync is told: its two ends, which runs, and how. */
import type { TrackingStore } from "../store/store.ts";

export interface SyncOptions {
  source: TrackingStore;
  target: TrackingStore;
  /** Experiments to copy, by name or id; every active experiment when absent. */
  experiments?: string[];
  /** Only runs matching this MLflow filter string. */
  filter?: string;
  /** Only these runs. */
  runIds?: string[];
  /** Prepended to experiment names on the target, e.g. `laptop/`. */
  experimentPrefix?: string;
  /** Plan only: read both ends, write nothing. */
  dryRun?: boolean;
  /**
   * Copy the model registry too (models, versions with sources pointing at the copied runs,
   * aliases, stages). Default: when the whole tree is synced (no experiment, filter or run).
   */
  registry?: boolean;
  /** Runs copied at once (default 4). */
  concurrency?: number;
  /** The ledger file; default `.mlruns-sync.json` at the root of a file source; `null`: none. */
  ledgerPath?: string | null;
  /**
   * A background push (local-first mode): it gives way to other syncs of the tree, and other
   * syncs wait for its pass to end instead of being refused.
   */
  background?: boolean;
  /** Told when this sync waits for a background push of the same tree to finish its pass. */
  onLockWait?: (holder: { pid: string }) => void;
  onProgress?: (progress: SyncProgress) => void;
}

export interface SyncProgress {
  runsDone: number;
  runsTotal: number;
  points: number;
  bytes: number;
}
