/**
 * The sync ledger: what was copied where, so a re-sync reads only what changed. It is a cache
 * (the identity tags on the target are the truth): a lost or deleted ledger costs time, never
 * data. A plain JSON file (lowdb) at the source tree's root; never holds credentials.
 */
import { join } from "node:path";
import { Low } from "lowdb";
import { JSONFile } from "lowdb/node";
import { LEDGER_FILE } from "../tree-files.ts";

export interface RunEntry {
  /** Empty while the create of the copy is unconfirmed. */
  targetRunId: string;
  targetExperimentId: string;
  /** The source run's stamp when it was last copied completely. */
  stamp: string;
  /**
   * Per metric key, how many points of the source history (in its order) were copied; while
   * `dirty`, how many are on the target for sure.
   */
  metrics: Record<string, number>;
  /**
   * While `dirty`: per metric key, up to which point of the source history the target may hold
   * more than `metrics` says (a copy sends no further before it writes the ledger again). A
   * dirty entry without it bounds nothing: every later point is looked for on the target.
   */
  unsure?: Record<string, number>;
  /** Artifact path → size, as copied. */
  artifacts: Record<string, number>;
  /** Set while a copy of this run is under way: the next sync checks the target's history. */
  dirty?: boolean;
  /** When a create of the copy was sent whose answer may have been lost. */
  creating?: number;
}

export interface TargetEntry {
  runs: Record<string, RunEntry>;
}

interface LedgerData {
  version: 1;
  targets: Record<string, TargetEntry>;
}

/** The ledger file of a sync: `explicit` when given (`null`: none), else the source tree's. */
export function ledgerPath(
  source: { root?: string },
  explicit?: string | null,
): string | undefined {
  if (explicit === null) return undefined;
  if (explicit !== undefined) return explicit;
  return source.root === undefined ? undefined : join(source.root, LEDGER_FILE);
}

/**
 * The ledger's key for a target: its URL, and the experiment prefix when there is one (a
 * prefix names other experiments on the same server, where the runs are copied again).
 */
export function ledgerKey(targetUri: string, experimentPrefix = ""): string {
  return experimentPrefix === "" ? targetUri : `${targetUri} ${JSON.stringify(experimentPrefix)}`;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const isCounts = (value: unknown): boolean =>
  isObject(value) &&
  Object.values(value).every((n) => Number.isSafeInteger(n) && (n as number) >= 0);

function isRunEntry(value: unknown): value is RunEntry {
  return (
    isObject(value) &&
    typeof value.targetRunId === "string" &&
    typeof value.targetExperimentId === "string" &&
    typeof value.stamp === "string" &&
    isCounts(value.metrics) &&
    isCounts(value.artifacts) &&
    (value.unsure === undefined || isCounts(value.unsure)) &&
    (value.dirty === undefined || typeof value.dirty === "boolean") &&
    (value.creating === undefined || Number.isFinite(value.creating))
  );
}

/**
 * What can be kept of a ledger file: entries of the wrong shape (an edit, another tool, a bug)
 * are dropped, as a missing ledger is: they are found again on the target by identity tags.
 */
function validLedger(data: unknown): LedgerData {
  const valid: LedgerData = { version: 1, targets: {} };
  if (!isObject(data) || data.version !== 1 || !isObject(data.targets)) return valid;
  for (const [target, entry] of Object.entries(data.targets)) {
    if (!isObject(entry) || !isObject(entry.runs)) continue;
    const runs = Object.entries(entry.runs).filter(([, run]) => isRunEntry(run));
    valid.targets[target] = { runs: Object.fromEntries(runs) as Record<string, RunEntry> };
  }
  return valid;
}

export class Ledger {
  readonly #db: Low<LedgerData> | undefined;
  readonly #memory: LedgerData;
  readonly #target: string;

  private constructor(db: Low<LedgerData> | undefined, target: string) {
    this.#db = db;
    this.#memory = db?.data ?? { version: 1, targets: {} };
    this.#target = target;
    this.#memory.targets[target] ??= { runs: {} };
  }

  /**
   * Opens the ledger file (or keeps it in memory when `path` is undefined) for one target, as
   * `ledgerKey` names it.
   */
  static async open(path: string | undefined, target: string): Promise<Ledger> {
    if (path === undefined) return new Ledger(undefined, target);
    // Not lowdb's JSONFilePreset: it silently keeps everything in memory when NODE_ENV=test.
    const db = new Low<LedgerData>(new JSONFile<LedgerData>(path), { version: 1, targets: {} });
    try {
      await db.read();
    } catch {
      // A damaged ledger is only a cache: start afresh; identity tags find what was copied.
    }
    db.data = validLedger(db.data);
    return new Ledger(db, target);
  }

  #runs(): Record<string, RunEntry> {
    return (this.#memory.targets[this.#target] as TargetEntry).runs;
  }

  run(sourceRunId: string): RunEntry | undefined {
    return this.#runs()[sourceRunId];
  }

  /** The id of a run's copy on the target; undefined when no create of it was confirmed. */
  targetRunId(sourceRunId: string): string | undefined {
    return this.run(sourceRunId)?.targetRunId || undefined;
  }

  async setRun(sourceRunId: string, entry: RunEntry): Promise<void> {
    this.#runs()[sourceRunId] = entry;
    await this.#db?.write();
  }

  async forgetRun(sourceRunId: string): Promise<void> {
    delete this.#runs()[sourceRunId];
    await this.#db?.write();
  }
}
