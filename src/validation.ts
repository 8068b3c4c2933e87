/**
 * MLflow's rules for keys, values and names, shared by every store. Each check runs before the
 * first byte is written; a batch collects every problem and throws once.
 */
import type { Batch, Dataset, DatasetInput, Metric } from "./entities.ts";
import { invalid, type MlflowError } from "./errors.ts";

export const LIMITS = {
  keyLength: 250,
  paramValueLength: 6000,
  tagValueLength: 8000,
  experimentNameLength: 256,
  runNameLength: 250,
  datasetNameLength: 500,
  datasetDigestLength: 36,
  datasetSourceLength: 65535,
  datasetSchemaLength: 1048575,
  datasetProfileLength: 16777215,
  inputTagKeyLength: 255,
  inputTagValueLength: 500,
} as const;

/** Python's Unicode `\w` plus `/ . - space :`, MLflow's charset for keys on POSIX. */
const KEY_CHARSET = /^[\p{L}\p{N}_/.\- :]*$/u;
const RUN_ID = /^[a-zA-Z0-9][\p{L}\p{N}_-]{0,255}$/u;
const EXPERIMENT_ID = /^[a-zA-Z0-9][\p{L}\p{N}_-]{0,63}$/u;

type KeyKind = "metric" | "param" | "tag" | "experiment tag" | "dataset input tag";

/** A problem found in the input; the hint says what to do when the message alone does not. */
type Problem = string | { message: string; hint: string } | undefined;

const LONE_SURROGATE = /\p{Cs}/u;
const SURROGATE_HINT =
  "A lone surrogate is half of a character such as an emoji, often left by slice() or " +
  "substring(); it has no UTF-8 form, so MLflow could not read it back. Fix the text, or " +
  "replace it with U+FFFD by calling toWellFormed() on the string";

/** A string with a lone UTF-16 surrogate is refused: UTF-8 (and PyYAML) cannot hold it. */
function surrogateProblem(what: string, text: string): Problem {
  const at = text.search(LONE_SURROGATE);
  if (at < 0) return undefined;
  const code = text.charCodeAt(at).toString(16).toUpperCase();
  return {
    message: `${what} ${shown(text)} holds a lone UTF-16 surrogate (U+${code} at index ${at})`,
    hint: SURROGATE_HINT,
  };
}

/** A value as a message shows it: JSON when it has a JSON form (lone surrogates escaped). */
function shown(value: unknown, max = 60): string {
  if (typeof value === "bigint") return `${value}n (a BigInt)`;
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = Object.prototype.toString.call(value);
  }
  return text.length > max ? `${text.slice(0, max)}...` : text;
}

/** Checks a name that is written into a meta.yaml (experiment, run, registered model). */
export function validateWellFormed(what: string, text: string): void {
  fail([surrogateProblem(what, text)]);
}

/**
 * Checks optional free text that is written into a meta.yaml (a description, a version's source
 * or run link, an artifact location): a string when given, without lone surrogates.
 */
export function validateText(what: string, text: unknown): void {
  if (text === undefined || text === null) return;
  if (typeof text !== "string") throw invalid(`${what} must be a string, got ${shown(text)}`);
  validateWellFormed(what, text);
}

/**
 * True when `path` is a clean relative path: what Python's `posixpath.normpath` leaves unchanged,
 * never `.`, never absolute, never climbing out with `..`.
 */
export function isSafeRelativePath(path: string): boolean {
  if (path === "" || path.startsWith("..")) return false;
  return path.split("/").every((part) => part !== "" && part !== "." && part !== "..");
}

function keyProblem(kind: KeyKind, key: unknown): Problem {
  if (typeof key !== "string") return `${kind} key must be a string, got ${typeof key}`;
  const surrogate = surrogateProblem(`${kind} key`, key);
  if (surrogate) return surrogate;
  if (!KEY_CHARSET.test(key)) {
    return (
      `Invalid ${kind} key '${key}': names may only contain alphanumerics, underscores (_), ` +
      "dashes (-), periods (.), spaces ( ), colons (:) and slashes (/)"
    );
  }
  if (!isSafeRelativePath(key)) {
    return (
      `Invalid ${kind} key '${key}': it must be a normalized relative path ` +
      "(no leading or trailing '/', no '//', no '.' or '..' parts)"
    );
  }
  // Python counts code points, not UTF-16 units.
  if ([...key].length > LIMITS.keyLength) {
    return `Invalid ${kind} key '${key.slice(0, 40)}...': longer than ${LIMITS.keyLength} characters`;
  }
  return undefined;
}

