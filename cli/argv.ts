/**
 * The command line before yargs sees it. Negative numbers (`-1e-3`, `-inf`), which yargs would
 * read as options, are marked with a leading NUL, which no real argument can hold, and unmarked
 * before a handler runs; words after `--` are left to the command (command.ts). `--json` may
 * carry a field list (`--json=a,b` or `--json a,b`), taken out here.
 */

const MARK = "\u0000";

/** `-0.5`, `-1e-3`, `-.5`, `-inf`, `-Infinity`, `-nan`: Python's float() spellings, negative. */
const NEGATIVE_NUMBER = /^-(?:(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?|inf|infinity|nan)$/i;
/** The negative numbers yargs itself reads as values (so `--limit -1` stays a number). */
const YARGS_NEGATIVE = /^-(\d+(\.\d+)?|\.\d+)$/;

/** What can follow `--json` as a field list: `info.runId,metrics`. */
const FIELD_LIST = /^[A-Za-z_][\w-]*(?:\.[^,.\s]+)*(?:,[A-Za-z_][\w-]*(?:\.[^,.\s]+)*)*$/;

export interface PreparedArgv {
  /** The words for yargs, values marked. */
  argv: string[];
  /** The fields of `--json=<fields>`; or of `--json <fields>` when `fieldsWord` is taken. */
  jsonFields: string[] | undefined;
  /**
   * The same command line with the word after `--json` kept as an argument, when that word
   * could be either (`runs show --json baseline`); undefined when there is no doubt.
   */
  alternative: PreparedArgv | undefined;
}

const splitFields = (text: string) =>
  text
    .split(",")
    .map((f) => f.trim())
    .filter((f) => f !== "");

export function prepareArgv(raw: readonly string[]): PreparedArgv {
  const argv: string[] = [];
  let jsonFields: string[] | undefined;
  let doubtful: { index: number; word: string } | undefined;
  for (let i = 0; i < raw.length; i++) {
    const word = raw[i] as string;
    if (word === "--") {
      argv.push(...raw.slice(i));
      break;
    }
    if (word.startsWith("--json=")) {
      argv.push("--json");
      jsonFields = splitFields(word.slice("--json=".length));
      continue;
    }
    if (word === "--json" && FIELD_LIST.test(raw[i + 1] ?? "")) {
      argv.push("--json");
      doubtful = { index: argv.length, word: raw[i + 1] as string };
      jsonFields = splitFields(doubtful.word);
      i++;
      continue;
    }
    const misread = NEGATIVE_NUMBER.test(word) && !YARGS_NEGATIVE.test(word);
    argv.push(misread ? MARK + word : word);
  }
  const alternative =
    doubtful === undefined
      ? undefined
      : {
          argv: [...argv.slice(0, doubtful.index), doubtful.word, ...argv.slice(doubtful.index)],
          jsonFields: undefined,
          alternative: undefined,
        };
  return { argv, jsonFields, alternative };
}

/** A word as typed (without its mark). */
export function unescapeWord(word: string): string {
  return word.startsWith(MARK) ? word.slice(MARK.length) : word;
}

/** Text (an error message) with every mark removed. */
export function unescapeText(text: string): string {
  return text.replaceAll(MARK, "");
}

/** Parsed arguments with the marks removed from every string value. */
export function unescapeArgs<T extends object>(args: T): T {
  const clean = (v: unknown): unknown =>
    typeof v === "string" ? unescapeWord(v) : Array.isArray(v) ? v.map(clean) : v;
  return Object.fromEntries(Object.entries(args).map(([k, v]) => [k, clean(v)])) as T;
}
