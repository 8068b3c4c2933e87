/** Spawns the built stress writer (scripts/stress-writer.ts) as a separate Node process. */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../helpers/mlflow-env.ts";

export const WRITER = join(REPO_ROOT, "dist", "scripts", "stress-writer.js");

/**
 * How long a writer may take to say it is ready or at work: however loaded the machine, a writer
 * that has said nothing in two minutes is stuck, and the test fails then rather than at its own
 * timeout, which must allow for every trial on a loaded machine.
 */
const SAY_WITHIN = 120_000;

export interface Writer {
  child: ChildProcess;
  /** Resolves with stdout when the writer exits 0; rejects with its stderr otherwise. */
  done: Promise<string>;
  /** Resolves when the writer has printed `line` (`ready`, `op 3`, `syncing`), however long
   * it took to start; rejects when it exits first. */
  said(line: string): Promise<void>;
}

export function startWriter(args: string[]): Writer {
  if (!existsSync(WRITER)) throw new Error(`${WRITER} is missing: run \`npm run build\` first`);
  const child = spawn(process.execPath, [WRITER, ...args], { stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  const waiting: { line: string; resolve: () => void }[] = [];
  child.stdout?.on("data", (chunk) => {
    stdout += chunk;
    const lines = stdout.split("\n");
    for (const w of waiting.filter((w) => lines.includes(w.line))) {
      waiting.splice(waiting.indexOf(w), 1);
      w.resolve();
    }
  });
  child.stderr?.on("data", (chunk) => {
    stderr += chunk;
  });
  // A writer killed on purpose closes its stdin pipe early: that is no error of the test's.
  child.stdin?.on("error", () => {});
  const done = new Promise<string>((resolve, reject) => {
    child.on("close", (code, signal) =>
      code === 0
        ? resolve(stdout)
        : reject(new Error(`writer ${args[0]} exited ${code ?? signal}: ${stderr}`)),
    );
  });
  const said = (line: string) => {
    if (stdout.split("\n").includes(line)) return Promise.resolve();
    let stuck: NodeJS.Timeout | undefined;
    const heard = new Promise<void>((resolve, reject) => {
      waiting.push({ line, resolve });
      done.then(() => reject(new Error(`writer ${args[0]} ended without saying ${line}`)), reject);
      stuck = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`writer ${args[0]} said no ${line} within ${SAY_WITHIN / 1000} s`));
      }, SAY_WITHIN);
    });
    return heard.finally(() => clearTimeout(stuck));
  };
  // A killed writer's `done` rejects; callers that kill it await `done` themselves if they care.
  done.catch(() => {});
  return { child, done, said };
}

/** Runs the writer to completion; resolves with stdout, rejects with stderr on failure. */
export function runWriter(args: string[]): Promise<string> {
  const writer = startWriter(args);
  writer.child.stdin?.end();
  return writer.done;
}

/**
 * Starts one writer per argument list with `--together`, waits until every one has loaded and
 * said `ready`, then lets them all write at once; resolves with each one's stdout after `ready`.
 */
export async function runTogether(argsList: string[][]): Promise<string[]> {
  const writers = argsList.map((args) => startWriter([...args, "--together"]));
  try {
    await Promise.all(writers.map((w) => w.said("ready")));
  } finally {
    for (const w of writers) w.child.stdin?.end();
  }
  return Promise.all(writers.map(async (w) => (await w.done).replace(/^ready\n/, "")));
}

/** A lock file as a process of this host, killed while holding it, leaves it behind. */
export function staleLock(): string {
  const { pid } = spawnSync(process.execPath, ["-e", ""]);
  return `${pid} ${hostname()} ${Date.now()}`;
}
