import { describe, expect, it } from "vitest";
import type { Batch, Metric } from "../src/entities.ts";
import { isMlflowError } from "../src/errors.ts";
import {
  validateDescription,
  validateModelName,
  validateNewModel,
  validateNewVersion,
  validateRegistryTag,
} from "../src/store/registry.ts";
import {
  clashingKey,
  isSafeRelativePath,
  KeySet,
  validateArtifactPath,
  validateBatch,
  validateExperimentId,
  validateExperimentName,
  validateInputs,
  validateKey,
  validateRunId,
  validateRunName,
  validateText,
} from "../src/validation.ts";

/** The MlflowError `fn` throws, or undefined when it does not throw. */
function thrown(fn: () => void) {
  try {
    fn();
  } catch (error) {
    if (!isMlflowError(error, "INVALID_PARAMETER_VALUE")) throw error;
    return error;
  }
  return undefined;
}

// Verdicts checked against MLflow's rule in CPython: `re.match(r"^[/\w.\- :]*$", key)` plus
// `posixpath.normpath(key) == key`, not `.`, not starting with `..` or `/` (mlruns-format.md §3).
const validKeys = [
  "loss",
  "train/loss",
  "a.b-c_d e",
  "val:acc",
  "résumé",
  "数据",
  "²",
  "ǅ",
  "Ⅻ",
  "_",
  " ",
  "a/..b",
  "x".repeat(250),
  "数".repeat(250),
];
const invalidKeys: [string, string][] = [
  ["", "empty"],
  [".", "dot"],
  ["..", "dot dot"],
  ["..a", "starts with .."],
  ["../x", "climbs out"],
  ["./x", "not normalized"],
  ["a/./b", "not normalized"],
  ["a/../b", "not normalized"],
  ["/abs", "absolute"],
  ["//abs", "absolute"],
  ["a//b", "double slash"],
  ["dir/", "trailing slash"],
  ["a,b", "comma"],
  ["a@b", "at sign"],
  ["a#b", "hash"],
  ["a\\b", "backslash"],
  ["tab\tkey", "tab"],
  ["😀", "emoji is not a word character"],
  ["e\u0301", "a combining mark is not a word character"],
  // MLflow accepts a trailing newline (Python's `$` matches before it); we do not.
  ["a\n", "newline"],
  ["x".repeat(251), "longer than 250"],
];

describe("validateKey", () => {
  it.each(validKeys.map((k) => [k]))("accepts %j", (key) => {
    expect(thrown(() => validateKey("metric", key))).toBeUndefined();
  });

  it.each(invalidKeys)("rejects %j (%s)", (key) => {
    const error = thrown(() => validateKey("param", key));
    expect(error).toBeDefined();
    expect(error?.message).toContain("param");
  });

  it("counts length in code points, as Python does", () => {
    // U+1D538 and U+1D7D8 are a letter and a digit outside the BMP: two UTF-16 units each.
    expect(thrown(() => validateKey("tag", "𝔸".repeat(250)))).toBeUndefined();
    expect(thrown(() => validateKey("tag", "𝟘".repeat(250)))).toBeUndefined();
    expect(thrown(() => validateKey("tag", "𝟘".repeat(251)))).toBeDefined();
  });

  it("rejects keys that are not strings", () => {
    expect(thrown(() => validateKey("metric", 5))).toBeDefined();
  });
});

describe("isSafeRelativePath", () => {
  it.each([
    ["a", true],
    ["a/b/c.txt", true],
    ["a/..b", true],
    ["", false],
    [".", false],
    ["..", false],
    ["../a", false],
    ["a/../b", false],
    ["a/./b", false],
    ["/a", false],
    ["a/", false],
    ["a//b", false],
  ])("%j → %s", (path, safe) => {
    expect(isSafeRelativePath(path)).toBe(safe);
  });
});

describe("clashingKey", () => {
  it.each<[string[], [string, string] | undefined]>([
    [["a", "b"], undefined],
    [
      ["a", "a/b"],
      ["a", "a/b"],
    ],
    [
      ["a/b/c", "a/b"],
      ["a/b", "a/b/c"],
    ],
    [
      ["a", "a-x", "a/b"],
      ["a", "a/b"],
    ],
    [["ab", "a/b"], undefined],
    [["a", "a"], undefined],
    [["x/y", "x/z"], undefined],
  ])("%j → %j", (keys, clash) => {
    expect(clashingKey(keys)).toEqual(clash);
  });

  it("ignores keys that are not strings instead of failing", () => {
    expect(clashingKey(["a", 5 as unknown as string, "a/b"])).toEqual(["a", "a/b"]);
  });
});

