/**
 * `mlruns run -- <command>` with real children: a Python script logging through the real
 * `mlflow` client, a Node script logging through this library, a shell script using
 * `mlruns log`; exit codes, signals and the captured output.
 */
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mlflowDump } from "../compat/dump.ts";
import { MLFLOW_VERSIONS, REPO_ROOT, skipMlflow, venvBin } from "../helpers/mlflow-env.ts";
import { assertBuilt, CLI, runCli, runJson, tempDir } from "./helpers.ts";

const PYTHON = venvBin(MLFLOW_VERSIONS.latest, "python");

let dir: string;
let cleanup: () => Promise<void>;
let root: string;

interface Shown {
  info: {
    runId: string;
    runName: string;
    status: string;
    experimentId: string;
    endTime: number | null;
  };
  params: Record<string, string>;
  metrics: Record<string, { value: number; step: number }>;
  tags: Record<string, string>;
  artifacts: { path: string }[];
}

beforeAll(async () => {
  assertBuilt();
  ({ dir, cleanup } = await tempDir("mlruns-run-"));
  root = join(dir, "mlruns");
  await runCli(["init", root]);
  await writeFile(
    join(dir, "train.py"),
    `import os, sys, time, mlflow
print("uri=" + os.environ["MLFLOW_TRACKING_URI"])
print("allow=" + os.environ.get("MLFLOW_ALLOW_FILE_STORE", ""))
with mlflow.start_run() as run:
    print("run=" + run.info.run_id)
    mlflow.log_param("lr", 0.1)
    for step in range(5):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
    print("to stderr", file=sys.stderr)
    if len(sys.argv) > 1 and sys.argv[1] == "sleep":
        open(sys.argv[2], "w").close()
        time.sleep(60)
sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 0)
`,
  );
});
afterAll(() => cleanup());

async function runIdFrom(stderr: string): Promise<string> {
  const id = /mlruns: run ([0-9a-f]{32})/.exec(stderr)?.[1];
  if (!id) throw new Error(`no run id in:\n${stderr}`);
  return id;
}

const show = async (id: string) => (await runJson<Shown>(["runs", "show", id, "-u", root])).json;

describe.skipIf(skipMlflow)("mlruns run with the real mlflow Python client", () => {
  it("logs into the run, captures output, ends FINISHED, exits 0", async () => {
    // A relative tracking URI: the child still gets an absolute one.
    const result = await runCli(
      ["run", "-u", "mlruns", "-e", "py", "-n", "ok", "--", PYTHON, "train.py"],
      { cwd: dir },
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`uri=${pathToFileURL(root).href}`);
    expect(result.stdout).toContain("allow=true");
    expect(result.stderr).toContain("to stderr");
    const id = await runIdFrom(result.stderr);
    expect(result.stdout).toContain(`run=${id}`);
    const run = await show(id);
    expect(run.info).toMatchObject({ runName: "ok", status: "FINISHED" });
    expect(run.info.endTime).not.toBeNull();
    expect(run.params).toEqual({ lr: "0.1" });
    expect(run.metrics.loss).toMatchObject({ value: 0.2, step: 4 });
    expect(run.tags).toMatchObject({ "mlruns.exit_code": "0", "mlflow.source.type": "LOCAL" });
    expect(run.artifacts.map((a) => a.path)).toEqual([
      "logs",
      "logs/stderr.txt",
      "logs/stdout.txt",
    ]);
    const stdout = await runCli(["artifacts", "get", id, "logs/stdout.txt", "-u", root]);
    expect(stdout.stdout).toContain(`run=${id}`);
    // The real MLflow reads the run the same way.
    const dump = await mlflowDump(MLFLOW_VERSIONS.latest, root, { registry: false });
    const seen = dump.runs.find((r) => r.info.run_id === id);
    expect(seen?.info.status).toBe("FINISHED");
    expect(seen?.params).toEqual({ lr: "0.1" });
    expect(seen?.metric_history.loss).toHaveLength(5);
    expect(dump.experiments.find((e) => e.experiment_id === run.info.experimentId)?.name).toBe(
      "py",
    );
  });

  it("ends FAILED and passes the exit code on", async () => {
    const result = await runCli([
      "run",
      "-u",
      root,
      "-n",
      "bad",
      "--",
      PYTHON,
      join(dir, "train.py"),
      "3",
    ]);
    expect(result.code).toBe(3);
    const run = await show(await runIdFrom(result.stderr));
    expect(run.info.status).toBe("FAILED");
    expect(run.info.experimentId).toBe("0");
    expect(run.tags["mlruns.exit_code"]).toBe("3");
  });

  it("forwards SIGTERM to the child and ends KILLED (exit 143)", async () => {
    const marker = join(dir, "ready");
    let pid = 0;
    const pending = runCli(
      ["run", "-u", root, "-n", "killed", "--", PYTHON, join(dir, "train.py"), "sleep", marker],
      {
        onSpawn: (p) => {
          pid = p;
        },
      },
    );
    const started = Date.now();
    while (!existsSync(marker)) {
      if (Date.now() - started > 60_000) throw new Error("the child never started");
      await new Promise((r) => setTimeout(r, 100));
    }
    process.kill(pid, "SIGTERM");
    const result = await pending;
    expect(result.code).toBe(143);
    const run = await show(await runIdFrom(result.stderr));
    expect(run.info.status).toBe("KILLED");
    expect(run.tags["mlruns.signal"]).toBe("SIGTERM");
    expect(run.params).toEqual({ lr: "0.1" });
  });
});

