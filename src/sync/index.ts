/**
 * sync: copies runs from one store to another, idempotently and incrementally. Push is
 * FileStore → RestStore; pull is the same copy with the ends swapped. For each selected run:
 * find its copy on the target (ledger, else identity tags), read what the target lacks, plan,
 * copy. Parents go before children so `mlflow.parentRunId` can name the target's parent.
 */
import { join } from "node:path";
import type { Experiment, FileInfo, Run } from "../entities.ts";
import { SYSTEM_TAGS } from "../entities.ts";
import { withLock } from "../lock.ts";
import type { TrackingStore } from "../store/store.ts";
import { SYNC_LOCK_FILE } from "../tree-files.ts";
import { type CopyContext, copyRun, findTarget, isItemError, type SyncIssue } from "./copy.ts";
import { copyExperimentTags, createExperiment } from "./experiments.ts";
import { copyHistory } from "./histories.ts";
import { publicUri, sourceId } from "./identity.ts";
import { Ledger, ledgerKey, ledgerPath } from "./ledger.ts";
import type { SyncOptions, SyncProgress } from "./options.ts";
import {
  isEmptyPlan,
  needsTargetArtifacts,
  type PlanInput,
  planRun,
  type RunPlan,
} from "./plan.ts";
import { copyRegistry, type RegistryCounts } from "./registry.ts";
import { chooseExperiments, selectRuns } from "./select.ts";

export type { SyncIssue } from "./copy.ts";
export type { Conflict, RunPlan } from "./plan.ts";

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
  const { root } = options.source;
  const run = () => syncUnlocked(options);
  if (root === undefined || options.dryRun) return run();
  const lock = join(root, SYNC_LOCK_FILE);
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
  const report = emptyReport(options);
  const sourceTree = await sourceId(source, { create: !options.dryRun });
  const ledger = await Ledger.open(
    ledgerPath(source, options.ledgerPath),
    ledgerKey(report.target, options.experimentPrefix),
  );
  const experiments = await chooseExperiments(options);
  const levels = await selectRuns(options, experiments);
  const progress: SyncProgress = {
    runsDone: 0,
    runsTotal: levels.reduce((sum, level) => sum + level.length, 0),
    points: 0,
    bytes: 0,
  };
  const pass: Pass = {
    options,
    report,
    context: {
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
    },
    targetExperiments: new Map(),
    createdExperiments: new Set(),
    copied: new Map(),
  };
  await targetExperiments(pass, experiments);
  for (const level of levels) {
    await mapLimit(level, options.concurrency ?? 4, async (run) => {
      try {
        await syncRun(pass, run);
      } finally {
        progress.runsDone++;
        options.onProgress?.({ ...progress });
      }
    });
  }
  await syncRegistry(pass);
  // Saves what reading the source learnt (a tree's search index) for the next sync.
  await source.flush();
  return report;
}

/** What every step of one sync shares. */
interface Pass {
  options: SyncOptions;
  report: SyncReport;
  context: CopyContext;
  /** Source experiment id → target experiment id (undefined: not there yet, in a dry run). */
  targetExperiments: Map<string, string | undefined>;
  /** Target experiments this pass created: no copy of a run can be there before it puts one. */
  createdExperiments: Set<string>;
  /** Source run id → target run id, for the runs of this pass: a child names its parent's copy. */
  copied: Map<string, string>;
}

