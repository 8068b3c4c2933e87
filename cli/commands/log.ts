/**
 * `mlruns log param|metric|tag|artifact <run> ...`: logging from shell scripts. A value that
 * starts with `-` goes after `--` (`mlruns log tag RUN key -- -x`); negative numbers need not.
 */
import { defineGroup } from "../command.ts";
import { defineCommand } from "../context.ts";
import { UsageError } from "../errors.ts";
import { printJson } from "../output.ts";
import { openRun, SCOPE_OPTION } from "../run-ref.ts";

/** The value argument, which may also come after `--`. */
function givenValue(args: { value?: string }): string {
  if (args.value === undefined) {
    throw new UsageError(
      "Give the value to log",
      "A value that starts with - goes after --, e.g. `mlruns log tag RUN key -- -x`",
    );
  }
  return String(args.value);
}

const RUN = {
  type: "string",
  demandOption: true,
  describe: 'run id (e.g. "$MLFLOW_RUN_ID"), id prefix, name, or latest',
} as const;

/** Python's `float()` spellings too: nan, inf, -inf, Infinity. */
export function parseMetricValue(text: string): number {
  const t = text.trim();
  if (/^[+-]?nan$/i.test(t)) return Number.NaN;
  if (/^[+-]?(inf|infinity)$/i.test(t)) return t.startsWith("-") ? -Infinity : Infinity;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t)) {
    throw new UsageError(
      `Metric value '${text}' is not a number`,
      "Use e.g. 0.93, 1e-5, nan or inf",
    );
  }
  return Number(t);
}

function integer(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n))
    throw new UsageError(`--${name} must be an integer, got '${String(value)}'`);
  return n;
}

const param = defineCommand<{ run: string; key: string; value?: string; experiment?: string[] }>({
  command: "param <run> <key> [value]",
  rest: "value",
  describe: "Log a param (params cannot change once logged)",
  builder: (y) =>
    y
      .positional("run", RUN)
      .option("experiment", SCOPE_OPTION)
      .positional("key", { type: "string", demandOption: true })
      .positional("value", { type: "string", describe: "the value (after -- if it starts with -)" })
      .example('$0 log param "$MLFLOW_RUN_ID" lr 0.01', ""),
  async handler(args) {
    const value = givenValue(args);
    const { store, runId } = await openRun(args);
    await store.logBatch(runId, { params: { [String(args.key)]: value } });
    if (args.json)
      printJson({
        runId,
        param: { key: String(args.key), value },
      });
  },
});

const metric = defineCommand<{
  run: string;
  key: string;
  value?: string;
  step?: number;
  timestamp?: number;
  experiment?: string[];
}>({
  command: "metric <run> <key> [value]",
  rest: "value",
  describe: "Log a metric point",
  builder: (y) =>
    y
      .positional("run", RUN)
      .option("experiment", SCOPE_OPTION)
      .positional("key", { type: "string", demandOption: true })
      .positional("value", { type: "string", describe: "the value (after -- if it starts with -)" })
      .option("step", { alias: "s", type: "string", describe: "integer step (default 0)" })
      .option("timestamp", {
        type: "string",
        describe: "milliseconds since the epoch (default now)",
      })
      .example('$0 log metric "$MLFLOW_RUN_ID" loss 0.25 --step 3', "")
      .example("$0 log metric latest delta -1e-3", "negative numbers as they are"),
  async handler(args) {
    const { store, runId } = await openRun(args);
    const point = {
      key: String(args.key),
      value: parseMetricValue(givenValue(args)),
      step: integer("step", args.step) ?? 0,
      timestamp: integer("timestamp", args.timestamp) ?? Date.now(),
    };
    await store.logBatch(runId, { metrics: [point] });
    if (args.json) printJson({ runId, metric: point });
  },
});

const tag = defineCommand<{ run: string; key: string; value?: string; experiment?: string[] }>({
  command: "tag <run> <key> [value]",
  rest: "value",
  describe: "Set a run tag",
  builder: (y) =>
    y
      .positional("run", RUN)
      .option("experiment", SCOPE_OPTION)
      .positional("key", { type: "string", demandOption: true })
      .positional("value", { type: "string", describe: "the value (after -- if it starts with -)" })
      .example('$0 log tag "$MLFLOW_RUN_ID" stage tuning', "")
      .example("$0 log tag latest note -- -x", "a value starting with -, after --"),
  async handler(args) {
    const value = givenValue(args);
    const { store, runId } = await openRun(args);
    await store.logBatch(runId, { tags: { [String(args.key)]: value } });
    if (args.json)
      printJson({
        runId,
        tag: { key: String(args.key), value },
      });
  },
});

const artifact = defineCommand<{
  run: string;
  path: string;
  artifactPath?: string;
  experiment?: string[];
}>({
  command: "artifact <run> <path>",
  describe: "Copy a file or folder into the run's artifacts",
  builder: (y) =>
    y
      .positional("run", RUN)
      .option("experiment", SCOPE_OPTION)
      .positional("path", { type: "string", demandOption: true, describe: "local file or folder" })
      .option("artifact-path", {
        alias: "a",
        type: "string",
        describe: "folder inside the artifacts",
      })
      .example('$0 log artifact "$MLFLOW_RUN_ID" model.pkl -a models', ""),
  async handler(args) {
    const { store, runId } = await openRun(args);
    await store.logArtifact(runId, String(args.path), args.artifactPath);
    if (args.json)
      printJson({
        runId,
        artifact: { path: String(args.path), artifactPath: args.artifactPath ?? null },
      });
  },
});

export const log = defineGroup({
  command: "log",
  describe: "Log params, metrics, tags and artifacts into a run (for shell scripts)",
  subcommands: [param, metric, tag, artifact],
});
