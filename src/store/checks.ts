/**
 * What every store checks before it writes, and how it says so, in one place: the options of
 * createRun and updateRun, and a taken experiment name. The stores call these rather than each
 * wording its own, so they cannot drift apart; the contract suite holds each of them to it.
 */
import type { Experiment } from "../entities.ts";
import { RUN_STATUSES } from "../entities.ts";
import { invalid, MlflowError } from "../errors.ts";
import { validateRunName } from "../validation.ts";
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