describe("mlruns run with Node and shell children", () => {
  it("a Node script logs through the library into the same run", async () => {
    const script = join(dir, "train.mjs");
    const lib = pathToFileURL(join(REPO_ROOT, "dist", "src", "index.js")).href;
    await writeFile(
      script,
      `import { getTracker } from ${JSON.stringify(lib)};
const tracker = await getTracker();
const run = await tracker.startRun();
await run.logParams({ optimizer: "adam" });
run.logMetric("acc", 0.5, { step: 1 });
await run.end("FINISHED");
console.log("node run " + run.id);
`,
    );
    const result = await runCli(["run", "-u", root, "--", process.execPath, script]);
    expect(result.code).toBe(0);
    const id = await runIdFrom(result.stderr);
    expect(result.stdout).toContain(`node run ${id}`);
    const run = await show(id);
    expect(run.info.status).toBe("FINISHED");
    expect(run.params).toEqual({ optimizer: "adam" });
    expect(run.metrics.acc).toMatchObject({ value: 0.5, step: 1 });
  });

  it("a shell script logs with `mlruns log`, and --no-capture keeps no logs", async () => {
    const cmd = `node ${JSON.stringify(CLI)} log metric "$MLFLOW_RUN_ID" acc 0.9 --step 2 && node ${JSON.stringify(CLI)} log tag "$MLFLOW_RUN_ID" shell yes`;
    const result = await runCli([
      "run",
      "-u",
      root,
      "--no-capture",
      "-t",
      "kind=shell",
      "--",
      "sh",
      "-c",
      cmd,
    ]);
    expect(result.code).toBe(0);
    const run = await show(await runIdFrom(result.stderr));
    expect(run.metrics.acc).toMatchObject({ value: 0.9, step: 2 });
    expect(run.tags).toMatchObject({ shell: "yes", kind: "shell" });
    expect(run.artifacts).toEqual([]);
  });

  it("a command that does not exist: run FAILED, exit 127", async () => {
    const result = await runCli(["run", "-u", root, "--", "no-such-command-xyz"]);
    expect(result.code).toBe(127);
    expect(result.stderr).toContain("command not found");
    const run = await show(await runIdFrom(result.stderr));
    expect(run.info.status).toBe("FAILED");
  });

  it("needs a command (exit 2)", async () => {
    const result = await runCli(["run", "-u", root]);
    expect(result.code).toBe(2);
  });
});
