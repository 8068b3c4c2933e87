/**
 * The real MLflow, as a test dependency: one Python venv per pinned version, created on first use
 * by `scripts/mlflow-env.sh`, and a way to run Python scripts inside them.
 *
 * Missing Python or a failed install is an error. The only way to skip the compat tests is the
 * explicit opt-out `MLRUNS_SKIP_MLFLOW=1`.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The pinned versions. 3.17.2 is the newest installable 3.x (3.18.0's mlflow-skinny is missing
 * from PyPI); it reads file stores with MLFLOW_ALLOW_FILE_STORE=true and has migrate-filestore. */
export const MLFLOW_VERSIONS = { latest: "3.17.2", v2: "2.22.5" } as const;

export type MlflowVersion = (typeof MLFLOW_VERSIONS)[keyof typeof MLFLOW_VERSIONS];

/** The repository root. */
export const REPO_ROOT = findRepoRoot(dirname(fileURLToPath(import.meta.url)));

/** The checkout holding this file, also when it runs compiled from dist/ (the benchmarks). */
function findRepoRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "scripts", "mlflow-env.sh"))) return dir;
    if (dirname(dir) === dir) throw new Error(`no mlruns checkout above ${start}`);
  }
}

/** `MLRUNS_SKIP_MLFLOW=1` (or `true`) skips every test that needs the real MLflow. */
export const skipMlflow = /^(1|true)$/i.test(process.env.MLRUNS_SKIP_MLFLOW ?? "");

/** Environment given to every MLflow process: file stores allowed, no telemetry, no warnings. */
export const MLFLOW_ENV: Readonly<Record<string, string>> = {
  MLFLOW_ALLOW_FILE_STORE: "true",
  MLFLOW_DISABLE_TELEMETRY: "true",
  DO_NOT_TRACK: "true",
  GIT_PYTHON_REFRESH: "quiet",
  PYTHONWARNINGS: "ignore",
  PYTHONUTF8: "1",
  PYTHONIOENCODING: "utf-8",
};

export function cacheRoot(): string {
  return process.env.MLRUNS_TEST_CACHE || join(homedir(), ".cache", "mlruns");
}

export function venvDir(version: string): string {
  return join(cacheRoot(), "venvs", `mlflow-${version}`);
}

export function venvBin(version: string, exe: "python" | "mlflow"): string {
  return join(venvDir(version), "bin", exe);
}

interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function run(
  command: string,
  args: readonly string[],
  options: { env?: Record<string, string>; input?: string; cwd?: string; inheritStderr?: boolean },
): Promise<ProcessResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? REPO_ROOT,
      env: { ...process.env, ...MLFLOW_ENV, ...options.env },
      stdio: ["pipe", "pipe", options.inheritStderr ? "inherit" : "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr?.on("data", (chunk: Buffer) => err.push(chunk));
    child.on("error", reject);
    child.on("close", (code, signal) =>
      resolvePromise({
        code,
        signal,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      }),
    );
    child.stdin?.end(options.input ?? "");
  });
}

const ensured = new Map<string, Promise<void>>();

/**
 * Creates the pinned venvs when missing (minutes, once per machine) and checks them (fast).
 * `names` picks other environments of the script (`cloud`, `emulators`, `azurite`).
 * Throws with the script's message when Python is missing or an install fails.
 */
export function ensureMlflowEnvs(
  names: readonly string[] = Object.values(MLFLOW_VERSIONS),
): Promise<void> {
  if (skipMlflow) return Promise.resolve();
  const key = names.join(" ");
  let pending = ensured.get(key);
  if (pending !== undefined) return pending;
  pending = (async () => {
    const script = join(REPO_ROOT, "scripts", "mlflow-env.sh");
    const result = await run("bash", [script, ...names], {
      inheritStderr: true,
    });
    if (result.code !== 0) {
      throw new Error(
        `scripts/mlflow-env.sh failed (exit ${result.code ?? result.signal}); see its message ` +
          "above. The compat tests need the real MLflow. Set MLRUNS_SKIP_MLFLOW=1 to skip them.",
      );
    }
  })();
  ensured.set(key, pending);
  pending.catch(() => ensured.delete(key));
  return pending;
}

/**
 * Runs a Python script in the venv of `version` and returns its stdout. Throws with the exit
 * status and stderr when the script fails.
 *
 * The script runs in a fresh fork of a warm Python of that version that has imported MLflow
 * once (test/helpers/python_forks.py), which saves seconds of CPU a call; `fresh` starts a new
 * interpreter instead, for timings that must include the imports.
 */
export async function runPython(
  version: string,
  scriptPath: string,
  args: readonly string[] = [],
  options: { env?: Record<string, string>; input?: string; cwd?: string; fresh?: boolean } = {},
): Promise<string> {
  const result = options.fresh
    ? await run(venvBin(version, "python"), [scriptPath, ...args], options)
    : await warmPython(version).run({
        script: scriptPath,
        args,
        cwd: options.cwd ?? REPO_ROOT,
        env: { ...process.env, ...MLFLOW_ENV, ...options.env },
        input: options.input ?? "",
      });
  if (result.code !== 0) {
    throw new Error(
      `MLflow ${version}: python ${[scriptPath, ...args].join(" ")} exited ` +
        `${result.code ?? result.signal}\n${result.stderr.trim()}`,
    );
  }
  return result.stdout;
}

interface Job {
  script: string;
  args: readonly string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  input: string;
}

interface WarmPython {
  run(job: Job): Promise<ProcessResult>;
}

const FORKS = join(REPO_ROOT, "test", "helpers", "python_forks.py");
const warm = new Map<string, WarmPython>();

/** The warm Python of `version` in this process, started on first use; it ends with us. */
function warmPython(version: string): WarmPython {
  const existing = warm.get(version);
  if (existing !== undefined) return existing;
  const child = spawn(venvBin(version, "python"), [FORKS], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...MLFLOW_ENV },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const jobs = new Map<number, (result: ProcessResult) => void>();
  let nextId = 1;
  let lines = "";
  let stderr = "";
  let failure: Error | undefined;
  const fail = (error: Error) => {
    failure = error;
    warm.delete(version);
    for (const settle of jobs.values()) {
      settle({ code: null, signal: null, stdout: "", stderr: error.message });
    }
    jobs.clear();
  };
  child.on("error", fail);
  child.on("exit", (code, signal) =>
    fail(new Error(`the warm Python of MLflow ${version} exited ${code ?? signal}:\n${stderr}`)),
  );
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-10_000);
  });
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    lines += chunk;
    for (let end = lines.indexOf("\n"); end >= 0; end = lines.indexOf("\n")) {
      const { id, ...result } = JSON.parse(lines.slice(0, end)) as ProcessResult & { id: number };
      lines = lines.slice(end + 1);
      jobs.get(id)?.(result);
      jobs.delete(id);
    }
  });
  // Idle, it keeps this process from nothing; when we exit, its stdin closes and it ends.
  const handles = [child, child.stdin, child.stdout, child.stderr] as unknown as {
    ref(): void;
    unref(): void;
  }[];
  const hold = (busy: boolean) => {
    for (const handle of handles) busy ? handle.ref() : handle.unref();
  };
  hold(false);
  const python: WarmPython = {
    run(job) {
      if (failure !== undefined) return warmPython(version).run(job);
      const id = nextId++;
      hold(true);
      return new Promise((resolve) => {
        jobs.set(id, (result) => {
          if (jobs.size === 1) hold(false);
          resolve(result);
        });
        child.stdin.write(`${JSON.stringify({ id, ...job })}\n`);
      });
    },
  };
  warm.set(version, python);
  return python;
}
