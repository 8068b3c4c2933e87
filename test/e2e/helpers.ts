/**
 * Running the built CLI as a user does (`node dist/cli/mlruns.js ...`, the package's bin), and small trees to run it
 * on, written through the library (the same code users' training scripts run).
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileStore } from "mlruns";
import { REPO_ROOT } from "../helpers/mlflow-env.ts";

export const CLI = join(REPO_ROOT, "dist", "cli", "mlruns.js");

export function assertBuilt(): void {
  if (!existsSync(CLI)) {
    throw new Error(`${CLI} is missing: run \`npm run build\` before the e2e tests`);
  }
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  input?: string;
  /** Called once the process is spawned (to send it signals). */
  onSpawn?: (pid: number) => void;
}

/** Runs `mlruns <args>`; colours and MLFLOW_* from the test's own environment are cleared. */
export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const key of Object.keys(env)) {
    if (key.startsWith("MLFLOW_") || key === "NO_COLOR" || key === "FORCE_COLOR") delete env[key];
  }
  Object.assign(env, options.env);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    child.on("error", reject);
    child.on("close", (code, signal) =>
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      }),
    );
    if (child.pid !== undefined) options.onSpawn?.(child.pid);
    child.stdin.end(options.input ?? "");
  });
}

/** `runCli` with `--json`, parsed; fails the test with stderr when stdout is not JSON. */
export async function runJson<T = Record<string, unknown>>(
  args: readonly string[],
  options: CliOptions = {},
): Promise<{ code: number | null; json: T; stderr: string }> {
  const result = await runCli([...args, "--json"], options);
  try {
    return { code: result.code, json: JSON.parse(result.stdout) as T, stderr: result.stderr };
  } catch {
    throw new Error(`not JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  }
}

export async function tempDir(
  prefix = "mlruns-e2e-",
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface SampleTree {
  root: string;
  experimentId: string;
  runIds: [string, string];
}

/**
 * `<dir>/mlruns` with experiment `iris` and two finished runs: params, a few metric points,
 * tags and one artifact each.
 */
export async function sampleTree(dir: string): Promise<SampleTree> {
  const root = join(dir, "mlruns");
  const store = new FileStore(root);
  const experimentId = await store.createExperiment("iris", { tags: { team: "ml" } });
  const ids: string[] = [];
  for (const [i, lr] of ["0.1", "0.01"].entries()) {
    const run = await store.createRun({
      experimentId,
      runName: `run-${i}`,
      startTime: 1_700_000_000_000 + i,
    });
    const id = run.info.runId;
    await store.logBatch(id, {
      params: { lr, model: "rf" },
      tags: { stage: i === 0 ? "baseline" : "tuned" },
      metrics: [0, 1, 2].map((step) => ({
        key: "loss",
        value: (i + 1) / (step + 1),
        step,
        timestamp: 1_700_000_001_000 + step,
      })),
    });
    await store.logBatch(id, {
      metrics: [{ key: "acc", value: 0.8 + i / 10, step: 2, timestamp: 1_700_000_002_000 }],
    });
    const file = join(dir, `notes-${i}.txt`);
    const { writeFile } = await import("node:fs/promises");
    await writeFile(file, `run ${i}\n`);
    await store.logArtifact(id, file);
    await store.updateRun(id, { status: "FINISHED", endTime: 1_700_000_010_000 + i });
    ids.push(id);
  }
  return { root, experimentId, runIds: ids as [string, string] };
}

/** `script` from util-linux gives the CLI a terminal (stdin, stdout and stderr); null without it. */
export const SCRIPT = ["/usr/bin/script", "/bin/script"].find((p) => existsSync(p)) ?? null;

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/**
 * Runs `mlruns <args>` on a pseudo-terminal; output is the terminal's. `input` is typed when the
 * command asks (`[y/N] `), however long it took to get there; a command that never asks gets it
 * after a minute, so that the test fails on what it printed rather than hangs.
 */
export function runInTerminal(
  args: readonly string[],
  options: { input?: string; env?: Record<string, string | undefined> } = {},
): Promise<{ code: number | null; output: string }> {
  const command = [process.execPath, CLI, ...args].map(quote).join(" ");
  const env: Record<string, string | undefined> = { ...process.env, TERM: "xterm" };
  for (const key of Object.keys(env)) {
    if (key.startsWith("MLFLOW_") || key === "NO_COLOR" || key === "FORCE_COLOR") delete env[key];
  }
  Object.assign(env, options.env);
  return new Promise((resolve, reject) => {
    const child = spawn(SCRIPT as string, ["-qec", command, "/dev/null"], { env, cwd: REPO_ROOT });
    let output = "";
    const type = () => {
      clearTimeout(fallback);
      if (child.stdin.writable) child.stdin.end(options.input);
    };
    const fallback = setTimeout(type, options.input === undefined ? 0 : 60_000);
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      output += chunk;
      if (options.input !== undefined && output.includes("[y/N] ")) type();
    });
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(fallback);
      resolve({ code, output });
    });
  });
}
