/**
 * Completion candidates from the tree: run ids and names where a command takes a run (and after
 * -r/--run), experiment names where it takes an experiment (and after -e/--experiment). yargs
 * offers the commands and options. Candidates carry a description for zsh and fish.
 */
import { basename } from "node:path";
import type { Experiment, TrackingStore } from "mlruns";
import { type Command, commandNames, positionalNames, walk } from "./command.ts";
import { openContext } from "./context.ts";

export const SHELLS = ["bash", "zsh", "fish"] as const;
export type Shell = (typeof SHELLS)[number];

/** The shell the candidates are formatted for (the scripts set SHELL for the call). */
export function currentShell(): Shell {
  const name = basename(process.env.SHELL ?? "");
  return (SHELLS as readonly string[]).includes(name) ? (name as Shell) : "bash";
}

/** A candidate with a description, as the shell shows it. */
function candidate(word: string, description: string): string {
  const shell = currentShell();
  if (shell === "fish") return `${word}\t${description}`;
  if (shell === "zsh") return `${word.replaceAll(":", "\\:")}:${description}`;
  return word;
}

/** How many runs are offered (the newest first). */
const RUNS_OFFERED = 200;

/** What the word being typed is: a run, an experiment, or something yargs knows about. */
function wanted(
  commands: readonly Command[],
  words: readonly string[],
): "run" | "experiment" | undefined {
  // Positional words after the command; an option's value is not one of them.
  const positional = words.filter((w, i) => !w.startsWith("-") && !words[i - 1]?.startsWith("-"));
  const { path, rest, unknown } = walk(commands, positional);
  const previous = words.at(-1);
  if (previous === "-e" || previous === "--experiment") return "experiment";
  const leaf: Command | undefined = path.at(-1);
  if (leaf === undefined || unknown !== undefined || leaf.subcommands !== undefined) return;
  if (previous === "--runs" || (previous === "-r" && commandNames(leaf).includes("history"))) {
    return "run";
  }
  if (previous?.startsWith("-")) return undefined;
  const names = positionalNames(leaf);
  const last = names.at(-1);
  const name = names[rest.length] ?? (last?.endsWith("..") ? last : undefined);
  const base = name?.replace(/\.\.$/, "");
  if (base === "run" || base === "runs") return "run";
  if (base === "experiment") return "experiment";
  return undefined;
}

async function runCandidates(store: TrackingStore, typed: string): Promise<string[]> {
  const experiments = await store.listExperiments("ACTIVE_ONLY");
  const names = new Map(experiments.map((e: Experiment) => [e.experimentId, e.name] as const));
  const { runs } = await store.searchRuns({
    experimentIds: experiments.map((e) => e.experimentId),
    orderBy: ["attributes.start_time DESC"],
    maxResults: RUNS_OFFERED,
  });
  const out = new Set<string>();
  for (const { info } of runs) {
    const where = names.get(info.experimentId) ?? info.experimentId;
    if (info.runId.startsWith(typed)) out.add(candidate(info.runId, `${info.runName} (${where})`));
    if (info.runName.startsWith(typed)) out.add(candidate(info.runName, `run in ${where}`));
  }
  if ("latest".startsWith(typed)) out.add(candidate("latest", "the newest run"));
  return [...out];
}

async function experimentCandidates(store: TrackingStore, typed: string): Promise<string[]> {
  return (await store.listExperiments("ACTIVE_ONLY"))
    .filter((e) => e.name.startsWith(typed))
    .map((e) => candidate(e.name, `experiment ${e.experimentId}`));
}

/** The value of -u/--tracking-uri among the words, for the tree to read candidates from. */
function trackingUriOf(words: readonly string[]): string | undefined {
  for (const [i, word] of words.entries()) {
    if (word === "-u" || word === "--tracking-uri") return words[i + 1];
    if (word.startsWith("--tracking-uri=")) return word.slice("--tracking-uri=".length);
  }
  return undefined;
}

/**
 * Candidates from the tree for the last of `words` (the words typed, the program first), or
 * undefined to leave it to yargs.
 */
export async function completeFromTree(
  commands: readonly Command[],
  words: readonly string[],
): Promise<string[] | undefined> {
  const typed = words.at(-1) ?? "";
  const before = words.slice(1, -1);
  const kind = typed.startsWith("-") ? undefined : wanted(commands, before);
  if (kind === undefined) return undefined;
  const uri = trackingUriOf(before);
  const { store } = await openContext(uri === undefined ? {} : { trackingUri: uri });
  return kind === "run" ? runCandidates(store, typed) : experimentCandidates(store, typed);
}
