/**
 * A throwaway PostgreSQL for tests and benchmarks: Debian's postgresql package (initdb, postgres,
 * createdb), a cluster in a temp dir, listening on 127.0.0.1 on a free port with trust
 * authentication and fsync off, one database. PostgreSQL refuses to run as root, so under root
 * it runs as the `postgres` user the package creates. `stop()` shuts it down and removes the dir;
 * a server still running when the process exits is killed then.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { chown, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./mlflow-server.ts";

export interface Postgres {
  /** `postgresql+psycopg2://mlruns@127.0.0.1:<port>/mlflow`, for `mlflow server`. */
  uri: string;
  port: number;
  stop(): Promise<void>;
}

const USER = "mlruns";
const DATABASE = "mlflow";
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) if (child.pid) process.kill(-child.pid, "SIGKILL");
});

/** The newest installed PostgreSQL's programs (/usr/lib/postgresql/<major>/bin). */
function binDir(): string {
  const root = "/usr/lib/postgresql";
  const majors = existsSync(root)
    ? readdirSync(root)
        .filter((name) => existsSync(join(root, name, "bin", "postgres")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (majors[0] === undefined) {
    throw new Error(
      "PostgreSQL is not installed (no /usr/lib/postgresql/<version>/bin/postgres): " +
        "apt-get install postgresql (15 on Debian 12)",
    );
  }
  return join(root, majors[0], "bin");
}

/** Under root, the uid and gid of the `postgres` user; otherwise nothing to change. */
function account(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }));
  return { uid: id("-u"), gid: id("-g") };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function startPostgres(): Promise<Postgres> {
  const bin = binDir();
  const owner = account();
  const dir = await mkdtemp(join(tmpdir(), "mlruns-postgres-"));
  if (owner) await chown(dir, owner.uid, owner.gid);
  const data = join(dir, "data");
  const run = (program: string, args: string[]) =>
    execFileSync(join(bin, program), args, { ...owner, cwd: dir, stdio: "pipe" });
  run("initdb", ["-D", data, "-U", USER, "--auth=trust", "-E", "UTF8", "--no-sync"]);
  const port = await freePort();
  const child = spawn(
    join(bin, "postgres"),
    [
      "-D",
      data,
      "-h",
      "127.0.0.1",
      "-p",
      String(port),
      "-k",
      dir,
      "-F",
      "-c",
      "max_connections=200",
    ],
    { ...owner, cwd: dir, detached: true, stdio: ["ignore", "ignore", "pipe"] },
  );
  running.add(child);
  let log = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    log = (log + chunk.toString("utf8")).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      process.kill(-child.pid, "SIGINT"); // fast shutdown
      await Promise.race([exited, sleep(10_000)]);
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid, "SIGKILL");
    }
    running.delete(child);
    await rm(dir, { recursive: true, force: true });
  };
  for (let waited = 0; ; waited += 200) {
    try {
      run("createdb", ["-h", "127.0.0.1", "-p", String(port), "-U", USER, DATABASE]);
      break;
    } catch (error) {
      if (child.exitCode !== null || waited > 60_000) {
        await stop();
        throw new Error(`PostgreSQL did not start:\n${log}`, { cause: error });
      }
      await sleep(200);
    }
  }
  return { uri: `postgresql+psycopg2://${USER}@127.0.0.1:${port}/${DATABASE}`, port, stop };
}
