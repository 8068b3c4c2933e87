/**
 * Runs named the way people name them: a full id, a unique id prefix (`2596ec`, as git takes
 * commits), a run name, or `latest`. Names and `latest` are looked up in the experiments of the
 * scope (`-e`, else MLFLOW_EXPERIMENT_ID / MLFLOW_EXPERIMENT_NAME, else every experiment); a
 * reference that fits several runs is an error listing them.
 */
import {
  type Config,
  isMlflowError,
  MlflowError,
  type Run,
  type TrackingStore,
  type ViewType,
} from "mlruns";
import type { GlobalArgs } from "./command.ts";
import { findExperiment, list, openContext } from "./context.ts";
import { formatTime } from "./output.ts";

const FULL_ID = /^[0-9a-f]{32}$/;
/** Shorter prefixes match too much to be useful (git's minimum is 4 as well). */
const PREFIX = /^[0-9a-f]{4,31}$/i;
/** Candidates listed in an ambiguity error. */
const SHOWN = 10;

export interface RunScope {
  /** The experiments names and `latest` are looked up in; every experiment when absent. */
  experimentIds?: string[];
  /** Which runs count: active ones by default (`restore` looks at deleted ones). */
  view?: ViewType;
}

/** A string literal of MLflow's filter language, or undefined when no quoting can hold it. */
function literal(text: string): string | undefined {
  if (!text.includes("'")) return `'${text}'`;
  if (!text.includes('"')) return `"${text}"`;
  return undefined;
}

/** Experiment names by id (deleted ones too), for tables. */
export async function experimentNames(store: TrackingStore): Promise<Map<string, string>> {
  return new Map((await store.listExperiments("ALL")).map((x) => [x.experimentId, x.name]));
}

async function allExperimentIds(store: TrackingStore): Promise<string[]> {
  return (await store.listExperiments("ALL")).map((e) => e.experimentId);
}

/** The experiments of the environment (MLFLOW_EXPERIMENT_ID or _NAME), when they name one. */
export async function environmentScope(
  store: TrackingStore,
  config: Config,
): Promise<string[] | undefined> {
  try {
    if (config.experimentId !== undefined) {
      return [(await store.getExperiment(config.experimentId)).experimentId];
    }
    if (config.experimentName !== undefined) {
      const found = await store.getExperimentByName(config.experimentName);
      return found ? [found.experimentId] : undefined;
    }
  } catch (error) {
    if (!isMlflowError(error, "RESOURCE_DOES_NOT_EXIST")) throw error;
  }
  return undefined;
}

async function search(
  store: TrackingStore,
  experimentIds: string[],
  filter: string,
  view: ViewType,
): Promise<Run[]> {
  if (experimentIds.length === 0) return [];
  return (await store.searchRuns({ experimentIds, filter, viewType: view, maxResults: SHOWN + 1 }))
    .runs;
}

/** Runs of the scope whose name is `name` (MLflow names need not be unique). */
async function byName(
  store: TrackingStore,
  experimentIds: string[],
  name: string,
  view: ViewType,
): Promise<Run[]> {
  const quoted = literal(name);
  if (quoted !== undefined) {
    return search(store, experimentIds, `attributes.run_name = ${quoted}`, view);
  }
  return (await store.listRuns(experimentIds, view)).filter((r) => r.info.runName === name);
}

function describe(run: Run, names: Map<string, string>): string {
  const i = run.info;
  const experiment = names.get(i.experimentId) ?? i.experimentId;
  const deleted = i.lifecycleStage === "deleted" ? "  (deleted)" : "";
  return `${i.runId}  ${i.runName}  ${experiment}  ${formatTime(i.startTime)}  ${i.status}${deleted}`;
}

/** The id of the run `ref` names; see the module comment. */
export async function resolveRun(
  store: TrackingStore,
  ref: string,
  scope: RunScope = {},
): Promise<string> {
  if (FULL_ID.test(ref)) return ref;
  const view = scope.view ?? "ACTIVE_ONLY";
  const named = scope.experimentIds ?? (await allExperimentIds(store));
  if (ref === "latest") {
    const [newest] =
      named.length === 0
        ? []
        : (
            await store.searchRuns({
              experimentIds: named,
              viewType: view,
              orderBy: ["attributes.start_time DESC"],
              maxResults: 1,
            })
          ).runs;
    if (newest === undefined) {
      throw new MlflowError("RESOURCE_DOES_NOT_EXIST", "No runs, so no latest run", {
        hint: "Start one with `mlruns run -- <command>`, or check --tracking-uri and -e",
      });
    }
    return newest.info.runId;
  }
  const found = new Map<string, Run>();
  for (const run of await byName(store, named, ref, view)) found.set(run.info.runId, run);
  if (PREFIX.test(ref)) {
    // Ids are unique in the whole tree, so a prefix is looked for everywhere.
    const everywhere = await allExperimentIds(store);
    const filter = `attributes.run_id LIKE '${ref.toLowerCase()}%'`;
    for (const run of await search(store, everywhere, filter, "ALL"))
      found.set(run.info.runId, run);
  }
  const matches = [...found.values()];
  if (matches.length === 1) return (matches[0] as Run).info.runId;
  if (matches.length === 0) {
    throw new MlflowError("RESOURCE_DOES_NOT_EXIST", `No run with id, id prefix or name '${ref}'`, {
      hint: "`mlruns runs list` shows ids and names; a name is looked up in -e's experiment (or all)",
    });
  }
  const names = await experimentNames(store);
  const shown = matches.slice(0, SHOWN).map((r) => describe(r, names));
  if (matches.length > SHOWN) shown.push("...");
  const scoped = scope.experimentIds !== undefined;
  throw new MlflowError(
    "INVALID_PARAMETER_VALUE",
    `'${ref}' names ${matches.length > SHOWN ? `more than ${SHOWN}` : matches.length} runs\n${shown.join("\n")}`,
    {
      hint: `Give the id (or enough of it) of the one you mean${scoped ? "" : ", or name its experiment with -e"}`,
    },
  );
}

/** The experiments a command's `-e` names, else those of the environment (or undefined: all). */
export async function runScope(
  store: TrackingStore,
  config: Config,
  experiments: readonly string[],
): Promise<string[] | undefined> {
  if (experiments.length === 0) return environmentScope(store, config);
  return Promise.all(
    experiments.map(async (ref) => (await findExperiment(store, ref)).experimentId),
  );
}

/** The `-e` option of commands that take runs: where names and `latest` are looked up. */
export const SCOPE_OPTION = {
  alias: "e",
  type: "string",
  array: true,
  describe: "experiment (name or id) where run names and `latest` are looked up",
} as const;

/** A function resolving run references in the scope of `-e` (or of the environment). */
export async function runResolver(
  context: { store: TrackingStore; config: Config },
  experiments: readonly string[],
  view?: ViewType,
): Promise<(ref: string) => Promise<string>> {
  const experimentIds = await runScope(context.store, context.config, experiments);
  const scope: RunScope = {
    ...(experimentIds === undefined ? {} : { experimentIds }),
    ...(view === undefined ? {} : { view }),
  };
  return (ref) => resolveRun(context.store, ref, scope);
}

/** The store, and the run a command's `<run>` names within its `-e`. */
export async function openRun(
  args: { run: string; experiment?: string[] } & GlobalArgs,
  options: { read?: boolean } = {},
) {
  const context = await openContext(args, options);
  const resolve = await runResolver(context, list(args.experiment));
  return { store: context.store, runId: await resolve(String(args.run)) };
}
