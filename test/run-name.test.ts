import { describe, expect, it } from "vitest";
import { isMlflowError } from "../src/errors.ts";
import {
  generateRunName,
  resolveRunName,
  resolveUserId,
  runNameFromTags,
} from "../src/run-name.ts";

describe("generateRunName", () => {
  it("makes adjective-noun-N names of at most 20 characters", () => {
    for (let i = 0; i < 2000; i++) {
      const name = generateRunName();
      expect(name).toMatch(/^[a-z]+-[a-z]+-(\d|[1-9]\d{1,2}|1000)$/);
      expect(name.length).toBeLessThanOrEqual(20);
    }
  });

  it("covers 0 to 1000 and is deterministic for a given random source", () => {
    expect(generateRunName(() => 0)).toMatch(/-0$/);
    expect(generateRunName(() => 0.9999999)).toMatch(/-1000$/);
    expect(generateRunName(() => 0.5)).toBe(generateRunName(() => 0.5));
  });

  it("varies", () => {
    expect(new Set(Array.from({ length: 50 }, () => generateRunName())).size).toBeGreaterThan(40);
  });
});

describe("run name rules", () => {
  it("prefers the given name, then the tag, then a generated one", () => {
    expect(resolveRunName("given", undefined)).toBe("given");
    expect(resolveRunName(undefined, { "mlflow.runName": "tagged" })).toBe("tagged");
    expect(resolveRunName("", { "mlflow.runName": "tagged" })).toBe("tagged");
    expect(resolveRunName("same", { "mlflow.runName": "same" })).toBe("same");
    expect(resolveRunName(undefined, {})).toMatch(/^[a-z]+-[a-z]+-\d+$/);
    expect(resolveRunName(undefined, { "mlflow.runName": "" })).toMatch(/^[a-z]+-[a-z]+-\d+$/);
  });

  it("rejects a name that differs from the tag, and names over 250 characters", () => {
    for (const fn of [
      () => resolveRunName("a", { "mlflow.runName": "b" }),
      () => resolveRunName("x".repeat(251), undefined),
    ]) {
      let error: unknown;
      try {
        fn();
      } catch (e) {
        error = e;
      }
      expect(isMlflowError(error, "INVALID_PARAMETER_VALUE")).toBe(true);
    }
  });

  it("reads a rename from tags only when the tag is non-empty", () => {
    expect(runNameFromTags({ "mlflow.runName": "n" })).toBe("n");
    expect(runNameFromTags({ "mlflow.runName": "" })).toBeUndefined();
    expect(runNameFromTags({ other: "n" })).toBeUndefined();
    expect(runNameFromTags(undefined)).toBeUndefined();
  });

  it("takes the user from the option, then the mlflow.user tag, else unknown", () => {
    expect(resolveUserId("alice", { "mlflow.user": "bob" })).toBe("alice");
    expect(resolveUserId(undefined, { "mlflow.user": "bob" })).toBe("bob");
    expect(resolveUserId(undefined, {})).toBe("unknown");
    expect(resolveUserId(undefined, undefined)).toBe("unknown");
  });
});
