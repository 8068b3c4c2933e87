/**
 * Carries out a RunPlan on the target store, through the TrackingStore interface only. The ledger
 * marks the run dirty before the first write and clean after the last, so an interrupted copy is
 * checked against the target next time instead of trusted. A batch the target refuses is retried
 * item by item, so one bad value is reported and everything else still goes.
 */
import type { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import type { Batch, Run } from "../entities.ts";
import { isMlflowError, type MlflowError } from "../errors.ts";
import type { TrackingStore } from "../store/store.ts";
import { copyHistory } from "./histories.ts";
import { identityFilter, originOf } from "./identity.ts";
import type { Ledger, RunEntry } from "./ledger.ts";
import { creationTags, type RunPlan } from "./plan.ts";

export interface SyncIssue {
  /** The source run (or experiment) the problem belongs to. */
  sourceRunId?: string;
  experiment?: string;
  what: string;
  message: string;
}

export interface CopyContext {
  source: TrackingStore;
  target: TrackingStore;
  ledger: Ledger;
  sourceTree: string;
  issues: SyncIssue[];
  /** Called after each chunk of work: points, bytes. */
  onProgress: (done: { points?: number; bytes?: number }) => void;
  /** Per target experiment, dataset name and digest: the first logging of that dataset. */
  datasets: Map<string, Promise<void>>;
}

/**
 * Whether an error belongs to the one item being copied (reported, and the sync goes on) rather
 * than to the whole sync: an unreachable server or bad credentials stop everything.
 */
export function isItemError(error: unknown): error is MlflowError {
  return (
    isMlflowError(error) &&
    error.code !== "TEMPORARILY_UNAVAILABLE" &&
    error.code !== "UNAUTHENTICATED"
  );
}

/** How long a create whose answer was lost may take to show up on the target. */
export const SETTLE_MS = 30_000;

/**
 * The target's copy of a run, by its identity tags (the oldest, when a lost answer left more
 * than one). A create whose answer never came (a timeout, a killed process) may still land on
 * the server a little later: until `settleBy`, look again before deciding there is no copy, so
 * that it is adopted instead of duplicated.
 */
export async function findCopy(
  context: CopyContext,
  run: Run,
  experimentId: string,
  settleBy = 0,
): Promise<Run | undefined> {
  const filter = identityFilter(run.info.runId, originOf(run, context.sourceTree));
  for (;;) {
    const { runs } = await context.target.searchRuns({
      experimentIds: [experimentId],
      filter,
      viewType: "ALL",
      orderBy: ["attributes.start_time ASC"],
      maxResults: 10,
    });
    if (runs.length > 1) {
      context.issues.push({
        sourceRunId: run.info.runId,
        what: "duplicates",
        message: `${runs.length} copies on the target (${runs.map((r) => r.info.runId).join(", ")}); using the oldest`,
      });
    }
    if (runs[0] || Date.now() >= settleBy) return runs[0];
    await sleep(1000);
  }
}

/** The run's copy in the target experiment: the ledger's when it is still there, else found. */
export async function findTarget(
  context: CopyContext,
  run: Run,
  experimentId: string | undefined,
): Promise<Run | undefined> {
  const entry = context.ledger.run(run.info.runId);
  if (entry?.targetRunId && entry.targetExperimentId === experimentId) {
    try {
      return await context.target.getRun(entry.targetRunId);
    } catch (error) {
      if (!isMlflowError(error, "RESOURCE_DOES_NOT_EXIST")) throw error;
    }
  }
  if (experimentId === undefined) return undefined;
  return findCopy(context, run, experimentId, entry?.creating ? entry.creating + SETTLE_MS : 0);
}

const PARAM_CHUNK = 100;
const TAG_CHUNK = 100;

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Sends a batch; when the target refuses it, sends each item alone and reports the refused. */
async function sendBatch(
  context: CopyContext,
  runId: string,
  sourceRunId: string,
  batch: Batch,
): Promise<void> {
  try {
    await context.target.logBatch(runId, batch);
    return;
  } catch (error) {
    if (!isMlflowError(error, "INVALID_PARAMETER_VALUE")) throw error;
    const singles: [string, Batch][] = [
      ...(batch.metrics ?? []).map((m): [string, Batch] => [
        `metric ${m.key}@${m.step}`,
        { metrics: [m] },
      ]),
      ...Object.entries(batch.params ?? {}).map(([k, v]): [string, Batch] => [
        `param ${k}`,
        { params: { [k]: v } },
      ]),
      ...Object.entries(batch.tags ?? {}).map(([k, v]): [string, Batch] => [
        `tag ${k}`,
        { tags: { [k]: v } },
      ]),
    ];
    if (singles.length === 1) {
      context.issues.push({
        sourceRunId,
        what: singles[0]?.[0] ?? "batch",
        message: (error as Error).message,
      });
      return;
    }
    for (const [, single] of singles) await sendBatch(context, runId, sourceRunId, single);
  }
}

/** MLflow's SQL store refusing a dataset another request inserted at the same moment. */
function isDatasetConflict(error: unknown): error is MlflowError {
  return (
    isMlflowError(error) &&
    /IntegrityError|UniqueViolation|UNIQUE constraint|duplicate key|Duplicate entry/i.test(
      error.message,
    )
  );
}

/**
 * Logs the plan's dataset inputs. MLflow's SQL store inserts a dataset new to an experiment
 * without a lock, so two runs logging one new dataset at once collide on its UNIQUE constraint
 * (experiment, name, digest) and one is refused. So the first run to log a dataset goes alone,
 * and the others wait for it, after which the dataset exists. A collision with another client
 * is retried once; a refusal is reported, and the run still counts as copied.
 */
async function logInputs(
  context: CopyContext,
  sourceRunId: string,
  targetRunId: string,
  target: { experimentId: string },
  plan: RunPlan,
): Promise<void> {
  const earlier: Promise<void>[] = [];
  let logged = () => {};
  const mine = new Promise<void>((resolve) => {
    logged = resolve;
  });
  for (const { dataset } of plan.inputs) {
    const key = `${target.experimentId}\0${dataset.name}\0${dataset.digest}`;
    const first = context.datasets.get(key);
    if (first === undefined) context.datasets.set(key, mine);
    else if (first !== mine) earlier.push(first);
  }
  try {
    await Promise.all(earlier);
    for (let attempt = 1; ; attempt++) {
      try {
        await context.target.logInputs(targetRunId, plan.inputs);
        return;
      } catch (error) {
        if (attempt === 1 && isDatasetConflict(error)) continue;
        if (!isMlflowError(error, "INVALID_PARAMETER_VALUE") && !isDatasetConflict(error))
          throw error;
        context.issues.push({ sourceRunId, what: "dataset inputs", message: error.message });
        return;
      }
    }
  } finally {
    logged();
  }
}

/**
 * Copies the plan's artifact files, each streamed from the source store to the target; a file
 * the source keeps on disk is handed over as that file, so that a large upload a killed sync
 * left can be resumed. Returns the paths the target refused.
 */
async function copyArtifacts(
  context: CopyContext,
  plan: RunPlan,
  targetRunId: string,
): Promise<string[]> {
  const refused: string[] = [];
  for (const file of plan.artifacts) {
    const opened = await context.source.openArtifact(plan.sourceRunId, file.path);
    if (opened.file !== undefined) (opened.stream as Readable).destroy?.();
    try {
      await context.target.putArtifact(
        targetRunId,
        file.path,
        opened.file === undefined ? opened.stream : { file: opened.file },
      );
    } catch (error) {
      (opened.stream as Readable).destroy?.();
      if (!isMlflowError(error, "INVALID_PARAMETER_VALUE")) throw error;
      context.issues.push({
        sourceRunId: plan.sourceRunId,
        what: `artifact ${file.path}`,
        message: error.message,
      });
      refused.push(file.path);
    }
    context.onProgress({ bytes: file.fileSize ?? 0 });
  }
  return refused;
}

/**
 * Copies one run to `targetExperimentId` following `plan`; returns the target run id, and
 * whether anything reached the target (a plan whose every item is refused again writes
 * nothing). `stamp` is the source run's stamp, recorded in the ledger once the copy is complete.
 */
export async function copyRun(
  context: CopyContext,
  source: Run,
  plan: RunPlan,
  target: { runId: string | undefined; experimentId: string },
  stamp: string,
): Promise<{ targetRunId: string; wrote: boolean }> {
  const { info } = source;
  const issuesBefore = context.issues.length;
  const previous = context.ledger.run(info.runId);
  let targetRunId = target.runId;
  if (plan.create || targetRunId === undefined) {
    // Remember the attempt first: if its answer is lost, the next sync waits for the copy.
    const creating = Date.now();
    await context.ledger.setRun(info.runId, {
      targetRunId: "",
      targetExperimentId: target.experimentId,
      stamp: "",
      metrics: {},
      artifacts: {},
      dirty: true,
      creating,
    });
    try {
      const created = await context.target.createRun({
        experimentId: target.experimentId,
        runName: info.runName,
        startTime: info.startTime,
        userId: info.userId,
        tags: creationTags(source, context.sourceTree),
      });
      targetRunId = created.info.runId;
    } catch (error) {
      // Only a lost answer (network, 5xx) leaves the outcome open; a refusal is final.
      const open =
        isMlflowError(error, "TEMPORARILY_UNAVAILABLE") || isMlflowError(error, "INTERNAL_ERROR");
      if (!open) throw error;
      const landed = await findCopy(
        context,
        source,
        target.experimentId,
        creating + SETTLE_MS,
      ).catch(() => undefined);
      if (landed === undefined) throw error;
      targetRunId = landed.info.runId;
    }
  }
  // While the copy is under way the ledger says how much of each history is surely on the
  // target, and how much more may be: a killed copy looks for only those points there.
  const copying: RunEntry = {
    targetRunId,
    targetExperimentId: target.experimentId,
    stamp: previous?.stamp ?? "",
    metrics: Object.fromEntries(plan.metrics.map((h) => [h.key, h.from])),
    unsure: Object.fromEntries(plan.metrics.map((h) => [h.key, h.check])),
    artifacts: previous?.targetRunId === targetRunId ? previous.artifacts : {},
    dirty: true,
  };
  await context.ledger.setRun(info.runId, copying);
  if (plan.restore) await context.target.restoreRun(targetRunId);
  // Params and tags share requests (the server writes a request's params first): one request
  // fewer per run than sending them apart.
  const params = chunks(Object.entries(plan.params), PARAM_CHUNK);
  const tags = chunks(Object.entries(plan.tags), TAG_CHUNK);
  for (let i = 0; i < Math.max(params.length, tags.length); i++) {
    await sendBatch(context, targetRunId, info.runId, {
      params: Object.fromEntries(params[i] ?? []),
      tags: Object.fromEntries(tags[i] ?? []),
    });
  }
  for (const conflict of plan.conflicts) {
    context.issues.push({
      sourceRunId: info.runId,
      what: `param ${conflict.key}`,
      message: `the target has '${conflict.target}', the source '${conflict.source}'; params cannot change`,
    });
  }
  const counts: Record<string, number> = {};
  const copyTo = targetRunId;
  for (const history of plan.metrics) {
    const { count, copied } = await copyHistory(
      {
        source: context.source,
        sourceRunId: info.runId,
        target: context.target,
        targetRunId: copyTo,
        send: async (metrics) => {
          await sendBatch(context, copyTo, info.runId, { metrics });
          context.onProgress({ points: metrics.length });
        },
        checkpoint: async (key, done, upTo) => {
          copying.metrics[key] = done;
          (copying.unsure as Record<string, number>)[key] = upTo;
          await context.ledger.setRun(info.runId, copying);
        },
      },
      history,
    );
    counts[history.key] = count;
    plan.points += copied;
  }
  if (plan.inputs.length > 0) await logInputs(context, info.runId, targetRunId, target, plan);
  const refused = await copyArtifacts(context, plan, targetRunId);
  if (plan.finish) await context.target.updateRun(targetRunId, plan.finish);
  if (plan.delete) await context.target.deleteRun(targetRunId);
  const artifacts = { ...plan.manifest };
  for (const path of refused) delete artifacts[path];
  await context.ledger.setRun(info.runId, {
    targetRunId,
    targetExperimentId: target.experimentId,
    // A run with refused items, or a parent not yet copied, is examined again next time.
    stamp: context.issues.length > issuesBefore || plan.parentPending ? "" : stamp,
    metrics: counts,
    artifacts,
  });
  const attempted =
    Object.keys(plan.params).length +
    Object.keys(plan.tags).length +
    plan.points +
    plan.inputs.length +
    plan.artifacts.length;
  const refusedNow = context.issues.length - issuesBefore - plan.conflicts.length;
  const wrote =
    plan.create ||
    plan.restore ||
    plan.delete ||
    plan.finish !== undefined ||
    attempted > refusedNow;
  return { targetRunId, wrote };
}
