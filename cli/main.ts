#!/usr/bin/env node
/**
 * The `mlruns` CLI: a yargs root with the global options, the commands of cli/commands, and the
 * one error boundary: exit 0 ok, 1 error, 2 usage. Errors are one line with a hint (a filter
 * error adds the filter and a caret), or a JSON object on stderr with --json.
 */
import { readFileSync } from "node:fs";
import { isMlflowError, redactCredentials, resolveConfig } from "mlruns";
import yargs, { type FallbackCompletionFunction } from "yargs";
import { hideBin } from "yargs/helpers";
import { type PreparedArgv, prepareArgv, unescapeText, unescapeWord } from "./argv.ts";
import { commandNames, handlerStarted, walk } from "./command.ts";
import { commands } from "./commands/index.ts";
import { completeFromTree } from "./completion.ts";
import { flushStores } from "./context.ts";
import { EXIT, UsageError } from "./errors.ts";
import { e, selectJsonFields, stopOutputOnBrokenPipe } from "./output.ts";

const raw = hideBin(process.argv);
const prepared = prepareArgv(raw);
const wantsJson = raw.some((a) => a === "--json" || a.startsWith("--json="));
const verbose = raw.includes("--verbose");

/** mlruns's own version, from its package.json (not the one of the project it runs in). */
const VERSION = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  }
).version;

function report(code: string, message: string, rawHint: string | undefined, stack?: string): void {
  // Whatever failed, and however it was worded, no password of a URL is printed.
  const text = redactCredentials(unescapeText(message));
  const hint = rawHint === undefined ? undefined : redactCredentials(rawHint);
  if (wantsJson) {
    const error = { code, message: text, hint: hint ?? null };
    process.stderr.write(`${JSON.stringify({ error })}\n`);
    return;
  }
  // The first line carries the code; more lines (a filter and its caret, candidates) follow
  // indented, as they are, so a caret stays under its token.
  const [first, ...more] = text.split("\n");
  const lines = [`${e.red("mlruns:")} ${e.red("error:")} ${first} [${code}]`];
  lines.push(...more.map((line) => `  ${line}`));
  if (hint) {
    if (more.length === 0) lines[0] += e.dim(` (hint: ${hint})`);
    else lines.push(e.dim(`  hint: ${hint}`));
  }
  process.stderr.write(`${lines.join("\n")}\n`);
  if (verbose && stack) process.stderr.write(`${redactCredentials(stack)}\n`);
}

/** The command path typed so far (`runs list`), for "see `mlruns runs list --help`". */
function typedCommand(argv: readonly string[]): string {
  const words = argv.filter((a) => !a.startsWith("-")).map(unescapeWord);
  const { path } = walk(commands, words);
  return path
    .map((c) => [c.command ?? ""].flat()[0]?.split(" ")[0])
    .filter(Boolean)
    .join(" ");
}

function fail(error: unknown, argv: readonly string[]): number {
  const command = typedCommand(argv);
  const help = `see \`mlruns ${command}${command ? " " : ""}--help\``;
  if (error instanceof UsageError) {
    report("USAGE", error.message, error.hint ?? help);
    return EXIT.usage;
  }
  if (error instanceof Error && error.name === "YError") {
    report("USAGE", error.message, help);
    return EXIT.usage;
  }
  if (isMlflowError(error)) {
    report(error.code, error.message, error.hint, error.stack);
    return EXIT.error;
  }
  const err = error as NodeJS.ErrnoException;
  if (err instanceof Error && typeof err.code === "string" && err.syscall !== undefined) {
    report(err.code, err.message, "check the path and its permissions", err.stack);
    return EXIT.error;
  }
  const message = err instanceof Error ? err.message : String(error);
  report(
    "INTERNAL_ERROR",
    message,
    "rerun with --verbose and report it if it persists",
    err?.stack,
  );
  return EXIT.error;
}

