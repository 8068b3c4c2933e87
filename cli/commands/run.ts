/**
 * `mlruns run -- <command...>`: runs a command inside a new run. The child gets
 * MLFLOW_TRACKING_URI (absolute), MLFLOW_EXPERIMENT_ID and MLFLOW_RUN_ID, so the real `mlflow`
 * Python client (or this library) logs into that run; for a file store it also gets
 * MLFLOW_ALLOW_FILE_STORE=true, which MLflow 3.13+ needs to open a file store. Its stdout and
 * stderr pass through to the terminal and are kept as the artifacts logs/stdout.txt and
 * logs/stderr.txt. The run ends FINISHED (exit 0), FAILED (other codes) or KILLED (signal), and
 * `mlruns run` exits as the child did. Signals are forwarded to the child.
 */
import { spawn } from "node:child_process";
import { createWriteStream, promises as fs, type WriteStream } from "node:fs";
import { constants, tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import {
  isMlflowError,
  MlflowError,
  type RunStatus,
  SYSTEM_TAGS,
  type TrackingStore,
} from "mlruns";
import { defineCommand, findExperiment, keyValues, list, openContext } from "../context.ts";
import { UsageError } from "../errors.ts";
import { e, note } from "../output.ts";
import { sourceName } from "../source-name.ts";

const FORWARDED: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"];

/** The experiment named by id or name; created when no experiment has that name. */
async function experimentFor(store: TrackingStore, ref: string): Promise<string> {
  if (/^\d+$/.test(ref)) {
    try {
      return (await store.getExperiment(ref)).experimentId;
    } catch (error) {
      if (!isMlflowError(error, "RESOURCE_DOES_NOT_EXIST")) throw error;
    }
  }
  const found = await store.getExperimentByName(ref);
  if (found?.lifecycleStage === "deleted") {
    throw new MlflowError("INVALID_PARAMETER_VALUE", `Experiment '${ref}' is deleted`, {
      hint: `Restore it with \`mlruns experiments restore ${found.experimentId}\`, or choose another name`,
    });
  }
  return found ? found.experimentId : store.createExperiment(ref);
}

function user(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? "unknown";
  }
}

function tee(from: Readable | null, to: Writable, file: WriteStream | undefined): void {
  from?.on("data", (chunk: Buffer) => {
    to.write(chunk);
    file?.write(chunk);
  });
}

const closeStream = (stream: WriteStream | undefined) =>
  new Promise<void>((resolve) => (stream ? stream.end(resolve) : resolve()));

