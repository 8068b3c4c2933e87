/**
 * Local-first mode's settings and words (the pushes themselves are proven against real MLflow
 * servers in test/compat/local-first.test.ts): how it is switched on, what it refuses, what the
 * end of a push tells the user, and the Node options its worker thread is started with.
 */
import { describe, expect, it } from "vitest";
import { resolveConfig } from "../src/config.ts";
import { describeLeft, workerExecArgv } from "../src/tracker/local-first.ts";
import { getTracker } from "../src/tracker/tracker.ts";

describe("local-first settings", () => {
  it("reads MLFLOW_LOCAL_FIRST, its directory and exit timeout; options win", () => {
    expect(resolveConfig({}, {})).toMatchObject({
      localFirst: false,
      localFirstDir: "./mlruns",
      localFirstExitTimeout: 5,
    });
    const env = {
      MLFLOW_LOCAL_FIRST: "true",
      MLFLOW_LOCAL_FIRST_DIR: "/data/runs",
      MLFLOW_LOCAL_FIRST_EXIT_TIMEOUT: "2.5",
    };
    expect(resolveConfig({}, env)).toMatchObject({
      localFirst: true,
      localFirstDir: "/data/runs",
      localFirstExitTimeout: 2.5,
    });
    expect(resolveConfig({ localFirst: false, localFirstExitTimeout: 0 }, env)).toMatchObject({
      localFirst: false,
      localFirstExitTimeout: 0,
    });
    expect(() => resolveConfig({}, { MLFLOW_LOCAL_FIRST: "sometimes" })).toThrow(
      /MLFLOW_LOCAL_FIRST="sometimes" is not true or false/,
    );
    expect(() => resolveConfig({}, { MLFLOW_LOCAL_FIRST_EXIT_TIMEOUT: "-1" })).toThrow(
      /is not a number of 0 or more/,
    );
  });

  it("refuses a tracking URI that is not a server, and an experiment given by id", async () => {
    await expect(getTracker({ localFirst: true, trackingUri: "./mlruns" })).rejects.toMatchObject({
      code: "INVALID_PARAMETER_VALUE",
      message: expect.stringContaining("'./mlruns' is not one"),
    });
    await expect(
      getTracker({ localFirst: true, trackingUri: "http://127.0.0.1:9", experimentId: "3" }),
    ).rejects.toMatchObject({
      code: "INVALID_PARAMETER_VALUE",
      hint: expect.stringContaining("MLFLOW_EXPERIMENT_NAME"),
    });
  });
});

describe("what the end of a background push says", () => {
  const options = {
    root: "/home/me/my runs",
    target: "https://user:secret@mlflow.example.com",
    experimentName: "vision",
    exitTimeoutMs: 5000,
  };
  const result = { passes: 3, issues: [], done: false };

  it("nothing when everything went", () => {
    expect(
      describeLeft(
        { kind: "drained", id: 1, result: { ...result, done: true, pending: [] } },
        undefined,
        options,
      ),
    ).toEqual([]);
  });

  it("the runs and points left, why, and the one command that pushes them", () => {
    const pending = [
      { runId: "a", runName: "a", points: 1200 },
      { runId: "b", runName: "b", points: 3 },
    ];
    const lines = describeLeft(
      { kind: "drained", id: 1, result: { ...result, pending, error: "connection refused" } },
      undefined,
      options,
    );
    expect(lines).toEqual([
      "2 runs of experiment 'vision' (up to 1,203 metric points) not yet all on https://mlflow.example.com after waiting 5 s (MLFLOW_LOCAL_FIRST_EXIT_TIMEOUT): connection refused. They are safe in /home/me/my runs.",
      "push them with: npx mlruns sync '/home/me/my runs' --to https://mlflow.example.com -e vision",
    ]);
    expect(lines.join("\n")).not.toContain("secret");
  });

  it("a push that stopped, with the command all the same", () => {
    const lines = describeLeft(undefined, "its thread exited with code 1", options);
    expect(lines[0]).toContain("stopped (its thread exited with code 1)");
    expect(lines[1]).toMatch(/^push them with: npx mlruns sync /);
    expect(describeLeft(undefined, undefined, options)[0]).toContain(
      "did not tell in time what is left after waiting 5 s",
    );
  });
});

describe("the worker thread's Node options", () => {
  it("keeps the process's options but those naming its own code", () => {
    expect(workerExecArgv(["--input-type=module", "-e", "code", "--enable-source-maps"])).toEqual([
      "--enable-source-maps",
    ]);
    expect(workerExecArgv(["--eval=code", "--print", "x", "--max-old-space-size=512"])).toEqual([
      "--max-old-space-size=512",
    ]);
  });
});