describe("KeySet", () => {
  it("finds the key a new one clashes with, either way round and at any depth", () => {
    const keys = new KeySet(["a/b/c", "x", "a-b"]);
    expect(keys.clashWith("a")).toBe("a/b/c");
    expect(keys.clashWith("a/b")).toBe("a/b/c");
    expect(keys.clashWith("a/b/c/d")).toBe("a/b/c");
    expect(keys.clashWith("x/y")).toBe("x");
    for (const free of ["a/c", "ab", "a-", "y", "a/b/cd"])
      expect(keys.clashWith(free)).toBeUndefined();
    keys.add("y/z");
    expect(keys.clashWith("y")).toBe("y/z");
    expect(keys.has("y/z")).toBe(true);
  });
});

describe("validateBatch", () => {
  const m = (over: Partial<Record<keyof Metric, unknown>>): Metric =>
    ({ key: "m", value: 1, timestamp: 1_700_000_000_000, step: 0, ...over }) as Metric;

  it.each<[string, Batch]>([
    ["an empty batch", {}],
    ["a full batch", { metrics: [m({})], params: { p: "1" }, tags: { t: "x" } }],
    ["NaN and infinite values", { metrics: [m({ value: Number.NaN }), m({ value: -Infinity })] }],
    ["negative steps and a zero timestamp", { metrics: [m({ step: -5, timestamp: 0 })] }],
    ["the same key in different namespaces", { metrics: [m({ key: "a/b" })], params: { a: "1" } }],
    ["a param value of 6000 characters", { params: { p: "x".repeat(6000) } }],
    ["a tag value of 8000 characters", { tags: { t: "x".repeat(8000) } }],
  ])("accepts %s", (_, batch) => {
    expect(thrown(() => validateBatch(batch))).toBeUndefined();
  });

  it.each<[string, Batch]>([
    ["a fractional step", { metrics: [m({ step: 1.5 })] }],
    ["a NaN step", { metrics: [m({ step: Number.NaN })] }],
    ["a fractional timestamp", { metrics: [m({ timestamp: 1.5 })] }],
    ["a negative timestamp", { metrics: [m({ timestamp: -1 })] }],
    ["an unsafe timestamp", { metrics: [m({ timestamp: 2 ** 60 })] }],
    ["a string value", { metrics: [m({ value: "1.5" })] }],
    ["a null value", { metrics: [m({ value: null })] }],
    ["a boolean value", { metrics: [m({ value: true })] }],
    ["a bad metric key", { metrics: [m({ key: "a,b" })] }],
    ["a metric key that is not a string", { metrics: [m({ key: 7 })] }],
    ["a metric that is not an object", { metrics: [null as unknown as Metric] }],
    ["clashing metric keys", { metrics: [m({ key: "a" }), m({ key: "a/b" })] }],
    ["clashing param keys", { params: { p: "1", "p/q": "2" } }],
    ["clashing tag keys", { tags: { "t/u": "1", t: "2" } }],
    ["a param value that is not a string", { params: { p: 1 as unknown as string } }],
    ["a param value over 6000 characters", { params: { p: "x".repeat(6001) } }],
    ["a tag value over 8000 characters", { tags: { t: "x".repeat(8001) } }],
    ["a path-traversal tag key", { tags: { "../x": "1" } }],
  ])("rejects %s", (_, batch) => {
    expect(thrown(() => validateBatch(batch))).toBeDefined();
  });

  it("reports every problem at once", () => {
    const error = thrown(() =>
      validateBatch({ metrics: [m({ step: 1.5 })], params: { "a,b": "1" }, tags: { "../t": "1" } }),
    );
    expect(error?.message).toMatch(/^3 problems/);
    expect(error?.message).toContain("a,b");
    expect(error?.message).toContain("../t");
  });
});

describe("names and ids", () => {
  it("validateExperimentName", () => {
    expect(thrown(() => validateExperimentName("team/project-a"))).toBeUndefined();
    expect(thrown(() => validateExperimentName("x".repeat(256)))).toBeUndefined();
    expect(thrown(() => validateExperimentName("x".repeat(257)))).toBeDefined();
    expect(thrown(() => validateExperimentName(""))).toBeDefined();
    expect(thrown(() => validateExperimentName("  "))).toBeDefined();
    expect(thrown(() => validateExperimentName(undefined))).toBeDefined();
  });

  it("validateRunName", () => {
    expect(thrown(() => validateRunName(""))).toBeUndefined();
    expect(thrown(() => validateRunName("x".repeat(250)))).toBeUndefined();
    expect(thrown(() => validateRunName("x".repeat(251)))).toBeDefined();
    expect(thrown(() => validateRunName(3))).toBeDefined();
  });

  it.each([
    ["0123456789abcdef0123456789abcdef", true],
    ["legacy-run_id", true],
    ["", false],
    ["../x", false],
    ["a/b", false],
    ["-abc", false],
    ["x".repeat(257), false],
  ])("validateRunId(%j) accepts: %s", (id, ok) => {
    expect(thrown(() => validateRunId(id)) === undefined).toBe(ok);
  });

  it.each([
    ["0", true],
    ["490280936063705890", true],
    ["my-exp", true],
    ["", false],
    [".git", false],
    ["../0", false],
    ["a b", false],
    ["x".repeat(65), false],
  ])("validateExperimentId(%j) accepts: %s", (id, ok) => {
    expect(thrown(() => validateExperimentId(id)) === undefined).toBe(ok);
  });
});