function emptyReport(options: SyncOptions): SyncReport {
  return {
    source: publicUri(options.source.uri),
    target: publicUri(options.target.uri),
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
}

/**
 * The target experiment of each source experiment, by name (with the prefix); created when
 * missing, except in a dry run. One deleted on the target is reported and left out.
 */
async function targetExperiments(pass: Pass, experiments: Experiment[]): Promise<void> {
  const { options, report, targetExperiments: ids } = pass;
  const { target } = options;
  for (const experiment of experiments) {
    const name = `${options.experimentPrefix ?? ""}${experiment.name}`;
    const found = await target.getExperimentByName(name);
    if (found?.lifecycleStage === "deleted") {
      report.issues.push({
        experiment: name,
        what: "experiment",
        message: `'${name}' is deleted on ${report.target}; restore it there, or sync with --experiment-prefix`,
      });
      continue;
    }
    let id = found?.experimentId;
    if (id === undefined) report.experimentsCreated.push(name);
    if (!options.dryRun) {
      if (id === undefined) {
        const made = await createExperiment(target, name);
        id = made.id;
        if (made.created) pass.createdExperiments.add(id);
      }
      await copyExperimentTags(target, id, name, experiment.tags, found?.tags ?? {}, report.issues);
    }
    ids.set(experiment.experimentId, id);
  }
}

/** Adds a run's outcome to the report. */
function record(
  pass: Pass,
  run: Run,
  outcome: RunOutcome,
  targetRunId?: string,
  plan?: RunPlan,
): void {
  const experimentId = pass.targetExperiments.get(run.info.experimentId);
  const url =
    targetRunId && experimentId
      ? pass.context.target.runPageUrl?.(experimentId, targetRunId)
      : undefined;
  pass.report.runs.push({
    sourceRunId: run.info.runId,
    runName: run.info.runName,
    ...(targetRunId ? { targetRunId } : {}),
    ...(url ? { url } : {}),
    outcome,
    ...(plan ? { plan } : {}),
  });
  pass.report.counts[outcome]++;
}

/**
 * Syncs one run: unchanged since its last copy (its stamp says so) it is only recorded; else it
 * is read, planned against its copy on the target, and copied (not in a dry run). A failure that
 * belongs to this run alone is reported and the sync goes on.
 */
async function syncRun(pass: Pass, listed: Run): Promise<void> {
  const { context, options } = pass;
  const runId = listed.info.runId;
  const experimentId = pass.targetExperiments.get(listed.info.experimentId);
  if (!pass.targetExperiments.has(listed.info.experimentId)) return; // its experiment was refused
  try {
    const stamp = (await context.source.runStamp?.(runId)) ?? "";
    const entry = context.ledger.run(runId);
    const fresh =
      entry && !entry.dirty && entry.targetExperimentId === experimentId && stamp !== "";
    if (fresh && entry.stamp === stamp) {
      pass.copied.set(runId, entry.targetRunId);
      record(pass, listed, "unchanged", entry.targetRunId);
      return;
    }
    // Read after the stamp: a run still being written may have changed since it was listed,
    // and the ledger must never pair this stamp with older data.
    const run = stamp === "" ? listed : await context.source.getRun(runId);
    // In an experiment this pass created, there is nothing to look for (one search per run).
    const existing =
      experimentId !== undefined && pass.createdExperiments.has(experimentId)
        ? undefined
        : await findTarget(context, run, experimentId);
    const plan = planRun(await planInput(pass, run, existing));
    if (options.dryRun || experimentId === undefined) {
      await countPoints(context, plan, existing);
      countPlan(pass.report, plan);
      record(pass, run, outcomeOf(plan), existing?.info.runId, plan);
      return;
    }
    const target = { runId: existing?.info.runId, experimentId };
    const copy = await copyRun(context, run, plan, target, stamp);
    countPlan(pass.report, plan);
    pass.copied.set(runId, copy.targetRunId);
    const outcome = outcomeOf(plan);
    record(
      pass,
      run,
      !copy.wrote && outcome === "updated" ? "unchanged" : outcome,
      copy.targetRunId,
    );
  } catch (error) {
    if (!isItemError(error)) throw error;
    record(pass, listed, "failed");
    pass.report.issues.push({ sourceRunId: runId, what: "run", message: error.message });
  }
}

const outcomeOf = (plan: RunPlan): RunOutcome =>
  plan.create ? "created" : isEmptyPlan(plan) ? "unchanged" : "updated";

/** A dry run's count of the points the target lacks: the histories read, nothing sent. */
async function countPoints(context: CopyContext, plan: RunPlan, existing: Run | undefined) {
  for (const history of plan.metrics) {
    const copy = {
      source: context.source,
      sourceRunId: plan.sourceRunId,
      target: context.target,
      targetRunId: existing?.info.runId,
    };
    plan.points += (await copyHistory(copy, history)).copied;
  }
}

/** What planning a run needs: its artifacts, and the target's where they matter. */
async function planInput(pass: Pass, run: Run, existing: Run | undefined): Promise<PlanInput> {
  const { source, target, ledger, sourceTree } = pass.context;
  const runId = run.info.runId;
  const parentId = run.data.tags[SYSTEM_TAGS.parentRunId];
  const input: PlanInput = {
    source: run,
    artifacts: await listFiles(source, runId),
    target: existing,
    ledger: ledger.run(runId),
    targetParentId:
      parentId === undefined
        ? undefined
        : (pass.copied.get(parentId) ?? ledger.targetRunId(parentId) ?? null),
    sourceTree,
  };
  if (existing === undefined) return input;
  if (needsTargetArtifacts(input))
    input.targetArtifacts = await listFiles(target, existing.info.runId);
  return input;
}

function countPlan(report: SyncReport, plan: RunPlan): void {
  report.counts.params += Object.keys(plan.params).length;
  report.counts.tags += Object.keys(plan.tags).length;
  report.counts.points += plan.points;
  report.counts.artifacts += plan.artifacts.length;
  report.counts.bytes += plan.bytes;
}

/** The model registry, when asked for, or by default when the whole tree is synced. */
async function syncRegistry(pass: Pass): Promise<void> {
  const { options, report, copied, context } = pass;
  const { source, target } = options;
  const wholeTree = !options.experiments?.length && !options.filter && !options.runIds?.length;
  if (!(options.registry ?? wholeTree) || !source.registry || !target.registry) return;
  report.registry = await copyRegistry({
    source: source.registry,
    target: target.registry,
    sourceTree: context.sourceTree,
    targetRunId: (id) => copied.get(id) ?? context.ledger.targetRunId(id),
    dryRun: options.dryRun ?? false,
    issues: report.issues,
  });
}
