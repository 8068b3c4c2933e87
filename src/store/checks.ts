/**
 * What every store checks before it writes, and how it says so, in one place: the options of
 * createRun and updateRun, new tags, the kept default experiment (called by the checking layer,
 * checked-store.ts), and the words for what a store finds in its own data (a taken name, a
 * missing or deleted run), which the drivers throw rather than each wording its own. The
 * contract suite holds every store to them.
 */
import type { Experiment } from "../entities.ts";
import { RUN_STATUSES } from "../entities.ts";
import { invalid, MlflowError, notFound } from "../errors.ts";
import { clashingKey, keyClash, validateRunName } from "../validation.ts";
import type { CreateRunOptions, UpdateRunOptions } from "./store.ts";

/** A time in milliseconds since the epoch: a whole number, 0 or more. */
function checkTime(name: string, value: unknown): void {
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw invalid(
      `${name} must be a non-negative integer (milliseconds since the epoch), got ${String(value)}`,
    );
  }
}

/** The options of createRun besides its tags, which each store checks with its batch rules. */
export function checkCreateRun(options: CreateRunOptions): void {
  if (options.startTime !== undefined) checkTime("startTime", options.startTime);
  if (options.userId !== undefined && typeof options.userId !== "string") {
    throw invalid(
      `userId must be a string, got ${typeof options.userId} ${String(options.userId)}`,
    );
  }
}

export function checkUpdateRun(update: UpdateRunOptions): void {
  if (update.status !== undefined && !RUN_STATUSES.includes(update.status)) {
    throw invalid(
      `Invalid run status '${String(update.status)}': use one of ${RUN_STATUSES.join(", ")}`,
    );
  }
  // null clears the end time (a resumed run).
  if (update.endTime != null) checkTime("endTime", update.endTime);
  if (update.runName !== undefined) validateRunName(update.runName);
}

/** The error for a name `holder` already has (active or deleted). */
export function experimentExists(
  name: string,
  holder: Pick<Experiment, "experimentId" | "lifecycleStage">,
  cause?: unknown,
): MlflowError {
  const deleted = holder.lifecycleStage === "deleted";
  return new MlflowError(
    "RESOURCE_ALREADY_EXISTS",
    `Experiment '${name}' already exists${deleted ? " in deleted state" : ""} (id ${holder.experimentId})`,
    {
      hint: deleted
        ? "Restore the deleted experiment, or choose another name (`mlruns gc` removes deleted experiments of a tree for good)"
        : "Use it, or choose another name",
      ...(cause === undefined ? {} : { cause }),
    },
  );
}

/** New tags that clash with each other (`a` and `a/b` cannot both be files of a tree). */
export function checkNewTags(kind: string, tags: Record<string, string>): void {
  const clash = clashingKey(Object.keys(tags));
  if (clash !== undefined) throw keyClash(kind, clash);
}

export const defaultExperimentKept = () =>
  invalid("Cannot delete the default experiment '0': it is reserved", "Delete its runs instead.");

// ---- what the stores find in their data, worded once ----

export const experimentNotFound = (experimentId: string) =>
  notFound(`No experiment with id '${experimentId}'`, "List them with listExperiments");

export const runNotFound = (runId: string) =>
  notFound(`Run '${runId}' not found`, "Check the run id, or the tracking URI");

/** A write into a deleted experiment (`action`: what was refused, e.g. "create runs in"). */
export const experimentNotActive = (experimentId: string, action: string) =>
  invalid(
    `Cannot ${action} experiment ${experimentId}: it must be in the 'active' state, current state is deleted`,
    "Restore the experiment first.",
  );

/** Deleting an experiment that is deleted, or restoring one that is active. */
export const experimentNotIn = (experimentId: string, stage: "active" | "deleted") =>
  notFound(`No ${stage} experiment with id '${experimentId}'`);

export const runNotActive = (runId: string) =>
  invalid(
    `The run ${runId} must be in the 'active' state. Current state is deleted.`,
    "Restore the run first.",
  );

export const tagNotFound = (key: string, owner: string) =>
  notFound(`No tag with key '${key}' in ${owner}`);

export const paramChanged = (runId: string, key: string, logged: string, attempted: string) =>
  invalid(
    `Changing param values is not allowed. Param with key='${key}' was already logged with ` +
      `value='${logged}' for run ID='${runId}'. Attempted logging new value '${attempted}'.`,
    "Params are immutable: log the new value under another key, or start a new run.",
  );
