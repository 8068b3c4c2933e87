/**
 * LIKE and ILIKE: the same answers as SQL's LIKE written as one anchored regex, but in linear
 * time; and a fuzz of filters over runs, experiments and registered models in which every case
 * must end well within a time bound (a backtracking matcher takes minutes on some of them).
 */
import { describe, expect, it } from "vitest";
import type { Experiment, ModelVersion, RegisteredModel } from "../../src/entities.ts";
import { isMlflowError } from "../../src/errors.ts";
import { searchExperiments, searchRuns } from "../../src/search/index.ts";
import { likeMatches } from "../../src/search/like.ts";
import { searchModelVersions, searchRegisteredModels } from "../../src/search/registry.ts";
import { makeRun } from "./helpers.ts";

/** The reference: the whole pattern as one regex, fine on short values. */
function reference(text: string, pattern: string, caseInsensitive: boolean): boolean {
  let body = "";
  for (const ch of pattern) {
    if (ch === "%") body += "[^]*";
    else if (ch === "_") body += "[^]";
    else body += ch.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");
  }
  return new RegExp(`^${body}$`, caseInsensitive ? "iu" : "u").test(text);
}

/** Mulberry32, so a failing case can be replayed from its seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(rand: () => number, items: readonly T[]): T =>
  items[Math.floor(rand() * items.length)] as T;

describe("LIKE", () => {
  it.each([
    ["abc", "abc", true],
    ["abc", "a%", true],
    ["abc", "%c", true],
    ["abc", "%b%", true],
    ["abc", "a_c", true],
    ["abc", "ab", false],
    ["aba", "ab%ba", false],
    ["abba", "ab%ba", true],
    ["a\nb", "a%b", true],
    ["a\nb", "a_b", true],
    ["ab\n", "ab", false],
    ["", "%", true],
    ["", "_", false],
    ["𝔁y", "_y", true],
    ["𝔁y", "__y", false],
    ["a.b", "a.b", true],
    ["axb", "a.b", false],
    ["a\\b", "a\\b", true],
    ["a-b", "a-b", true],
    ["100%", "100%", true],
  ])("%j LIKE %j is %s", (text, pattern, expected) => {
    expect(likeMatches(text, pattern, false)).toBe(expected);
    expect(reference(text, pattern, false)).toBe(expected);
  });

  it("escapes every regex metacharacter", () => {
    for (const ch of "\\^$.*+?()[]{}|/-") {
      expect(likeMatches(`a${ch}b`, `a${ch}b`, false)).toBe(true);
      expect(likeMatches("axb", `a${ch}b`, false)).toBe(false);
    }
  });

  it("ILIKE folds case with Unicode rules, LIKE does not", () => {
    expect(likeMatches("Straße", "STRASSE", true)).toBe(false); // one code point per character
    expect(likeMatches("ΣΊΣΥΦΟΣ", "%σίσυφος%", true)).toBe(true);
    expect(likeMatches("\u212A", "k", true)).toBe(true); // the Kelvin sign
    expect(likeMatches("ABC", "a%", false)).toBe(false);
    expect(likeMatches("ABC", "a_c", true)).toBe(true);
  });

  it("agrees with the one-regex reference on 5,000 random short cases", () => {
    const rand = random(7);
    const alphabet = ["a", "b", "A", "%", "_", "\n", "é", "É", "𝔁", "."];
    for (let n = 0; n < 5_000; n++) {
      const text = Array.from({ length: Math.floor(rand() * 9) }, () =>
        pick(
          rand,
          alphabet.filter((c) => c !== "%" && c !== "_"),
        ),
      ).join("");
      const pattern = Array.from({ length: Math.floor(rand() * 7) }, () =>
        pick(rand, alphabet),
      ).join("");
      const caseInsensitive = rand() < 0.5;
      expect(
        likeMatches(text, pattern, caseInsensitive),
        `${JSON.stringify(text)} ${caseInsensitive ? "ILIKE" : "LIKE"} ${JSON.stringify(pattern)}`,
      ).toBe(reference(text, pattern, caseInsensitive));
    }
  });

  it("matches in linear time where a backtracking regex takes minutes", () => {
    const value = "a".repeat(2000);
    const started = performance.now();
    expect(likeMatches(value, "%a%a%a%b", false)).toBe(false);
    expect(likeMatches(value, "%a%a%a%a%a%b", true)).toBe(false);
    expect(likeMatches(`${value}b`, "%a%a%a%a%a%b", false)).toBe(true);
    expect(likeMatches(value, `%${"_%".repeat(500)}b`, false)).toBe(false);
    expect(likeMatches("a".repeat(100_000), "%a%a%a%a%a%a%a%a%b", false)).toBe(false);
    // Generous: these take microseconds; a backtracking matcher does not finish in minutes.
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe("a fuzz of filters", () => {
  const CASES = 800;
  /** Per case; every case takes well under a millisecond when matching is linear. */
  const BOUND_MS = 500;
  const long = "a".repeat(2000);
  const names = ["alpha", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", long, "A_b%c", "ünïcödé"];

  const runs = names.map((name, i) =>
    makeRun({
      name,
      user: name,
      metrics: { m: i, "a/b": -i },
      params: { p: name, "a b": String(i) },
      tags: { t: name, "mlflow.note.content": long },
      datasets: [{ name, digest: "d".repeat(8), context: name }],
    }),
  );
  const experiments: Experiment[] = names.map((name, i) => ({
    experimentId: String(i),
    name,
    artifactLocation: "file:///x",
    lifecycleStage: "active",
    creationTime: i,
    lastUpdateTime: i,
    tags: { t: name },
  }));
  const versions: ModelVersion[] = names.map((name, i) => ({
    name,
    version: String(i + 1),
    creationTimestamp: i,
    lastUpdatedTimestamp: i,
    currentStage: "None",
    description: null,
    source: `runs:/${long}/${name}`,
    runId: name,
    runLink: null,
    status: "READY",
    statusMessage: null,
    userId: null,
    modelId: null,
    tags: { t: name },
    aliases: [],
  }));
  const models: RegisteredModel[] = names.map((name, i) => ({
    name,
    creationTimestamp: i,
    lastUpdatedTimestamp: i,
    description: null,
    tags: { t: name },
    aliases: {},
    latestVersions: [versions[i] as ModelVersion],
  }));

  const RUN_KEYS = [
    "metrics.m",
    "metrics.`a/b`",
    "params.p",
    'params."a b"',
    "tags.t",
    "tags.`mlflow.note.content`",
    "attributes.run_name",
    "run_name",
    "user_id",
    "status",
    "attribute.artifact_uri",
    "datasets.name",
    "datasets.context",
    "start_time",
    "run_id",
  ];
  const EXPERIMENT_KEYS = ["name", "tags.t", "creation_time", "experiment_id"];
  const MODEL_KEYS = ["name", "tags.t"];
  const VERSION_KEYS = ["name", "tags.t", "run_id", "source_path", "version_number"];
  const COMPARATORS = ["=", "!=", "<", ">=", "LIKE", "ILIKE", "like", "NOT LIKE", "IN", "IS", ">>"];

  function pattern(rand: () => number): string {
    const parts = ["%", "a", "_", "%a", "a%", "b", "A", "%%", "\\", "'", "ü"];
    const n = 1 + Math.floor(rand() * 14);
    return Array.from({ length: n }, () => pick(rand, parts)).join("");
  }

  function value(rand: () => number): string {
    const r = rand();
    if (r < 0.55) return `'${pattern(rand).replaceAll("'", "")}'`;
    if (r < 0.7) return String(Math.floor(rand() * 10) - 3);
    if (r < 0.8) return `('${pattern(rand).replaceAll("'", "")}', 'alpha')`;
    if (r < 0.85) return "NULL";
    if (r < 0.9) return `"${pattern(rand).replaceAll('"', "")}"`;
    return pick(rand, ["", "'", "(", "1e9999", "-", "'unterminated", "nan"]);
  }

  function filter(rand: () => number, keys: readonly string[]): string {
    const clauses = 1 + Math.floor(rand() * 3);
    const parts: string[] = [];
    for (let i = 0; i < clauses; i++) {
      parts.push(`${pick(rand, keys)} ${pick(rand, COMPARATORS)} ${value(rand)}`);
    }
    return parts.join(pick(rand, [" AND ", " and ", " OR ", " AND "]));
  }

  function runCase(search: () => unknown, what: string): void {
    const started = performance.now();
    try {
      search();
    } catch (error) {
      // A bad filter is refused with MLflow's code, never with a raw exception.
      expect(isMlflowError(error, "INVALID_PARAMETER_VALUE"), `${what}: ${String(error)}`).toBe(
        true,
      );
    }
    expect(performance.now() - started, what).toBeLessThan(BOUND_MS);
  }

  it(`runs ${CASES} random filters over runs, experiments, models and versions, each within ${BOUND_MS} ms`, () => {
    const rand = random(2024);
    let matched = 0;
    for (let n = 0; n < CASES; n++) {
      const runFilter = filter(rand, RUN_KEYS);
      runCase(() => {
        matched += searchRuns(runs, { filter: runFilter }).runs.length;
      }, `runs: ${runFilter}`);
      const experimentFilter = filter(rand, EXPERIMENT_KEYS);
      runCase(
        () => searchExperiments(experiments, { filter: experimentFilter }),
        `experiments: ${experimentFilter}`,
      );
      const modelFilter = filter(rand, MODEL_KEYS);
      runCase(
        () => searchRegisteredModels(models, { filter: modelFilter }),
        `models: ${modelFilter}`,
      );
      const versionFilter = filter(rand, VERSION_KEYS);
      runCase(
        () => searchModelVersions(versions, { filter: versionFilter }),
        `versions: ${versionFilter}`,
      );
    }
    // The fuzz reaches the matcher: some filters are valid and match.
    expect(matched).toBeGreaterThan(0);
  });
});
