/**
 * The CLI against a real MLflow tracking server (`--tracking-uri http://...`): the same commands
 * as on a tree, through the RestStore, with a Python child of `mlruns run` logging over HTTP.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MLFLOW_VERSIONS, skipMlflow, venvBin } from "../helpers/mlflow-env.ts";
import { type SharedMlflowServer, sharedMlflowServer } from "../helpers/shared-mlflow.ts";
import { assertBuilt, runCli, runJson, tempDir } from "./helpers.ts";

describe.skipIf(skipMlflow)("mlruns against an MLflow server", () => {
  // Shared with other files: this file's experiments are remote and named.
  let server: SharedMlflowServer;
  let dir: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    assertBuilt();
    ({ dir, cleanup } = await tempDir("mlruns-server-"));
    server = await sharedMlflowServer(MLFLOW_VERSIONS.latest);
  }, 300_000);
  afterAll(async () => {
    await cleanup?.();
  });

  it("creates an experiment, runs a Python child logging over HTTP, searches and shows it", async () => {
    const u = ["-u", server.url];
    const created = await runJson<{ experimentId: string }>([
      "experiments",
      "create",
      "remote",
      ...u,
    ]);
    expect(created.code).toBe(0);
    const script = join(dir, "remote.py");
    await writeFile(
      script,
      `import os, mlflow
with mlflow.start_run():
    mlflow.log_param("where", "server")
    mlflow.log_metric("acc", 0.75, step=1)
print("uri=" + os.environ["MLFLOW_TRACKING_URI"])
`,
    );
    const python = venvBin(MLFLOW_VERSIONS.latest, "python");
    const result = await runCli([
      "run",
      "-e",
      "remote",
      "-n",
      "over-http",
      ...u,
      "--",
      python,
      script,
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`uri=${server.url}`);
    const listed = await runJson<{
      runs: { info: { runId: string; status: string }; params: object }[];
    }>(["runs", "list", "-e", "remote", "-f", "params.where = 'server'", ...u]);
    expect(listed.code).toBe(0);
    expect(listed.json.runs).toHaveLength(1);
    const run = listed.json.runs[0];
    expect(run?.info.status).toBe("FINISHED");
    const shown = await runJson<{ metrics: object; artifacts: { path: string }[] }>([
      "runs",
      "show",
      run?.info.runId as string,
      ...u,
    ]);
    expect(shown.json.metrics).toMatchObject({ acc: { value: 0.75, step: 1 } });
    expect(shown.json.artifacts.map((a) => a.path)).toContain("logs/stdout.txt");
    const missing = await runCli(["runs", "show", "0123456789abcdef0123456789abcdef", ...u]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("[RESOURCE_DOES_NOT_EXIST]");
  });

  it("names runs by id prefix, name and latest on the server too", async () => {
    const u = ["-u", server.url];
    const ids: string[] = [];
    for (const name of ["first", "second"]) {
      const result = await runCli(["run", "-e", "named", "-n", name, ...u, "--", "true"]);
      expect(result.code, result.stderr).toBe(0);
      ids.push(/run ([0-9a-f]{32})/.exec(result.stderr)?.[1] as string);
    }
    const shown = async (ref: string) =>
      (await runJson<{ info: { runId: string } }>(["runs", "show", ref, "-e", "named", ...u])).json
        .info.runId;
    expect(await shown((ids[0] as string).slice(0, 7))).toBe(ids[0]);
    expect(await shown("first")).toBe(ids[0]);
    expect(await shown("latest")).toBe(ids[1]);
  });
});