/** A yargs usage message, with the word it is about when yargs only suggests another. */
function usageError(message: string, argv: readonly string[]): UsageError {
  if (!message.startsWith("Did you mean")) return new UsageError(message);
  const words = argv.filter((a) => !a.startsWith("-")).map(unescapeWord);
  const { path, unknown } = walk(commands, words);
  const before = ["mlruns", ...path.map((c) => commandNames(c)[0])].join(" ");
  const suggested = /^Did you mean (.+)\?$/.exec(message)?.[1];
  return new UsageError(
    `Unknown command '${before} ${unknown ?? words[0]}'` +
      (suggested ? `. Did you mean '${before} ${suggested}'?` : ""),
  );
}

/** MLFLOW_* variables are read by every command: a bad one is a usage error, named. */
function checkEnvironment(): void {
  try {
    resolveConfig();
  } catch (error) {
    if (!isMlflowError(error)) throw error;
    throw new UsageError(error.message, error.hint);
  }
}

const EPILOGUE = `Runs are named by id, unique id prefix, name, or latest.
Tracking URI: --tracking-uri, else MLFLOW_TRACKING_URI, else ./mlruns (a path, file: URI, or http(s):// server).
Exit codes: 0 ok, 1 error, 2 usage. Colours: off when not a terminal or NO_COLOR is set.
Shell completion: mlruns completion --help.`;

/** yargs's completion hook: candidates from the tree where they fit, else yargs's own. */
const complete: FallbackCompletionFunction = (_current, _argv, defaults, done) => {
  const words = raw.slice(raw.indexOf("--get-yargs-completions") + 1);
  completeFromTree(commands, words).then(
    (found) => (found === undefined ? defaults() : done(found)),
    () => done([]),
  );
};

/**
 * yargs formats the whole help of a command each time one runs (~15% of a short command), kept
 * for a handler that would print it: ours never do (`.fail` throws, `--help` formats its own).
 * An internal of yargs, hence the guard: if it is gone, help is only formatted as before.
 */
function skipHelpCache<T extends object>(parsed: T): T {
  const internal = parsed as { getInternalMethods?: () => { getUsageInstance?: () => unknown } };
  const usage = internal.getInternalMethods?.().getUsageInstance?.() as
    | { cacheHelpMessage?: () => void }
    | undefined;
  if (typeof usage?.cacheHelpMessage === "function") usage.cacheHelpMessage = () => {};
  return parsed;
}

function parser(argv: readonly string[]) {
  return skipHelpCache(
    yargs(argv as string[])
      .scriptName("mlruns")
      .usage("$0 <command> [options]\n\nMLflow-compatible experiment tracking from the shell.")
      .parserConfiguration({ "populate--": true })
      .option("tracking-uri", {
        alias: "u",
        type: "string",
        global: true,
        describe: "where runs live (default: MLFLOW_TRACKING_URI, else ./mlruns)",
      })
      .option("json", {
        type: "boolean",
        global: true,
        describe: "machine-readable output; --json a,b keeps those fields",
      })
      .option("verbose", { type: "boolean", global: true, describe: "stack traces on errors" })
      .middleware(checkEnvironment)
      .command(commands)
      // Only the protocol (`--get-yargs-completions`); `mlruns completion` prints the scripts.
      .completion("__complete", false, complete)
      .demandCommand(1, "Name a command (mlruns --help lists them)")
      .recommendCommands()
      .strict()
      .fail((message, error) => {
        // Validation failures come as a message; errors thrown by handlers as `error`.
        if (error) throw error;
        throw usageError(message, argv);
      })
      .help()
      .alias("help", "h")
      .version(VERSION)
      .epilogue(EPILOGUE)
      .wrap(Math.min(110, process.stdout.columns ?? 100)),
  );
}

/**
 * Parses and runs. `--json word` may be a field list or an argument: read as a field list
 * first, and again as an argument if that leaves the command short of one (before it ran).
 */
async function run(attempt: PreparedArgv): Promise<void> {
  selectJsonFields(attempt.jsonFields);
  try {
    await parser(attempt.argv).parseAsync();
  } catch (error) {
    const retry = attempt.alternative;
    if (retry !== undefined && !handlerStarted() && !isMlflowError(error)) return run(retry);
    throw error;
  }
}

async function main(): Promise<void> {
  stopOutputOnBrokenPipe();
  try {
    await run(prepared);
    await flushStores();
  } catch (error) {
    process.exitCode = fail(error, prepared.argv);
  }
}

await main();
