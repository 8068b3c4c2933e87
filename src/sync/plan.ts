/**
 * What copying one run needs, decided from data alone (no I/O): which params, tags, metric points,
 * inputs and artifacts the target lacks, and which status and lifecycle changes to make. The
 * copier (copy.ts) carries a plan out; `--dry-run` prints it.
 */
import type { DatasetInput, FileInfo, Metric, Run, RunStatus } from "../entities.ts";
import { SYSTEM_TAGS } from "../entities.ts";
import type { RunEntry } from "./ledger.ts";
import { ORIGIN_TAG, originOf, SOURCE_TAGS } from "./identity.ts";

export interface PlanInput {
  source: Run;
  /** Every metric's full history on the source, in logging order. */
  histories: Record<string, Metric[]>;
  /** Every artifact file of the source run (recursive, files only). */
  artifacts: FileInfo[];
  /** The copy on the target, when one exists. */
  target?: Run | undefined;
  /** The target's histories, for keys whose copied count is not known from the ledger. */
  targetHistories?: Record<string, Metric[]> | undefined;
  /** The target's artifact files, when the ledger's manifest cannot be trusted. */
  targetArtifacts?: FileInfo[] | undefined;
  /** What the ledger remembers of this run for this target. */
  ledger?: RunEntry | undefined;
  /** The target id of the run's parent; `null` when the parent is not on the target. */
  targetParentId?: string | null | undefined;
  /** The tree (or server) the source run belongs to. */
  sourceTree: string;
}

export interface Conflict {
  key: string;
  source: string;
  target: string;
}

export interface RunPlan {
  sourceRunId: string;
  create: boolean;
  /** Restore the target run first: it is deleted there but active here. */
  restore: boolean;
  params: Record<string, string>;
  /** Params whose value on the target differs: MLflow never lets a param change. */
  conflicts: Conflict[];
  tags: Record<string, string>;
  metrics: Metric[];
  /** The ledger's per-key counts once `metrics` are copied. */
  metricCounts: Record<string, number>;
  inputs: DatasetInput[];
  /** Artifact files to upload, and their total size. */
  artifacts: FileInfo[];
  bytes: number;
  /** Every source artifact file and its size: what the target holds once the plan is done. */
  manifest: Record<string, number>;
  /** Terminal status and end time to set after everything else. */
  finish: { status: RunStatus; endTime: number } | undefined;
  /** Delete the target run last: it is deleted here. */
  delete: boolean;
  /** The run has a parent not yet on the target: look again next time. */
  parentPending: boolean;
}

/** The tags a target copy carries from the moment it is created. */
export function creationTags(source: Run, sourceTree: string): Record<string, string> {
  return {
    [SYSTEM_TAGS.runName]: source.info.runName,
    [SOURCE_TAGS.runId]: source.info.runId,
    [SOURCE_TAGS.tree]: originOf(source, sourceTree),
  };
}

/**
 * How a point is identified on both ends: MLflow's SQL key (timestamp, step, value), with the
 * server's spellings folded: ±inf are stored as ±max float, NaN as a flag, -0 as 0.
 */
export function pointIdentity(metric: Pick<Metric, "timestamp" | "step" | "value">): string {
  const v = metric.value;
  const value = Number.isNaN(v)
    ? "nan"
    : v >= Number.MAX_VALUE
      ? "inf"
      : v <= -Number.MAX_VALUE
        ? "-inf"
        : String(v === 0 ? 0 : v);
  return `${metric.timestamp} ${metric.step} ${value}`;
}

function metricsToCopy(input: PlanInput): { metrics: Metric[]; counts: Record<string, number> } {
  const metrics: Metric[] = [];
  const counts: Record<string, number> = {};
  for (const [key, history] of Object.entries(input.histories)) {
    counts[key] = history.length;
    const copied = copiedCount(input, key);
    if (input.target === undefined) metrics.push(...history);
    else if (copied !== undefined && copied <= history.length)
      metrics.push(...history.slice(copied));
    else {
      const present = new Set((input.targetHistories?.[key] ?? []).map(pointIdentity));
      for (const point of history) {
        const id = pointIdentity(point);
        if (!present.has(id)) {
          present.add(id);
          metrics.push(point);
        }
      }
    }
  }
  return { metrics, counts };
}

/**
 * How many points of a key the target already has, when the ledger knows: it was written after
 * a complete copy to this very target run (a key it does not list was never copied).
 */
