/**
 * sync: copies runs from one store to another, idempotently and incrementally. Push is
 * FileStore → RestStore; pull is the same copy with the ends swapped. For each selected run:
 * find its copy on the target (ledger, else identity tags), read what the target lacks, plan,
 * copy. Parents go before children so `mlflow.parentRunId` can name the target's parent.
 */
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import type { FileInfo, Metric, Run } from "../entities.ts";
import { SYSTEM_TAGS } from "../entities.ts";
import { isMlflowError } from "../errors.ts";
import { withLock } from "../store/file/lock.ts";
import type { TrackingStore } from "../store/store.ts";
import { type CopyContext, copyRun, isItemError, SETTLE_MS, type SyncIssue } from "./copy.ts";
import { copyExperimentTags, createExperiment } from "./experiments.ts";
import { identityFilter, originOf, publicUri, sourceId } from "./identity.ts";
import { Ledger, ledgerKey, ledgerPath } from "./ledger.ts";
import type { SyncOptions, SyncProgress } from "./options.ts";
import {
  isEmptyPlan,
  needsTargetArtifacts,
  needsTargetHistories,
  type PlanInput,
  planRun,
  type RunPlan,
} from "./plan.ts";
import { copyRegistry, type RegistryCounts } from "./registry.ts";
import { chooseExperiments, selectRuns } from "./select.ts";

export type { SyncIssue } from "./copy.ts";
export type { Conflict, RunPlan } from "./plan.ts";

/** Held by a sync of a tree, so that a second sync of the same tree is refused. */
export const SYNC_LOCK_FILE = ".mlruns-sync.lock";

export type RunOutcome = "created" | "updated" | "unchanged" | "failed";

export interface SyncedRun {
  sourceRunId: string;
  runName: string;
  targetRunId?: string;
  /** The copy's page in the target's UI (a server's MLflow UI), when the target has one. */
  url?: string;
  outcome: RunOutcome;
  plan?: RunPlan;
}

export interface SyncReport {
  source: string;
  target: string;
  dryRun: boolean;
  experimentsCreated: string[];
  runs: SyncedRun[];
  /** New registered models and versions on the target. */
  registry: RegistryCounts;
  counts: Record<RunOutcome, number> & {
    params: number;
    tags: number;
    points: number;
    artifacts: number;
    bytes: number;
  };
  issues: SyncIssue[];
}

/** Every artifact file of a run, recursively. */
async function listFiles(store: TrackingStore, runId: string, path?: string): Promise<FileInfo[]> {
  const files: FileInfo[] = [];
  for (const entry of await store.listArtifacts(runId, path)) {
    if (entry.isDir) files.push(...(await listFiles(store, runId, entry.path)));
    else files.push(entry);
  }
  return files;
}

async function histories(store: TrackingStore, runId: string, keys: string[]) {
  const out: Record<string, Metric[]> = {};
  for (const key of keys) out[key] = await store.getMetricHistory(runId, key);
  return out;
}

async function mapLimit<T>(
  items: T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++] as T);
  });
  await Promise.all(workers);
}

/**
 * Copies the selected runs (with their experiments, params, tags, full metric histories, inputs
 * and artifacts) from `source` to `target`. Safe to repeat: a second sync copies nothing new.
 */
export async function sync(options: SyncOptions): Promise<SyncReport> {
  const lock = options.source.uri.startsWith("file:")
    ? join(fileURLToPath(options.source.uri), SYNC_LOCK_FILE)
    : undefined;
  const run = () => syncUnlocked(options);
  if (lock === undefined || options.dryRun) return run();
  const purpose = "syncing this tree";
  if (options.background) return withLock(lock, run, { wait: false, purpose, note: BACKGROUND });
  return withLock(lock, run, {
    wait: false,
    purpose,
    waitFor: (note) => note === BACKGROUND,
    ...(options.onLockWait ? { onWait: options.onLockWait } : {}),
  });
}

/** The note in the sync lock of a background push. */
const BACKGROUND = "background-push";

