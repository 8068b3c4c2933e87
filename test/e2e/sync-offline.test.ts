/**
 * `mlruns sync` to a server that is not there: from the first failure it says what failed, that
 * it is retrying, for how long, and how to stop or shorten it, instead of staying silent for the
 * minutes its retries take.
 */
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileStore } from "../../src/store/file/index.ts";
import { freePort } from "../helpers/mlflow-server.ts";
import { assertBuilt, CLI, runCli, tempDir } from "./helpers.ts";

describe("sync to a server that is not there", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let url: string;
  beforeAll(async () => {
    assertBuilt();
    ({ dir, cleanup } = await tempDir("mlruns-offline-"));
    await new FileStore(dir).init();
    url = `http://127.0.0.1:${await freePort()}`; // nothing listens there
  });
  afterAll(async () => {
    await cleanup?.();
  });

  it("says so within seconds of the first failure, with the default retries", async () => {
    const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: "1" };
    for (const key of Object.keys(env)) if (key.startsWith("MLFLOW_")) delete env[key];
    const child = spawn(process.execPath, [CLI, "sync", dir, "--to", url], {
      env,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    const first = new Promise<number>((resolve) => {
      const started = Date.now();
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString("utf8");
        if (stderr.includes("\n")) resolve(Date.now() - started);
      });
    });
    try {
      const waited = await Promise.race([
        first,
        new Promise<number>((resolve) => setTimeout(() => resolve(Number.NaN), 20_000)),
      ]);
      expect(waited, "nothing on stderr within 20 s").toBeLessThan(20_000);
    } finally {
      child.kill("SIGINT");
    }
    const line = stderr.split("\n")[0] ?? "";
    expect(line).toContain(`to ${url} failed: connection refused: nothing is listening`);
    expect(line).toMatch(
      /Retrying (now|in \d+ s), up to 7 times \(about [34] min of waiting in all\)/,
    );
    expect(line).toContain("Ctrl-C stops; MLFLOW_HTTP_REQUEST_MAX_RETRIES=0 gives up at once");
  });

  it("tells each retry, then fails naming the server", async () => {
    const result = await runCli(["sync", dir, "--to", url], {
      env: { MLFLOW_HTTP_REQUEST_MAX_RETRIES: "2", MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: "0.1" },
    });
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/failed: connection refused.*Retrying (now|in 1 s), up to 2 times/);
    expect(lines[1]).toMatch(
      /^Still failing \(connection refused: nothing is listening on [^)]+\): attempt 3 of 3 (now|in \d s) \(the last\)\.$/,
    );
    expect(lines[2]).toMatch(/^mlruns: error: Cannot reach the MLflow server at .*3 attempts/);
  });
});
