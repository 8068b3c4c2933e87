/**
 * The README's `mlflow ui` line, run as written from a clone with the real MLflow 3.17.2: it
 * serves mlruns.example (experiments, runs, artifacts through their relative URIs), and without
 * MLFLOW_ALLOW_FILE_STORE MLflow refuses the file store, as the README says.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { MLFLOW_ENV, MLFLOW_VERSIONS, REPO_ROOT, venvBin } from "../helpers/mlflow-env.ts";
import { freePort } from "../helpers/mlflow-server.ts";

const readme = await readFile(join(REPO_ROOT, "README.md"), "utf8");
/** `MLFLOW_ALLOW_FILE_STORE=true mlflow ui --backend-store-uri mlruns.example`, as printed. */
const flat = readme.replace(/\n\s*/g, " ");
const line = /`((?:\w+=\S+ )*)mlflow ui (--backend-store-uri mlruns\.example)`/.exec(flat);
const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) {
    if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, "SIGKILL");
  }
});

/** Starts the README's command (with a port of ours), its variables set or not; output kept. */
async function start(withVariables: boolean) {
  const port = await freePort();
  const args = [
    "ui",
    ...(line?.[2] ?? "").split(" "),
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
  ];
  const fromReadme = Object.fromEntries(
    (line?.[1] ?? "")
      .trim()
      .split(" ")
      .filter(Boolean)
      .map((pair) => pair.split("=") as [string, string]),
  );
  const child = spawn(venvBin(MLFLOW_VERSIONS.latest, "mlflow"), args, {
    cwd: REPO_ROOT,
    env: { ...baseEnv(), ...(withVariables ? fromReadme : {}) },
    detached: true,
  });
  children.push(child);
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk;
  });
  return { url: `http://127.0.0.1:${port}`, child, output: () => output };
}

/** The response of `path` once the server answers, or null if the process ended first. */
async function whenUp(server: Awaited<ReturnType<typeof start>>, path: string) {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null) return null;
    const response = await fetch(`${server.url}${path}`).catch(() => undefined);
    if (response !== undefined) return response;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`mlflow ui did not answer in 120 s:\n${server.output()}`);
}

/** The environment without our tests' MLFLOW_ALLOW_FILE_STORE. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...MLFLOW_ENV })) {
    if (v !== undefined && k !== "MLFLOW_ALLOW_FILE_STORE") env[k] = v;
  }
  return env;
}

describe("the README's mlflow ui command", () => {
  it("is in the README, with the variable MLflow 3.13+ needs, as is every mlflow ui there", () => {
    expect(line?.[1]).toContain("MLFLOW_ALLOW_FILE_STORE=true");
    const all = [...flat.matchAll(/`([^`]*mlflow ui [^`]*)`/g)].map((m) => m[1]);
    expect(all.length).toBeGreaterThan(1);
    for (const command of all) expect(command).toContain("MLFLOW_ALLOW_FILE_STORE=true");
  });

  it("serves mlruns.example with MLflow 3.17.2, artifacts included", async () => {
    const server = await start(true);
    const search = await whenUp(server, "/api/2.0/mlflow/experiments/search?max_results=100");
    if (search === null) throw new Error(`mlflow ui exited:\n${server.output()}`);
    expect(search.status, server.output()).toBe(200);
    const { experiments } = (await search.json()) as { experiments: { experiment_id: string }[] };
    expect(experiments.length).toBeGreaterThan(1);
    const runs = await fetch(`${server.url}/api/2.0/mlflow/runs/search`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ experiment_ids: experiments.map((e) => e.experiment_id) }),
    });
    const found = (await runs.json()) as { runs: { info: { run_id: string } }[] };
    expect(found.runs.length).toBeGreaterThan(0);
    let files = 0;
    for (const run of found.runs) {
      const listed = await fetch(
        `${server.url}/api/2.0/mlflow/artifacts/list?run_id=${run.info.run_id}`,
      );
      files += ((await listed.json()) as { files?: unknown[] }).files?.length ?? 0;
    }
    expect(files).toBeGreaterThan(0);
  });

  it("is refused by MLflow 3.17.2 without MLFLOW_ALLOW_FILE_STORE", async () => {
    const server = await start(false);
    const search = await whenUp(server, "/api/2.0/mlflow/experiments/search?max_results=100");
    expect(search?.status ?? 0).not.toBe(200);
    expect(server.output()).toMatch(/MLFLOW_ALLOW_FILE_STORE|maintenance/);
  });
});