async function syncUnlocked(options: SyncOptions): Promise<SyncReport> {
  const { source, target } = options;
  const targetUri = publicUri(target.uri);
  const report: SyncReport = {
    source: publicUri(source.uri),
    target: targetUri,
    dryRun: options.dryRun ?? false,
    experimentsCreated: [],
    registry: { models: 0, versions: 0 },
    runs: [],
    counts: {
      created: 0,
      updated: 0,
      unchanged: 0,
      failed: 0,
      params: 0,
      tags: 0,
      points: 0,
      artifacts: 0,
      bytes: 0,
    },
    issues: [],
  };
  const sourceTree = await sourceId(source.uri);
  const ledger = await Ledger.open(
    ledgerPath(options.source, options.ledgerPath),
    ledgerKey(targetUri, options.experimentPrefix),
  );
  const experiments = await chooseExperiments(options);
  const levels = await selectRuns(options, experiments);
  const total = levels.reduce((sum, level) => sum + level.length, 0);
  const progress: SyncProgress = { runsDone: 0, runsTotal: total, points: 0, bytes: 0 };
  const context: CopyContext = {
    source,
    target,
    ledger,
    sourceTree,
    issues: report.issues,
    datasets: new Map(),
    onProgress: ({ points = 0, bytes = 0 }) => {
      progress.points += points;
      progress.bytes += bytes;
      options.onProgress?.({ ...progress });
    },
  };

  // Target experiments by name; created when missing (not in a dry run).
  const targetExperiments = new Map<string, string | undefined>();
  for (const experiment of experiments) {
    const name = `${options.experimentPrefix ?? ""}${experiment.name}`;
    const found = await target.getExperimentByName(name);
    if (found?.lifecycleStage === "deleted") {
      report.issues.push({
        experiment: name,
        what: "experiment",
        message: `'${name}' is deleted on ${targetUri}; restore it there, or sync with --experiment-prefix`,
      });
      continue;
    }
    let id = found?.experimentId;
    if (id === undefined) report.experimentsCreated.push(name);
    if (!options.dryRun) {
      id ??= await createExperiment(target, name);
      await copyExperimentTags(target, id, name, experiment.tags, found?.tags ?? {}, report.issues);
    }
    targetExperiments.set(experiment.experimentId, id);
  }

  const copied = new Map<string, string>();
  /** The target's copies of a run, oldest first, by identity tags. */
  const searchCopies = async (run: Run, experimentId: string) =>
    (
      await target.searchRuns({
        experimentIds: [experimentId],
        filter: identityFilter(run.info.runId, originOf(run, sourceTree)),
        viewType: "ALL",
        orderBy: ["attributes.start_time ASC"],
        maxResults: 10,
      })
    ).runs;

  /**
   * The copy of a run on the target. A create whose answer never came (a timeout, a killed
   * process) may still land on the server a little later: until `settleBy`, look again before
   * deciding there is no copy, so it is adopted instead of duplicated.
   */
  const findCopy = async (
    run: Run,
    experimentId: string,
    settleBy = 0,
  ): Promise<Run | undefined> => {
    for (;;) {
      const found = await searchCopies(run, experimentId);
      if (found.length > 1) {
        report.issues.push({
          sourceRunId: run.info.runId,
          what: "duplicates",
          message: `${found.length} copies on the target (${found.map((r) => r.info.runId).join(", ")}); using the oldest`,
        });
      }
      if (found[0] || Date.now() >= settleBy) return found[0];
      await sleep(1000);
    }
  };
  context.findCopy = findCopy;

  const findTarget = async (
    run: Run,
    experimentId: string | undefined,
  ): Promise<Run | undefined> => {
    const entry = ledger.run(run.info.runId);
    if (entry?.targetRunId && entry.targetExperimentId === experimentId) {
      try {
        return await target.getRun(entry.targetRunId);
      } catch (error) {
        if (!isMlflowError(error, "RESOURCE_DOES_NOT_EXIST")) throw error;
      }
    }
    if (experimentId === undefined) return undefined;
    return findCopy(run, experimentId, entry?.creating ? entry.creating + SETTLE_MS : 0);
  };

  const syncOne = async (listed: Run): Promise<void> => {
    let run = listed;
    const runId = run.info.runId;
    const experimentId = targetExperiments.get(run.info.experimentId);
    const record = (outcome: RunOutcome, targetRunId?: string, plan?: RunPlan) => {
      const url =
        targetRunId && experimentId ? target.runPageUrl?.(experimentId, targetRunId) : undefined;
      report.runs.push({
        sourceRunId: runId,
        runName: run.info.runName,
        ...(targetRunId ? { targetRunId } : {}),
        ...(url ? { url } : {}),
        outcome,
        ...(plan ? { plan } : {}),
      });
      report.counts[outcome]++;
    };
    try {
      if (!targetExperiments.has(run.info.experimentId)) return; // its experiment was refused
      const stamp = (await source.runStamp?.(runId)) ?? "";
      const entry = ledger.run(runId);
      const fresh =
        entry && !entry.dirty && entry.targetExperimentId === experimentId && stamp !== "";
      if (fresh && entry.stamp === stamp) {
        copied.set(runId, entry.targetRunId);
        record("unchanged", entry.targetRunId);
        return;
      }
      // Read after the stamp: a run still being written may have changed since it was listed,
      // and the ledger must never pair this stamp with older data.
      if (stamp !== "") run = await source.getRun(runId);
      const existing = await findTarget(run, experimentId);
      const parentId = run.data.tags[SYSTEM_TAGS.parentRunId];
      const input: PlanInput = {
        source: run,
        histories: await histories(source, runId, Object.keys(run.data.metrics)),
        artifacts: await listFiles(source, runId),
        target: existing,
        ledger: entry,
        targetParentId:
          parentId === undefined
            ? undefined
            : (copied.get(parentId) ?? ledger.targetRunId(parentId) ?? null),
        sourceTree,
      };
      const targetHistoryKeys = needsTargetHistories(input);
      if (existing && targetHistoryKeys.length > 0) {
        input.targetHistories = await histories(target, existing.info.runId, targetHistoryKeys);
      }
      if (existing && needsTargetArtifacts(input))
        input.targetArtifacts = await listFiles(target, existing.info.runId);
      const plan = planRun(input);
      let outcome: RunOutcome = plan.create
        ? "created"
        : isEmptyPlan(plan)
          ? "unchanged"
          : "updated";
      report.counts.params += Object.keys(plan.params).length;
      report.counts.tags += Object.keys(plan.tags).length;
      report.counts.points += plan.metrics.length;
      report.counts.artifacts += plan.artifacts.length;
      report.counts.bytes += plan.bytes;
      if (options.dryRun || experimentId === undefined) {
        record(outcome, existing?.info.runId, plan);
      } else {
        const copy = await copyRun(
          context,
          run,
          plan,
          { runId: existing?.info.runId, experimentId },
          stamp,
        );
        copied.set(runId, copy.targetRunId);
        if (!copy.wrote && outcome === "updated") outcome = "unchanged";
        record(outcome, copy.targetRunId);
      }
    } catch (error) {
      if (!isItemError(error)) throw error;
      record("failed");
      report.issues.push({ sourceRunId: runId, what: "run", message: error.message });
    } finally {
      progress.runsDone++;
      options.onProgress?.({ ...progress });
    }
  };

  for (const level of levels) await mapLimit(level, options.concurrency ?? 4, syncOne);
  const wholeTree = !options.experiments?.length && !options.filter && !options.runIds?.length;
  if ((options.registry ?? wholeTree) && source.registry && target.registry) {
    report.registry = await copyRegistry({
      source: source.registry,
      target: target.registry,
      sourceTree,
      targetRunId: (id) => copied.get(id) ?? ledger.targetRunId(id),
      dryRun: options.dryRun ?? false,
      issues: report.issues,
    });
  }
  // Saves what reading the source learnt (a tree's search index) for the next sync.
  await source.flush();
  return report;
}
