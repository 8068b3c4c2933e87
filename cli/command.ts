/**
 * How commands are declared: a leaf (`defineCommand`) or a group of subcommands (`defineGroup`).
 * Groups keep their subcommands as data, so the CLI can walk the tree: to name the word it did
 * not know, and to complete positionals (run ids, experiment names) in the shell.
 *
 * A handler that needs a heavy part of the library (the file store, bundles, sync, the server,
 * verify, gc) takes it with `await import("mlruns")` when it runs, so that the start of every
 * command (its definitions, yargs) stays small: scripts/build-cli.ts splits the bundle there.
 */
import type { Argv, CommandModule } from "yargs";
import { unescapeArgs } from "./argv.ts";
import { UsageError } from "./errors.ts";

export interface GlobalArgs {
  trackingUri?: string;
  json?: boolean;
  verbose?: boolean;
}

/** A yargs command module, and for a group its subcommands. */
export type Command = CommandModule<GlobalArgs, unknown> & { subcommands?: readonly Command[] };

let started = false;

/** Whether a command's handler began (after that, a failure is the command's, not usage). */
export function handlerStarted(): boolean {
  return started;
}

/**
 * The words after `--` given to the positional `rest` names (appended when it is variadic, else
 * taking its place when it was left out): `mlruns log tag RUN key -- -x`.
 */
function takeRest(args: Record<string, unknown>, rest: string | undefined, spec: Command) {
  const words = ((args["--"] as unknown[] | undefined) ?? []).map(String);
  delete args["--"];
  if (words.length === 0) return;
  const variadic = rest !== undefined && positionalNames(spec).includes(`${rest}..`);
  if (rest !== undefined && variadic) {
    args[rest] = [...((args[rest] as unknown[] | undefined) ?? []), ...words];
  } else if (rest !== undefined && args[rest] === undefined && words.length === 1) {
    args[rest] = words[0];
  } else {
    throw new UsageError(`Unexpected argument(s) after --: ${words.join(" ")}`);
  }
}

/** A command whose handler sees its own typed arguments. */
export function defineCommand<A>(command: {
  command: string | string[];
  describe: string;
  builder: (yargs: Argv<GlobalArgs>) => Argv<unknown>;
  handler: (args: A & GlobalArgs) => Promise<void>;
  /** The positional that words after `--` go to. */
  rest?: string;
}): Command {
  const { rest, ...module } = command;
  const spec: Command = module as unknown as Command;
  return {
    ...module,
    handler: (parsed: Record<string, unknown>) => {
      started = true;
      const args = unescapeArgs(parsed);
      takeRest(args, rest, spec);
      return command.handler(args as A & GlobalArgs);
    },
  } as unknown as Command;
}

/** A command made of subcommands (`mlruns runs list`, `mlruns runs show`, ...). */
export function defineGroup(group: {
  command: string | string[];
  describe: string;
  subcommands: readonly Command[];
}): Command {
  const names = group.subcommands.map((c) => commandNames(c)[0]);
  const last = names.length > 1 ? ` or ${names.at(-1)}` : "";
  return {
    command: group.command,
    describe: group.describe,
    subcommands: group.subcommands,
    builder: (y: Argv<GlobalArgs>) =>
      group.subcommands
        .reduce((inner, sub) => inner.command(sub), y)
        .demandCommand(1, `Name a subcommand: ${names.slice(0, -1).join(", ") || names[0]}${last}`),
    handler: async () => {},
  } as Command;
}

/** The words that call a command: its name, then its aliases. */
export function commandNames(command: Command): string[] {
  const specs = [command.command ?? []].flat();
  const first = specs[0]?.split(" ")[0];
  const aliases = [...specs.slice(1), ...[command.aliases ?? []].flat()];
  return [first, ...aliases].filter((n): n is string => n !== undefined && n !== "");
}

/** The positional names of a leaf command, in order (`show <run>` → ["run"]; `..` kept). */
export function positionalNames(command: Command): string[] {
  const spec = [command.command ?? []].flat()[0] ?? "";
  return [...spec.matchAll(/[<[]([\w-]+(?:\.\.)?)[>\]]/g)].map((m) => m[1] as string);
}

/**
 * Walks `words` (the positional words typed) down the tree. `path` is the commands matched;
 * `unknown` the first word that names no command where one was expected; `rest` the words
 * after the leaf (its positionals).
 */
export function walk(
  commands: readonly Command[],
  words: readonly string[],
): { path: Command[]; unknown?: string; rest: string[] } {
  const path: Command[] = [];
  let level: readonly Command[] | undefined = commands;
  let i = 0;
  for (; level !== undefined && i < words.length; i++) {
    const word = words[i] as string;
    const found: Command | undefined = level.find((c) => commandNames(c).includes(word));
    if (found === undefined) return { path, unknown: word, rest: words.slice(i + 1) };
    path.push(found);
    level = found.subcommands;
  }
  return { path, rest: words.slice(i) };
}
