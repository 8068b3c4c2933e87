/**
 * A lock file for the few operations that must not interleave across processes (experiment
 * creation and rename, where MLflow itself can create duplicate names). The lock is a plain file
 * at the tree's root, which MLflow ignores, holding the owner's pid, host and time. A lock left by
 * a killed process is taken over: at once when its pid is gone from this host, else after 30 s.
 */
import { promises as fs } from "node:fs";
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { MlflowError } from "../../errors.ts";

const STALE_MS = 30_000;
const GIVE_UP_MS = 60_000;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function isStale(path: string): Promise<boolean> {
  let text: string;
  let mtimeMs: number;
  try {
    [text, { mtimeMs }] = await Promise.all([fs.readFile(path, "utf8"), fs.stat(path)]);
  } catch {
    return false;
  }
  const [pid, host] = text.split(" ");
  if (host === hostname() && pid !== undefined && !isAlive(Number(pid))) return true;
  return Date.now() - mtimeMs > STALE_MS;
}

/**
 * Runs `work` holding the lock at `path`. Waits up to a minute for another holder, or, with
 * `wait: false`, fails at once naming the holder.
 */
export async function withLock<T>(
  path: string,
  work: () => Promise<T>,
  options: { wait?: boolean } = {},
): Promise<T> {
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      await fs.writeFile(path, `${process.pid} ${hostname()} ${Date.now()}`, { flag: "wx" });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      if (await isStale(path)) {
        await fs.rm(path, { force: true });
        continue;
      }
      if (options.wait === false || Date.now() - started > GIVE_UP_MS) {
        const holder = await fs.readFile(path, "utf8").catch(() => "");
        const [pid, host] = holder.split(" ");
        throw new MlflowError(
          "TEMPORARILY_UNAVAILABLE",
          `${path} is held by process ${pid ?? "?"} on ${host ?? "?"}`,
          { hint: "Wait for that mlruns process to finish; if none is running, delete the file" },
        );
      }
      await sleep(Math.min(5 + attempt * 5, 100));
    }
  }
  try {
    return await work();
  } finally {
    await fs.rm(path, { force: true });
  }
}