function valueProblem(kind: KeyKind, key: string, value: unknown, limit: number): Problem {
  if (typeof value !== "string") return `${kind} '${key}' must have a string value`;
  if (value.length > limit) {
    return `${kind} '${key}' has a value of ${value.length} characters; the limit is ${limit}`;
  }
  return surrogateProblem(`The value of ${kind} '${key}'`, value);
}

/** Adds the problems of `metric` to `problems`; `keys` keeps what each key's check found. */
function metricProblems(metric: Metric, problems: Problem[], keys: Map<unknown, Problem>): void {
  if (typeof metric !== "object" || metric === null) {
    problems.push("each metric must be an object");
    return;
  }
  const { key, value, timestamp, step } = metric;
  // A batch holds many points of few keys: each key is checked once.
  if (!keys.has(key)) keys.set(key, keyProblem("metric", key));
  if (typeof value === "bigint") {
    problems.push({
      message: `metric '${key}' must have a numeric value, got ${shown(value)}`,
      hint: "Convert it with Number(value) (exact up to 2^53)",
    });
  } else if (typeof value !== "number") {
    problems.push(`metric '${key}' must have a numeric value, got ${shown(value)}`);
  }
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    problems.push(
      `metric '${key}' timestamp must be a non-negative integer (ms), got ${String(timestamp)}`,
    );
  }
  if (!Number.isSafeInteger(step)) {
    problems.push(`metric '${key}' step must be an integer, got ${String(step)}`);
  }
}

/** The error for keys `a` and `a/b` side by side. */
export function keyClash(kind: string, [a, b]: [string, string]): MlflowError {
  return invalid(
    `${kind} keys '${a}' and '${b}' clash: one would be a file, the other a folder`,
    "Rename one of the keys",
  );
}

/** The error for a new key `key` beside `existing`, a key already stored (`a` and `a/b`). */
export function keyClashesWith(kind: string, key: string, existing: string): MlflowError {
  return invalid(
    `Invalid ${kind} key '${key}': it clashes with the existing ${kind} '${existing}' ` +
      "(a key cannot be both a value and a folder of other keys)",
    "Rename one of the keys",
  );
}

/** Keys, with what a new key would clash with found in time proportional to its depth. */
export class KeySet {
  readonly #keys = new Set<string>();
  /** Every proper prefix (`a` of `a/b`) of a key here. */
  readonly #folders = new Set<string>();

  constructor(keys: Iterable<string> = []) {
    for (const key of keys) this.add(key);
  }

  has(key: string): boolean {
    return this.#keys.has(key);
  }

  add(key: string): void {
    this.#keys.add(key);
    for (let slash = key.indexOf("/"); slash !== -1; slash = key.indexOf("/", slash + 1)) {
      this.#folders.add(key.slice(0, slash));
    }
  }

