#!/usr/bin/env node
/**
 * The `mlruns` CLI: a yargs root with the global options, the commands of cli/commands, shell
 * completion, and the one error boundary: exit 0 ok, 1 error, 2 usage. Errors are one line with
 * a hint (or a JSON object on stderr with --json).
 */
import { isMlflowError, redactCredentials } from "mlruns";
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { commands } from "./commands/index.ts";
import { flushStores, type GlobalArgs } from "./context.ts";
import { EXIT, UsageError } from "./errors.ts";
import { e } from "./output.ts";

const argv = hideBin(process.argv);
const wantsJson = argv.includes("--json");
const verbose = argv.includes("--verbose");

function report(code: string, raw: string, rawHint: string | undefined, stack?: string): void {
  // Whatever failed, and however it was worded, no password of a URL is printed.
  const message = redactCredentials(raw);
  const hint = rawHint === undefined ? undefined : redactCredentials(rawHint);
  if (wantsJson) {
    process.stderr.write(`${JSON.stringify({ error: { code, message, hint: hint ?? null } })}\n`);
    return;
  }
  const tail = hint ? e.dim(` (hint: ${hint})`) : "";
  process.stderr.write(
    `${e.red("mlruns: error:")} ${message.replace(/\s*\n\s*/g, " ")} [${code}]${tail}\n`,
  );
  if (verbose && stack) process.stderr.write(`${redactCredentials(stack)}\n`);
}

function fail(error: unknown, command: string): number {
  if (error instanceof UsageError) {
    report(
      "USAGE",
      error.message,
      error.hint ?? `see \`mlruns ${command}${command ? " " : ""}--help\``,
    );
    return EXIT.usage;
  }
  if (error instanceof Error && error.name === "YError") {
    report("USAGE", error.message, `see \`mlruns ${command}${command ? " " : ""}--help\``);
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

const EPILOGUE = `Tracking URI: --tracking-uri, else MLFLOW_TRACKING_URI, else ./mlruns (a path, file: URI, or http(s):// server).
Exit codes: 0 ok, 1 error, 2 usage. Colours: off when not a terminal or NO_COLOR is set.
Shell completion: mlruns completion >> ~/.bashrc (or ~/.zshrc).`;

async function main(): Promise<void> {
  const parser = yargs(argv)
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
      describe: "machine-readable output (stable shape)",
    })
    .option("verbose", { type: "boolean", global: true, describe: "stack traces on errors" })
    .command(commands)
    .completion("completion", "Print a bash/zsh completion script")
    .demandCommand(1, "Name a command (mlruns --help lists them)")
    .recommendCommands()
    .strict()
    .fail((message, error) => {
      // Validation failures come as a message; errors thrown by handlers as `error`.
      if (error) throw error;
      const first = argv.find((a) => !a.startsWith("-"));
      throw new UsageError(
        message.startsWith("Did you mean") ? `Unknown command '${first}'. ${message}` : message,
      );
    })
    .help()
    .alias("help", "h")
    .version()
    .epilogue(EPILOGUE)
    .wrap(Math.min(110, process.stdout.columns ?? 100));
  try {
    await parser.parseAsync();
    await flushStores();
  } catch (error) {
    const names = new Set(
      commands.flatMap((m) => [m.command].flat()).map((n) => String(n).split(" ")[0]),
    );
    const first = argv.find((a) => !a.startsWith("-"));
    const command = first !== undefined && names.has(first) ? first : "";
    process.exitCode = fail(error, command);
  }
}

export type { GlobalArgs };
await main();
