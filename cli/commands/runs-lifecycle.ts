/**
 * `mlruns runs delete|restore`: runs named one by one, or (delete) chosen by a retention rule:
 * `--older-than 30d` and/or `--keep-last N` per experiment, narrowed by `-e` and `-f`. A rule
 * shows its plan first and deletes after `--yes` or a yes on the terminal, as `gc` does.
 * Deleted runs stay in the tree until `mlruns gc`.
 */
import type { Run, TrackingStore } from "mlruns";
import { confirm, defineCommand, findExperiment, list, openContext } from "../context.ts";
import { UsageError } from "../errors.ts";
import { c, formatTime, note, plural, print, printJson, statusColor, table } from "../output.ts";
import { experimentNames, runResolver, SCOPE_OPTION } from "../run-ref.ts";
import { parseDuration } from "./gc.ts";

interface Retention {
  olderThanMs?: number;
  keepLast?: number;
  filter?: string;
  experiments: string[];
}

/** Every active run of the experiments matching the filter, newest first per experiment. */
async function candidates(
  store: TrackingStore,
  experimentIds: string[],
  filter: string | undefined,
): Promise<Run[]> {
  const out: Run[] = [];
  let pageToken: string | undefined;
  do {
    const page = await store.searchRuns({
      experimentIds,
      filter,
      orderBy: ["attributes.start_time DESC"],
      maxResults: 1000,
      pageToken,
    });
    out.push(...page.runs);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return out;
}

/**
 * The runs a rule deletes: past the newest `keepLast` of their experiment and older than
 * `olderThanMs`. Running runs are kept (they may be alive).
 */
export function retentionPlan(
  runs: readonly Run[],
  rule: { olderThanMs?: number; keepLast?: number },
  now: number,
): Run[] {
  const seen = new Map<string, number>();
  return runs.filter((run) => {
    const rank = seen.get(run.info.experimentId) ?? 0;
    seen.set(run.info.experimentId, rank + 1);
    if (run.info.status === "RUNNING") return false;
    if (rule.keepLast !== undefined && rank < rule.keepLast) return false;
    if (rule.olderThanMs !== undefined && run.info.startTime > now - rule.olderThanMs) return false;
    return true;
  });
}

async function deleteByRule(
  store: TrackingStore,
  rule: Retention,
  options: { json: boolean; yes: boolean },
): Promise<void> {
  const experimentIds =
    rule.experiments.length > 0
      ? await Promise.all(
          rule.experiments.map(async (ref) => (await findExperiment(store, ref)).experimentId),
        )
      : (await store.listExperiments("ACTIVE_ONLY")).map((x) => x.experimentId);
  const runs = await candidates(store, experimentIds, rule.filter);
  const plan = retentionPlan(runs, rule, Date.now());
  const names = await experimentNames(store);
  if (!options.json) {
    if (plan.length === 0) {
      print("No runs to delete.");
      return;
    }
    table(
      ["RUN ID", "NAME", "EXPERIMENT", "STARTED", "STATUS"],
      plan.map(({ info }) => [
        info.runId,
        info.runName,
        names.get(info.experimentId) ?? info.experimentId,
        formatTime(info.startTime),
        statusColor(info.status),
      ]),
    );
  }
  const approved =
    plan.length > 0 &&
    (options.yes || (!options.json && (await confirm(`Delete ${plural(plan.length, "run")}?`))));
  const deleted: string[] = [];
  if (approved) {
    for (const { info } of plan) {
      await store.deleteRun(info.runId);
      deleted.push(info.runId);
    }
  }
  if (options.json) {
    printJson(
      {
        planned: plan.map(({ info }) => ({
          runId: info.runId,
          runName: info.runName,
          experimentId: info.experimentId,
          startTime: info.startTime,
          status: info.status,
        })),
        deleted,
      },
      "planned",
    );
  } else if (approved) {
    print(c.green(`Deleted ${plural(deleted.length, "run")}.`));
    note(c.dim("They stay in the tree until `mlruns gc` removes them for good."));
  } else note("Nothing deleted: pass --yes to delete them.");
}

function count(value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new UsageError(`--keep-last must be a whole number, got ${value}`);
  }
  return value;
}