  /** The key here that `key` would clash with (`a` beside `a/b`, either way round), if any. */
  clashWith(key: string): string | undefined {
    for (let slash = key.indexOf("/"); slash !== -1; slash = key.indexOf("/", slash + 1)) {
      if (this.#keys.has(key.slice(0, slash))) return key.slice(0, slash);
    }
    if (!this.#folders.has(key)) return undefined;
    const folder = `${key}/`;
    for (const other of this.#keys) if (other.startsWith(folder)) return other;
    return undefined;
  }
}

/** Keys `a` and `a/b` cannot live side by side: one would be a file, the other a folder. */
export function clashingKey(keys: Iterable<string>): [string, string] | undefined {
  // Keys that are not strings are reported elsewhere; skipping them here avoids a TypeError.
  const sorted = [...new Set(keys)].filter((k) => typeof k === "string").sort();
  for (let i = 0; i + 1 < sorted.length; i++) {
    const [a, b] = [sorted[i] as string, sorted[i + 1] as string];
    if (b.startsWith(`${a}/`)) return [a, b];
  }
  // Sorting puts `a/b` right after `a` unless a key like `a-x` sorts between them.
  const set = new Set(sorted);
  for (const key of sorted) {
    const parts = key.split("/");
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join("/");
      if (set.has(prefix)) return [prefix, key];
    }
  }
  return undefined;
}

function fail(problems: Problem[]): void {
  const found = problems.filter((p) => p !== undefined);
  if (found.length === 0) return;
  const messages = found.map((p) => (typeof p === "string" ? p : p.message));
  const hints = [...new Set(found.flatMap((p) => (typeof p === "string" ? [] : [p.hint])))];
  const message =
    messages.length === 1
      ? (messages[0] as string)
      : `${messages.length} problems:\n  ${messages.join("\n  ")}`;
  throw invalid(message, hints.length === 0 ? undefined : hints.join("; "));
}

export function validateKey(kind: KeyKind, key: unknown): void {
  fail([keyProblem(kind, key)]);
}

export function validateTag(kind: "tag" | "experiment tag", key: string, value: unknown): void {
  fail([keyProblem(kind, key), valueProblem(kind, key, value, LIMITS.tagValueLength)]);
}

/** Every rule MLflow applies to a `log_batch`, checked all at once. */
export function validateBatch(batch: Batch): void {
  const metricKeys = new Map<unknown, Problem>();
  const pointProblems: Problem[] = [];
  for (const metric of batch.metrics ?? []) metricProblems(metric, pointProblems, metricKeys);
  const problems = [...metricKeys.values(), ...pointProblems];
  for (const [key, value] of Object.entries(batch.params ?? {})) {
    problems.push(keyProblem("param", key));
    problems.push(valueProblem("param", key, value, LIMITS.paramValueLength));
  }
  for (const [key, value] of Object.entries(batch.tags ?? {})) {
    problems.push(keyProblem("tag", key));
    problems.push(valueProblem("tag", key, value, LIMITS.tagValueLength));
  }
  const namespaces: [string, Iterable<string>][] = [
    ["metric", metricKeys.keys() as Iterable<string>],
    ["param", Object.keys(batch.params ?? {})],
    ["tag", Object.keys(batch.tags ?? {})],
  ];
  for (const [kind, keys] of namespaces) {
    const clash = clashingKey(keys);
    if (clash) {
      const { message, hint } = keyClash(kind, clash);
      problems.push({ message, hint: hint as string });
    }
  }
  fail(problems);
}

export function validateExperimentName(name: unknown): asserts name is string {
  if (typeof name !== "string" || name.trim() === "") {
    throw invalid("Invalid experiment name: it must be a non-empty string");
  }
  validateWellFormed("Experiment name", name);
  if (name.length > LIMITS.experimentNameLength) {
    throw invalid(
      `Invalid experiment name '${name.slice(0, 40)}...': longer than ${LIMITS.experimentNameLength} characters`,
    );
  }
}

export function validateRunName(name: unknown): asserts name is string {
  if (typeof name !== "string") throw invalid("Invalid run name: it must be a string");
  validateWellFormed("Run name", name);
  if (name.length > LIMITS.runNameLength) {
    throw invalid(
      `Invalid run name '${name.slice(0, 40)}...': longer than ${LIMITS.runNameLength} characters`,
    );
  }
}

export function validateRunId(runId: unknown): asserts runId is string {
  if (typeof runId !== "string" || !RUN_ID.test(runId)) {
    throw invalid(`Invalid run id ${JSON.stringify(runId)}: expected 32 hexadecimal characters`);
  }
}

export function validateExperimentId(experimentId: unknown): asserts experimentId is string {
  if (typeof experimentId !== "string" || !EXPERIMENT_ID.test(experimentId)) {
    throw invalid(
      `Invalid experiment id ${JSON.stringify(experimentId)}: expected a string of digits such as '0'`,
    );
  }
}

/** An artifact path inside a run: relative and normalized, so nothing is written outside. */
export function validateArtifactPath(path: string): void {
  if (!isSafeRelativePath(path) || path.includes("\\") || path.includes("\0")) {
    throw invalid(
      `Invalid artifact path '${path}': it must be a relative path inside the run's artifacts ` +
        "(no leading '/', no '..', no empty parts)",
    );
  }
}

function datasetProblems(dataset: Dataset): Problem[] {
  const field = (name: keyof Dataset, limit: number, nullable = false): Problem => {
    const value = dataset[name];
    if (value === null && nullable) return undefined;
    if (typeof value !== "string") return `dataset ${name} must be a string`;
    if (value.length > limit) return `dataset ${name} is longer than ${limit} characters`;
    if (value === "" && !nullable) return `dataset ${name} must not be empty`;
    return surrogateProblem(`dataset ${name}`, value);
  };
  return [
    field("name", LIMITS.datasetNameLength),
    field("digest", LIMITS.datasetDigestLength),
    field("sourceType", LIMITS.datasetNameLength),
    field("source", LIMITS.datasetSourceLength),
    field("schema", LIMITS.datasetSchemaLength, true),
    field("profile", LIMITS.datasetProfileLength, true),
  ];
}

export function validateInputs(inputs: DatasetInput[]): void {
  const problems: Problem[] = [];
  for (const input of inputs) {
    problems.push(...datasetProblems(input.dataset));
    for (const [key, value] of Object.entries(input.tags)) {
      if (key.length > LIMITS.inputTagKeyLength)
        problems.push(`dataset input tag key '${key}' is too long`);
      problems.push(surrogateProblem("dataset input tag key", key));
      problems.push(valueProblem("dataset input tag", key, value, LIMITS.inputTagValueLength));
    }
  }
  fail(problems);
}
