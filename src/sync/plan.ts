/**
 * What copying one run needs, decided from data alone (no I/O): which params, tags, metric points,
 * inputs and artifacts the target lacks, and which status and lifecycle changes to make. The
 * copier (copy.ts) carries a plan out; `--dry-run` prints it.
 */
import type { DatasetInput, FileInfo, Metric, Run, RunStatus } from "../entities.ts";
import { SYSTEM_TAGS } from "../entities.ts";
import { ORIGIN_TAG, originOf, SOURCE_TAGS } from "./identity.ts";
import type { RunEntry } from "./ledger.ts";

export interface PlanInput {
  source: Run;
  /** Every artifact file of the source run (recursive, files only). */
  artifacts: FileInfo[];
  /** The copy on the target, when one exists. */
  target?: Run | undefined;
  /** The target's artifact files, when the ledger's manifest cannot be trusted. */
  targetArtifacts?: FileInfo[] | undefined;
  /** What the ledger remembers of this run for this target. */
  ledger?: RunEntry | undefined;
  /** The target id of the run's parent; `null` when the parent is not on the target. */
  targetParentId?: string | null | undefined;
  /** The tree (or server) the source run belongs to. */
  sourceTree: string;
}

/** A `check` that looks for every point past `from` on the target. */
export const ALL_POINTS = Number.MAX_SAFE_INTEGER;

/**
 * How one metric's history is copied, read a page at a time in the source's order: the points
 * before `from` are on the target already; those before `check` may be, and each is looked for
 * there; those after are not.
 */
export interface HistoryPlan {
  key: string;
  from: number;
  check: number;
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
  /** Every metric key of the source run. */
  metrics: HistoryPlan[];
  /** How many metric points the target lacks: counted as the histories are read (sync.ts). */
  points: number;
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

/**
 * What the ledger says of a key on this very target run: how many points of the source are
 * there for sure (a prefix, in the source's order), and up to where more may be (while a copy
 * was under way: `unsure`; a ledger without it bounds nothing). Without a ledger nothing is known.
 */
function historyPlan(input: PlanInput, key: string): HistoryPlan {
  const { ledger, target } = input;
  // A key the target has never seen has none of the source's points.
  if (target === undefined || target.data.metrics[key] === undefined)
    return { key, from: 0, check: 0 };
  if (!ledger || ledger.targetRunId !== target.info.runId)
    return { key, from: 0, check: ALL_POINTS };
  const from = ledger.metrics[key] ?? 0;
  if (!ledger.dirty) return { key, from, check: from };
  const unsure = ledger.unsure === undefined ? ALL_POINTS : ledger.unsure[key];
  return { key, from, check: Math.max(from, unsure ?? from) };
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
    metrics: Object.keys(source.data.metrics).map((key) => historyPlan(input, key)),
    points: 0,
    inputs,
    artifacts,
    bytes: artifacts.reduce((sum, file) => sum + (file.fileSize ?? 0), 0),
    manifest: Object.fromEntries(input.artifacts.map((file) => [file.path, file.fileSize ?? 0])),
    finish: finishes ? { status, endTime: endTime as number } : undefined,
    delete: lifecycleStage === "deleted" && target?.info.lifecycleStage !== "deleted",
    parentPending: source.data.tags[SYSTEM_TAGS.parentRunId] !== undefined && !input.targetParentId,
  };
}

/** True when carrying out the plan would change nothing on the target (its points counted). */
export function isEmptyPlan(plan: RunPlan): boolean {
  return (
    !plan.create &&
    !plan.restore &&
    Object.keys(plan.params).length === 0 &&
    Object.keys(plan.tags).length === 0 &&
    plan.points === 0 &&
    plan.inputs.length === 0 &&
    plan.artifacts.length === 0 &&
    plan.finish === undefined &&
    !plan.delete
  );
}