export const deleteCommand = defineCommand<{
  runs?: string[];
  experiment?: string[];
  olderThan?: string;
  keepLast?: number;
  filter?: string;
  yes?: boolean;
}>({
  command: "delete [runs..]",
  describe: "Delete runs, named or by a retention rule (reversible until `mlruns gc`)",
  builder: (y) =>
    y
      .positional("runs", {
        type: "string",
        array: true,
        describe: "runs (ids, id prefixes, names, latest)",
      })
      .option("experiment", {
        ...SCOPE_OPTION,
        describe: "experiment(s) of the rule, and where run names are looked up",
      })
      .option("older-than", {
        type: "string",
        describe: "rule: runs started at least this long ago (30d, 12h, 2w)",
      })
      .option("keep-last", {
        type: "number",
        describe: "rule: keep the newest N runs of each experiment",
      })
      .option("filter", {
        alias: "f",
        type: "string",
        describe: "rule: only runs matching this MLflow filter",
      })
      .option("yes", { alias: "y", type: "boolean", describe: "rule: delete without asking" })
      .check((a) => {
        const rule = a.olderThan !== undefined || a.keepLast !== undefined;
        const named = list(a.runs).length > 0;
        if (rule === named) {
          throw new UsageError(
            named
              ? "Name runs, or give a rule (--older-than, --keep-last), not both"
              : "Name the runs to delete, or give a rule: --older-than and/or --keep-last",
          );
        }
        if (!rule && a.filter !== undefined) {
          throw new UsageError("--filter narrows a rule: add --older-than or --keep-last");
        }
        return true;
      })
      .example("$0 runs delete 3f2a 9b1c", "two runs, by id prefix")
      .example("$0 runs delete --older-than 30d -e iris", "show the plan, then ask")
      .example(
        "$0 runs delete --keep-last 10 -f \"tags.stage = 'debug'\" --yes",
        "keep each experiment's 10 newest debug runs",
      ),
  async handler(args) {
    const context = await openContext(args);
    const refs = list(args.runs);
    if (refs.length === 0) {
      await deleteByRule(
        context.store,
        {
          ...(args.olderThan === undefined ? {} : { olderThanMs: parseDuration(args.olderThan) }),
          ...(args.keepLast === undefined ? {} : { keepLast: count(args.keepLast) }),
          ...(args.filter === undefined ? {} : { filter: args.filter }),
          experiments: list(args.experiment),
        },
        { json: args.json === true, yes: args.yes === true },
      );
      return;
    }
    const resolve = await runResolver(context, list(args.experiment));
    const ids: string[] = [];
    for (const ref of refs) {
      const id = await resolve(ref);
      await context.store.deleteRun(id);
      ids.push(id);
      if (!args.json) print(`Deleted ${id}`);
    }
    if (args.json) printJson({ deleted: ids });
  },
});

export const restoreCommand = defineCommand<{ runs: string[]; experiment?: string[] }>({
  command: "restore <runs..>",
  describe: "Restore deleted runs",
  builder: (y) =>
    y
      .positional("runs", {
        type: "string",
        array: true,
        demandOption: true,
        describe: "deleted runs (ids, id prefixes, names, latest)",
      })
      .option("experiment", SCOPE_OPTION)
      .example("$0 runs restore 3f2a 9b1c", "")
      .example("$0 runs restore latest", "the newest deleted run"),
  async handler(args) {
    const context = await openContext(args);
    const resolve = await runResolver(context, list(args.experiment), "DELETED_ONLY");
    const ids: string[] = [];
    for (const ref of list(args.runs)) {
      const id = await resolve(ref);
      await context.store.restoreRun(id);
      ids.push(id);
      if (!args.json) print(`Restored ${id}`);
    }
    if (args.json) printJson({ restored: ids });
  },
});