export const run = defineCommand<{
  command?: string[];
  name?: string;
  experiment?: string;
  tag?: string[];
  capture: boolean;
}>({
  command: "run [command..]",
  describe: "Run a command inside a new run (MLFLOW_RUN_ID etc. set for it)",
  rest: "command",
  builder: (y) =>
    y
      .positional("command", { type: "string", array: true, describe: "the command, after --" })
      .option("name", { alias: "n", type: "string", describe: "run name (default: generated)" })
      .option("experiment", {
        alias: "e",
        type: "string",
        describe: "experiment name or id; created when missing (default: MLFLOW_EXPERIMENT_* or 0)",
      })
      .option("tag", {
        alias: "t",
        type: "string",
        array: true,
        describe: "key=value (repeatable)",
      })
      .option("capture", {
        type: "boolean",
        default: true,
        describe: "keep stdout/stderr as artifacts logs/stdout.txt, logs/stderr.txt (--no-capture)",
      })
      .example(
        "$0 run -e iris -n baseline -- python train.py --lr 0.1",
        "a Python script using mlflow",
      )
      .example("$0 run -- node train.js", "a Node script using mlruns")
      .example("$0 run -- sh -c 'mlruns log metric \"$MLFLOW_RUN_ID\" acc 0.9'", "a shell script"),
  async handler(args) {
    const command = list(args.command);
    const [program, ...programArgs] = command;
    if (program === undefined) {
      throw new UsageError(
        "Give the command to run after --",
        "e.g. `mlruns run -- python train.py`",
      );
    }
    const { store, config, root } = await openContext(args, { create: true });
    if (store.uri.startsWith("memory:")) {
      throw new UsageError(
        "A memory store cannot be shared with another process",
        "Use a tree (a path or file: URI) or a server URI",
      );
    }
    const experimentId =
      args.experiment !== undefined
        ? await experimentFor(store, args.experiment)
        : config.experimentId !== undefined
          ? (await findExperiment(store, config.experimentId)).experimentId
          : config.experimentName !== undefined
            ? await experimentFor(store, config.experimentName)
            : "0";
    const tags: Record<string, string> = {
      [SYSTEM_TAGS.user]: user(),
      [SYSTEM_TAGS.sourceName]: sourceName(command),
      [SYSTEM_TAGS.sourceType]: "LOCAL",
      "mlruns.command": command.join(" "),
      ...keyValues(list(args.tag), "tag"),
    };
    // Inside another `mlruns run`, this run is a child of that one.
    if (process.env.MLFLOW_RUN_ID) tags[SYSTEM_TAGS.parentRunId] = process.env.MLFLOW_RUN_ID;
    const created = await store.createRun({
      experimentId,
      ...(args.name === undefined ? {} : { runName: args.name }),
      tags,
    });
    const runId = created.info.runId;
    note(e.dim(`mlruns: run ${runId} (${created.info.runName}) in experiment ${experimentId}`));

    const env: NodeJS.ProcessEnv = {
      ...process.env,
      MLFLOW_TRACKING_URI: store.uri,
      MLFLOW_EXPERIMENT_ID: experimentId,
      MLFLOW_RUN_ID: runId,
    };
    delete env.MLFLOW_EXPERIMENT_NAME;
    if (root !== undefined) env.MLFLOW_ALLOW_FILE_STORE = "true";
    env.PYTHONUNBUFFERED ??= "1";

    const logDir = args.capture ? await fs.mkdtemp(join(tmpdir(), "mlruns-run-")) : undefined;
    const outFile = logDir ? createWriteStream(join(logDir, "stdout.txt")) : undefined;
    const errFile = logDir ? createWriteStream(join(logDir, "stderr.txt")) : undefined;
    const child = spawn(program, programArgs, {
      env,
      stdio: ["inherit", args.capture ? "pipe" : "inherit", args.capture ? "pipe" : "inherit"],
    });
    tee(child.stdout, process.stdout, outFile);
    tee(child.stderr, process.stderr, errFile);
    const forward = (signal: NodeJS.Signals) => {
      child.kill(signal);
    };
    for (const signal of FORWARDED) process.on(signal, forward);

    const outcome = await new Promise<{
      code: number | null;
      signal: NodeJS.Signals | null;
      error?: Error;
    }>((resolve) => {
      child.on("error", (error) => resolve({ code: null, signal: null, error }));
      child.on("close", (code, signal) => resolve({ code, signal }));
    });
    for (const signal of FORWARDED) process.off(signal, forward);
    await Promise.all([closeStream(outFile), closeStream(errFile)]);

    let status: RunStatus;
    let exitCode: number;
    if (outcome.error) {
      const code = (outcome.error as NodeJS.ErrnoException).code;
      exitCode = code === "ENOENT" ? 127 : 126;
      status = "FAILED";
      if (logDir) await fs.appendFile(join(logDir, "stderr.txt"), `${outcome.error.message}\n`);
      note(
        e.red(
          `mlruns: cannot run ${program}: ${code === "ENOENT" ? "command not found" : outcome.error.message}`,
        ),
      );
    } else if (outcome.signal) {
      status = "KILLED";
      exitCode = 128 + (constants.signals[outcome.signal] ?? 0);
    } else {
      exitCode = outcome.code ?? 1;
      status = exitCode === 0 ? "FINISHED" : "FAILED";
    }

    try {
      if (logDir) {
        await store.logArtifact(runId, join(logDir, "stdout.txt"), "logs");
        await store.logArtifact(runId, join(logDir, "stderr.txt"), "logs");
      }
      const endTags: Record<string, string> = { "mlruns.exit_code": String(exitCode) };
      if (outcome.signal) endTags["mlruns.signal"] = outcome.signal;
      await store.logBatch(runId, { tags: endTags });
      await store.updateRun(runId, { status, endTime: Date.now() });
    } finally {
      if (logDir) await fs.rm(logDir, { recursive: true, force: true });
    }
    note(
      e.dim(
        `mlruns: run ${runId} ended ${status}${outcome.signal ? ` (${outcome.signal})` : ` (exit ${exitCode})`}`,
      ),
    );
    process.exitCode = exitCode;
  },
});