function copiedCount(input: Omit<PlanInput, "targetHistories">, key: string): number | undefined {
  const { ledger, target } = input;
  if (!ledger || ledger.dirty || !target || ledger.targetRunId !== target.info.runId)
    return undefined;
  return ledger.metrics[key] ?? 0;
}

/** The keys whose target history must be read to know what the target lacks. */
export function needsTargetHistories(input: Omit<PlanInput, "targetHistories">): string[] {
  if (input.target === undefined) return [];
  return Object.entries(input.histories)
    .filter(([key, history]) => {
      const copied = copiedCount(input, key);
      return history.length > 0 && (copied === undefined || copied > history.length);
    })
    .map(([key]) => key);
}

/** Whether the target's artifact listing must be read (the ledger's manifest differs). */
export function needsTargetArtifacts(input: Omit<PlanInput, "targetArtifacts">): boolean {
  if (input.target === undefined) return false;
  const { ledger, target } = input;
  const trusted = ledger && !ledger.dirty && ledger.targetRunId === target.info.runId;
  const manifest = trusted ? ledger.artifacts : undefined;
  if (manifest === undefined) return input.artifacts.length > 0;
  return input.artifacts.some((file) => manifest[file.path] !== file.fileSize);
}

function tagsToCopy(input: PlanInput): Record<string, string> {
  const wanted: Record<string, string> = { ...input.source.data.tags };
  delete wanted[ORIGIN_TAG];
  const parent = wanted[SYSTEM_TAGS.parentRunId];
  if (parent !== undefined) {
    delete wanted[SYSTEM_TAGS.parentRunId];
    if (input.targetParentId) wanted[SYSTEM_TAGS.parentRunId] = input.targetParentId;
    else wanted[SOURCE_TAGS.parentRunId] = parent;
  }
  Object.assign(wanted, creationTags(input.source, input.sourceTree));
  const present = input.target?.data.tags ?? {};
  return Object.fromEntries(
    Object.entries(wanted).filter(([key, value]) => present[key] !== value),
  );
}

const inputKey = (input: DatasetInput) => `${input.dataset.name}\0${input.dataset.digest}`;

export function planRun(input: PlanInput): RunPlan {
  const { source, target } = input;
  const params: Record<string, string> = {};
  const conflicts: Conflict[] = [];
  for (const [key, value] of Object.entries(source.data.params)) {
    const existing = target?.data.params[key];
    if (existing === undefined) params[key] = value;
    else if (existing !== value) conflicts.push({ key, source: value, target: existing });
  }
  const { metrics, counts } = metricsToCopy(input);
  const presentInputs = new Set((target?.inputs ?? []).map(inputKey));
  const inputs = source.inputs.filter((i) => !presentInputs.has(inputKey(i)));
  let artifacts = input.artifacts;
  if (target !== undefined) {
    const known: Record<string, number | undefined> = input.targetArtifacts
      ? Object.fromEntries(input.targetArtifacts.map((f) => [f.path, f.fileSize]))
      : (input.ledger?.artifacts ?? {});
    artifacts = artifacts.filter((file) => known[file.path] !== file.fileSize);
  }
  const { status, endTime, lifecycleStage } = source.info;
  const terminal = status !== "RUNNING" && status !== "SCHEDULED" && endTime !== null;
  const finishes =
    terminal &&
    (target === undefined || target.info.status !== status || target.info.endTime !== endTime);
  return {
    sourceRunId: source.info.runId,
    create: target === undefined,
    restore: target?.info.lifecycleStage === "deleted" && lifecycleStage === "active",
    params,
    conflicts,
    tags: tagsToCopy(input),
    metrics,
    metricCounts: counts,
    inputs,
    artifacts,
    bytes: artifacts.reduce((sum, file) => sum + (file.fileSize ?? 0), 0),
    manifest: Object.fromEntries(input.artifacts.map((file) => [file.path, file.fileSize ?? 0])),
    finish: finishes ? { status, endTime: endTime as number } : undefined,
    delete: lifecycleStage === "deleted" && target?.info.lifecycleStage !== "deleted",
    parentPending: source.data.tags[SYSTEM_TAGS.parentRunId] !== undefined && !input.targetParentId,
  };
}

/** True when carrying out the plan would change nothing on the target. */
export function isEmptyPlan(plan: RunPlan): boolean {
  return (
    !plan.create &&
    !plan.restore &&
    Object.keys(plan.params).length === 0 &&
    Object.keys(plan.tags).length === 0 &&
    plan.metrics.length === 0 &&
    plan.inputs.length === 0 &&
    plan.artifacts.length === 0 &&
    plan.finish === undefined &&
    !plan.delete
  );
}
