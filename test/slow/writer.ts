/** Spawns the built stress writer (scripts/stress-writer.ts) as a separate Node process. */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../helpers/mlflow-env.ts";

export const WRITER = join(REPO_ROOT, "dist", "scripts", "stress-writer.js");

export function startWriter(args: string[]): ChildProcess {
  if (!existsSync(WRITER)) throw new Error(`${WRITER} is missing: run \`npm run build\` first`);
  return spawn(process.execPath, [WRITER, ...args], { stdio: ["ignore", "pipe", "pipe"] });
}

/** Runs the writer to completion; resolves with stdout, rejects with stderr on failure. */
export function runWriter(args: string[]): Promise<string> {
  const child = startWriter(args);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk) => {
    stdout += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    child.on("close", (code) =>
      code === 0
        ? resolve(stdout)
        : reject(new Error(`writer ${args[0]} exited ${code}: ${stderr}`)),
    );
  });
}

/** A lock file as a process of this host, killed while holding it, leaves it behind. */
export function staleLock(): string {
  const { pid } = spawnSync(process.execPath, ["-e", ""]);
  return `${pid} ${hostname()} ${Date.now()}`;
}
