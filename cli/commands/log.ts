/** `mlruns log param|metric|tag|artifact <run> ...`: logging from shell scripts. */
import { defineCommand, openContext } from "../context.ts";
import { UsageError } from "../errors.ts";
import { printJson } from "../output.ts";

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

const param = defineCommand<{ run: string; key: string; value: string }>({
  command: "param <run> <key> <value>",
  describe: "Log a param (params cannot change once logged)",
  builder: (y) =>
    y
      .positional("run", { type: "string", demandOption: true })
      .positional("key", { type: "string", demandOption: true })
      .positional("value", { type: "string", demandOption: true })
      .example('$0 log param "$MLFLOW_RUN_ID" lr 0.01', ""),
  async handler(args) {
    const { store } = await openContext(args);
    await store.logBatch(String(args.run), { params: { [String(args.key)]: String(args.value) } });
    if (args.json)
      printJson({
        runId: String(args.run),
        param: { key: String(args.key), value: String(args.value) },
      });
  },
});

const metric = defineCommand<{
  run: string;
  key: string;
  value: string;
  step?: number;
  timestamp?: number;
}>({
  command: "metric <run> <key> <value>",
  describe: "Log a metric point",
  builder: (y) =>
    y
      .positional("run", { type: "string", demandOption: true })
      .positional("key", { type: "string", demandOption: true })
      .positional("value", { type: "string", demandOption: true })
      .option("step", { alias: "s", type: "string", describe: "integer step (default 0)" })
      .option("timestamp", {
        type: "string",
        describe: "milliseconds since the epoch (default now)",
      })
      .example('$0 log metric "$MLFLOW_RUN_ID" loss 0.25 --step 3', ""),
  async handler(args) {
    const { store } = await openContext(args);
    const point = {
      key: String(args.key),
      value: parseMetricValue(String(args.value)),
      step: integer("step", args.step) ?? 0,
      timestamp: integer("timestamp", args.timestamp) ?? Date.now(),
    };
    await store.logBatch(String(args.run), { metrics: [point] });
    if (args.json) printJson({ runId: String(args.run), metric: point });
  },
});

const tag = defineCommand<{ run: string; key: string; value: string }>({
  command: "tag <run> <key> <value>",
  describe: "Set a run tag",
  builder: (y) =>
    y
      .positional("run", { type: "string", demandOption: true })
      .positional("key", { type: "string", demandOption: true })
      .positional("value", { type: "string", demandOption: true })
      .example('$0 log tag "$MLFLOW_RUN_ID" stage tuning', ""),
  async handler(args) {
    const { store } = await openContext(args);
    await store.logBatch(String(args.run), { tags: { [String(args.key)]: String(args.value) } });
    if (args.json)
      printJson({
        runId: String(args.run),
        tag: { key: String(args.key), value: String(args.value) },
      });
  },
});

const artifact = defineCommand<{ run: string; path: string; artifactPath?: string }>({
  command: "artifact <run> <path>",
  describe: "Copy a file or folder into the run's artifacts",
  builder: (y) =>
    y
      .positional("run", { type: "string", demandOption: true })
      .positional("path", { type: "string", demandOption: true, describe: "local file or folder" })
      .option("artifact-path", {
        alias: "a",
        type: "string",
        describe: "folder inside the artifacts",
      })
      .example('$0 log artifact "$MLFLOW_RUN_ID" model.pkl -a models', ""),
  async handler(args) {
    const { store } = await openContext(args);
    await store.logArtifact(String(args.run), String(args.path), args.artifactPath);
    if (args.json)
      printJson({
        runId: String(args.run),
        artifact: { path: String(args.path), artifactPath: args.artifactPath ?? null },
      });
  },
});

export const log = defineCommand<object>({
  command: "log",
  describe: "Log params, metrics, tags and artifacts into a run (for shell scripts)",
  builder: (y) =>
    y
      .command(param)
      .command(metric)
      .command(tag)
      .command(artifact)
      .demandCommand(1, "Name what to log: param, metric, tag or artifact"),
  async handler() {},
});
