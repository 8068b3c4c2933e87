/**
 * Run names as MLflow gives them: generated `adjective-noun-N` names, and the rules that keep
 * `RunInfo.runName` and the `mlflow.runName` tag in step. Shared by every store.
 */
import { SYSTEM_TAGS } from "./entities.ts";
import { invalid } from "./errors.ts";
import { validateRunName } from "./validation.ts";

// Short words, so that `adjective-noun-1000` stays within MLflow's 20 characters.
const ADJECTIVES = [
  "able",
  "amber",
  "bold",
  "brave",
  "bright",
  "calm",
  "clever",
  "cosmic",
  "crisp",
  "curious",
  "dapper",
  "eager",
  "fancy",
  "fierce",
  "gentle",
  "glad",
  "golden",
  "grand",
  "happy",
  "honest",
  "humble",
  "jolly",
  "keen",
  "kind",
  "lively",
  "lucky",
  "merry",
  "mighty",
  "nimble",
  "noble",
  "polite",
  "proud",
  "quick",
  "quiet",
  "rare",
  "rustic",
  "shy",
  "silent",
  "sleek",
  "smooth",
  "snappy",
  "sunny",
  "swift",
  "tidy",
  "vivid",
  "warm",
  "wise",
  "witty",
  "young",
  "zesty",
] as const;

const NOUNS = [
  "ant",
  "badger",
  "bat",
  "bear",
  "bee",
  "bison",
  "boar",
  "carp",
  "cat",
  "crab",
  "crane",
  "crow",
  "deer",
  "dove",
  "duck",
  "eagle",
  "eel",
  "elk",
  "finch",
  "fox",
  "frog",
  "goat",
  "goose",
  "hare",
  "hawk",
  "heron",
  "ibis",
  "koala",
  "lark",
  "lemur",
  "lion",
  "lynx",
  "mole",
  "moose",
  "moth",
  "newt",
  "otter",
  "owl",
  "panda",
  "pike",
  "quail",
  "raven",
  "seal",
  "shrew",
  "snail",
  "swan",
  "toad",
  "trout",
  "wasp",
  "whale",
  "wolf",
  "wren",
  "yak",
  "zebra",
] as const;

const MAX_LENGTH = 20;

function pick<T>(items: readonly T[], random: () => number): T {
  return items[Math.floor(random() * items.length)] as T;
}

/** A name such as `swift-otter-42`: adjective, noun and an integer from 0 to 1000. */
export function generateRunName(random: () => number = Math.random): string {
  for (;;) {
    const number = Math.floor(random() * 1001);
    const name = `${pick(ADJECTIVES, random)}-${pick(NOUNS, random)}-${number}`;
    if (name.length <= MAX_LENGTH) return name;
  }
}

/** The non-empty `mlflow.runName` value in `tags`, if any: a tag that also renames the run. */
export function runNameFromTags(tags: Record<string, string> | undefined): string | undefined {
  const name = tags?.[SYSTEM_TAGS.runName];
  return typeof name === "string" && name !== "" ? name : undefined;
}

/**
 * The name of a new run, as MLflow's `create_run` picks it: `runName`, else the `mlflow.runName`
 * tag, else a generated one. Both given and different is INVALID_PARAMETER_VALUE. The store then
 * writes the name to `RunInfo.runName` and to the `mlflow.runName` tag alike.
 */
export function resolveRunName(
  runName: string | undefined,
  tags: Record<string, string> | undefined,
): string {
  const fromTag = runNameFromTags(tags);
  if (runName !== undefined && runName !== "" && fromTag !== undefined && runName !== fromTag) {
    throw invalid(
      `Both runName and the ${SYSTEM_TAGS.runName} tag are given, with different values ` +
        `(runName='${runName}', ${SYSTEM_TAGS.runName}='${fromTag}')`,
      "Give the run name once, or give the same value to both.",
    );
  }
  const name = (runName === "" ? undefined : runName) ?? fromTag ?? generateRunName();
  validateRunName(name);
  return name;
}

/** The user of a new run: `userId`, else the `mlflow.user` tag, else `unknown` (MlflowClient). */
export function resolveUserId(
  userId: string | undefined,
  tags: Record<string, string> | undefined,
): string {
  return userId ?? tags?.[SYSTEM_TAGS.user] ?? "unknown";
}