describe("lone UTF-16 surrogates", () => {
  const lone = "a\uDFFFb";
  it.each<[string, () => void]>([
    ["an experiment name", () => validateExperimentName(lone)],
    ["a run name", () => validateRunName(lone)],
    ["a metric key", () => validateKey("metric", lone)],
    ["a param value", () => validateBatch({ params: { p: lone } })],
    ["a tag value", () => validateBatch({ tags: { t: lone } })],
    ["a registered model name", () => validateModelName(lone)],
    ["a registered model tag key", () => validateRegistryTag("registered model", lone, "x")],
    ["a model version tag value", () => validateRegistryTag("model version", "t", lone)],
    ["a registered model description", () => validateNewModel("m", { description: lone })],
    ["an updated description", () => validateDescription(lone)],
    ["a model version source", () => validateNewVersion({ name: "m", source: lone })],
    [
      "a model version description",
      () => validateNewVersion({ name: "m", source: "s3://b/m", description: lone }),
    ],
    [
      "a model version run link",
      () => validateNewVersion({ name: "m", source: "s", runLink: lone }),
    ],
    ["an artifact location", () => validateText("Artifact location", lone)],
    [
      "a dataset input tag key",
      () =>
        validateInputs([
          {
            dataset: {
              name: "d",
              digest: "1",
              sourceType: "local",
              source: "s",
              schema: null,
              profile: null,
            },
            tags: { [lone]: "x" },
          },
        ] as Parameters<typeof validateInputs>[0]),
    ],
  ])("are refused in %s, with a hint", (_, check) => {
    const error = thrown(check);
    expect(error?.message).toContain("lone UTF-16 surrogate (U+DFFF at index 1)");
    expect(error?.hint).toContain("toWellFormed()");
  });

  it("free text must be a string when given", () => {
    expect(thrown(() => validateText("Artifact location", 7))?.message).toBe(
      "Artifact location must be a string, got 7",
    );
    expect(thrown(() => validateDescription(null))).toBeUndefined();
    expect(thrown(() => validateNewVersion({ name: "m", source: "s3://b/🙂" }))).toBeUndefined();
  });

  it("a surrogate pair is one character and is accepted", () => {
    expect(thrown(() => validateRunName("🙂"))).toBeUndefined();
    expect(thrown(() => validateModelName("model 🙂"))).toBeUndefined();
    expect(thrown(() => validateBatch({ params: { p: "🙂" }, tags: { t: "🙂" } }))).toBeUndefined();
  });
});

describe("validateArtifactPath", () => {
  it.each(["a.txt", "dir/sub/file.bin", "a/..b", "ünï code.txt"])("accepts %j", (path) => {
    expect(thrown(() => validateArtifactPath(path))).toBeUndefined();
  });
  it.each(["", "../x", "a/../../x", "/etc/passwd", "a//b", "a/", "./a", "a\\b", "a\0b"])(
    "rejects %j",
    (path) => {
      expect(thrown(() => validateArtifactPath(path))).toBeDefined();
    },
  );
});

describe("validateInputs", () => {
  const dataset = {
    name: "iris",
    digest: "a1b2c3d4",
    sourceType: "local",
    source: "{}",
    schema: null,
    profile: null,
  };
  it("accepts a complete input", () => {
    expect(
      thrown(() => validateInputs([{ dataset, tags: { "mlflow.data.context": "training" } }])),
    ).toBeUndefined();
  });
  it.each([
    ["a digest over 36 characters", { ...dataset, digest: "d".repeat(37) }, {}],
    ["an empty name", { ...dataset, name: "" }, {}],
    ["a schema that is not a string", { ...dataset, schema: 1 as unknown as string }, {}],
    ["an input tag value over 500 characters", dataset, { k: "v".repeat(501) }],
    ["an input tag key over 255 characters", dataset, { ["k".repeat(256)]: "v" }],
  ])("rejects %s", (_, ds, tags) => {
    expect(thrown(() => validateInputs([{ dataset: ds, tags }]))).toBeDefined();
  });
});
