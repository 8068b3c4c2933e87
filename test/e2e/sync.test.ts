/**
 * `mlruns sync` and `mlruns pull` as a user runs them, against a real MLflow server: the plan of
 * --dry-run, --json reports, the exit code when something is left behind, a second sync of the
 * same tree refused, and --watch riding out the server going away and coming back.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileStore } from "../../src/store/file/index.ts";
import { RestStore } from "../../src/store/rest/index.ts";
import { SOURCE_TAGS } from "../../src/sync/identity.ts";
import { startFaultProxy } from "../helpers/fault-proxy.ts";
import { ensureMlflowEnvs, MLFLOW_VERSIONS, skipMlflow } from "../helpers/mlflow-env.ts";
import { type MlflowServer, startMlflowServer } from "../helpers/mlflow-server.ts";
import { assertBuilt, CLI, runCli, runInTerminal, runJson, SCRIPT, tempDir } from "./helpers.ts";

interface Report {
  dryRun: boolean;
  experimentsCreated: string[];
  counts: Record<string, number>;
  runs: { runName: string; url?: string }[];
  issues: { what: string; message: string }[];
}

const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

async function copiesOnServer(server: MlflowServer, experiment: string) {
  const store = new RestStore(server.url);
  const found = await store.getExperimentByName(experiment);
  if (!found) return [];
  return store.listRuns([found.experimentId], "ALL");
}

async function until(what: string, check: () => Promise<boolean>, seconds = 60): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe.skipIf(skipMlflow)("mlruns sync and pull against a real MLflow server", () => {
  let server: MlflowServer;
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    assertBuilt();
    await ensureMlflowEnvs();
    ({ dir, cleanup } = await tempDir("mlruns-sync-e2e-"));
    server = await startMlflowServer({ version: MLFLOW_VERSIONS.latest, readyTimeout: 120 });
  }, 900_000);
  afterAll(async () => {
    await server?.stop();
    await cleanup?.();
  });

  it("plans with --dry-run, pushes, reports what the server refused with exit 3, then has nothing to do", async () => {
    const root = join(dir, "push");
    const store = new FileStore(root);
    const experimentId = await store.createExperiment("e2e-push", { tags: { owner: "me" } });
    for (let i = 0; i < 3; i++) {
      const run = await store.createRun({ experimentId, runName: `r${i}` });
      // MLflow's own file store writes a tag of any length; no server takes one over 8000.
      if (i === 0)
        await writeFile(
          join(root, experimentId, run.info.runId, "tags", "essay"),
          "x".repeat(9000),
        );
      await store.logBatch(run.info.runId, {
        params: { i: String(i) },
        metrics: [{ key: "loss", value: 1 / (i + 1), timestamp: 1000, step: 0 }],
      });
      await store.updateRun(run.info.runId, { status: "FINISHED", endTime: 2000 });
    }
    const plan = await runJson<Report>(["sync", root, "--to", server.url, "--dry-run"]);
    expect(plan.code).toBe(0);
    expect(plan.json).toMatchObject({ dryRun: true, experimentsCreated: ["e2e-push"] });
    expect(plan.json.counts).toMatchObject({ created: 3, points: 3, params: 3 });
    expect(await copiesOnServer(server, "e2e-push")).toEqual([]);

    const text = await runCli(["sync", root, "--to", server.url]);
    expect(text.code).toBe(3);
    expect(text.stdout).toMatch(
      /Created 3, updated 0, unchanged 0 run\(s\); copied 3 metric point/,
    );
    expect(text.stderr).toMatch(/left: [0-9a-f]{32} tag essay: .*8000/);
    const copies = await copiesOnServer(server, "e2e-push");
    expect(copies.map((r) => r.info.runName).sort()).toEqual(["r0", "r1", "r2"]);
    expect(copies.every((r) => r.data.tags[SOURCE_TAGS.runId])).toBe(true);
    // Each copy's page in MLflow's UI, by name.
    for (const copy of copies) {
      const page = `${server.url}/#/experiments/${copy.info.experimentId}/runs/${copy.info.runId}`;
      expect(text.stdout).toMatch(new RegExp(`${copy.info.runName} +created +${literal(page)}`));
    }
    expect((await fetch(`${server.url}/`)).status).toBe(200); // the UI the pages are in

    const again = await runJson<Report>(["sync", root, "--to", server.url]);
    expect(again.json.counts).toMatchObject({ created: 0, updated: 0, unchanged: 3, points: 0 });
    expect(again.code).toBe(3); // the refused tag is still reported
    expect(again.json.runs.map((r) => [r.runName, r.url]).sort()).toEqual(
      copies
        .map((copy) => [
          copy.info.runName,
          `${server.url}/#/experiments/${copy.info.experimentId}/runs/${copy.info.runId}`,
        ])
        .sort(),
    );
  });

  it.skipIf(SCRIPT === null)("draws a progress bar on a terminal, and none in a pipe", async () => {
    const root = join(dir, "terminal");
    const store = new FileStore(root);
    const experimentId = await store.createExperiment("e2e-terminal");
    for (let i = 0; i < 3; i++) {
      const { info } = await store.createRun({ experimentId, runName: `t${i}` });
      await store.logBatch(info.runId, {
        metrics: [{ key: "loss", value: i, timestamp: 1, step: 0 }],
      });
    }
    const { code, output } = await runInTerminal(["sync", root, "--to", server.url]);
    expect(code, output).toBe(0);
    expect(output).toMatch(/syncing \[[^\]]*\] \d\/3 runs \| \d+ points \| /);
    expect(await copiesOnServer(server, "e2e-terminal")).toHaveLength(3);
    const piped = await runCli(["sync", root, "--to", server.url]);
    expect(piped.code).toBe(0);
    expect(piped.stderr).not.toContain("syncing [");
  });

  it("refuses a URL that is not a server, and names an unreachable one", async () => {
    const root = join(dir, "bad");
    await new FileStore(root).init();
    const usage = await runCli(["sync", root, "--to", "ftp://x"]);
    expect(usage.code).toBe(2);
    const down = await runCli(["sync", root, "--to", "http://127.0.0.1:9"], {
      env: { MLFLOW_HTTP_REQUEST_MAX_RETRIES: "0" },
    });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/127\.0\.0\.1:9/);
    expect(down.stderr).toMatch(/hint/);
  });

  it("refuses a second sync of a tree while the first runs, also 35 s into it", async () => {
    const root = join(dir, "twice");
    const store = new FileStore(root);
    const experimentId = await store.createExperiment("e2e-twice");
    for (let i = 0; i < 6; i++) {
      const { info } = await store.createRun({ experimentId, runName: `t${i}` });
      await store.logBatch(info.runId, {
        metrics: [{ key: "loss", value: i, timestamp: 1, step: 0 }],
      });
    }
    // The first sync stalls on its first request, alive and holding the lock.
    const proxy = await startFaultProxy(server.url, { hold: true });
    try {
      const first = runJson<Report>(["sync", root, "--to", proxy.url]);
      await new Promise((resolve) => setTimeout(resolve, 35_000));
      const second = await runCli(["sync", root, "--to", server.url]);
      expect(second.code, second.stderr).toBe(1);
      expect(second.stderr).toMatch(
        /Another mlruns process is syncing this tree: process \d+ on [^,]+, since [^ ]+ holds \S+\.mlruns-sync\.lock/,
      );
      proxy.release();
      const done = await first;
      expect(done.code, done.stderr).toBe(0);
      expect(done.json.counts).toMatchObject({ created: 6 });
    } finally {
      await proxy.stop();
    }
    expect(await copiesOnServer(server, "e2e-twice")).toHaveLength(6);
    expect((await readdir(root)).filter((name) => name.includes(".lock"))).toEqual([]);
  });

  it("pulls a server's experiment into a local tree, idempotently", async () => {
    const root = join(dir, "pulled");
    await new FileStore(root).init();
    const first = await runJson<Report>(["pull", root, "--from", server.url, "-e", "e2e-push"]);
    expect(first.json.counts).toMatchObject({ created: 3, points: 3 });
    const second = await runJson<Report>(["pull", root, "--from", server.url, "-e", "e2e-push"]);
    expect(second.json.counts).toMatchObject({ created: 0, points: 0 });
    const local = new FileStore(root);
    const experiment = await local.getExperimentByName("e2e-push");
    const runs = await local.listRuns([experiment?.experimentId ?? ""]);
    expect(runs.map((r) => r.data.params.i).sort()).toEqual(["0", "1", "2"]);
  });

  it("--watch keeps pushing, and survives the server going away and coming back", async () => {
    const root = join(dir, "watched");
    const store = new FileStore(root);
    const experimentId = await store.createExperiment("e2e-watch");
    const run = await store.createRun({ experimentId, runName: "live" });
    const child: ChildProcess = spawn(
      process.execPath,
      [CLI, "sync", root, "--to", server.url, "--watch"],
      {
        env: {
          ...process.env,
          MLFLOW_HTTP_REQUEST_MAX_RETRIES: "1",
          MLFLOW_HTTP_REQUEST_TIMEOUT: "3",
        },
        stdio: "ignore",
      },
    );
    const exited = new Promise((resolve) => child.once("exit", resolve));
    try {
      const pointsOnServer = async () => {
        const [copy] = await copiesOnServer(server, "e2e-watch").catch(() => []);
        if (!copy) return 0;
        return (await new RestStore(server.url).getMetricHistory(copy.info.runId, "loss")).length;
      };
      await until(
        "the run on the server",
        async () => (await copiesOnServer(server, "e2e-watch")).length === 1,
      );
      await store.logBatch(run.info.runId, {
        metrics: [{ key: "loss", value: 1, timestamp: 1, step: 0 }],
      });
      await until("the first point", async () => (await pointsOnServer()) === 1);

      await server.crash();
      await store.logBatch(run.info.runId, {
        metrics: [{ key: "loss", value: 0.5, timestamp: 2, step: 1 }],
      });
      await new Promise((resolve) => setTimeout(resolve, 3000));
      await server.restart();
      await until(
        "the point logged while the server was down",
        async () => (await pointsOnServer()) === 2,
        90,
      );
    } finally {
      child.kill("SIGINT");
      await exited;
    }
    expect(child.exitCode === 0 || child.signalCode === "SIGINT").toBe(true);
  });
});
