/**
 * A real `mlflow server` for tests: one pinned MLflow version from the compat venvs, a SQLite
 * backend (or another, e.g. PostgreSQL from test/helpers/postgres.ts) and a local artifacts
 * destination behind `--serve-artifacts` in a temp dir, on 127.0.0.1 and a free port, with one
 * worker unless told. `stop()` kills its whole process group (uvicorn or
 * gunicorn workers included) and removes the temp dir; servers still running when the test process
 * exits are killed then.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { access, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MLFLOW_ENV, venvBin } from "./mlflow-env.ts";

export interface MlflowServer {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string;
  version: string;
  port: number;
  /** The temp dir holding the database and artifacts (removed by `stop`). */
  dir: string;
  /** The admin account, for a basic-auth server. */
  admin?: { username: string; password: string };
  /** The last part of the server's output, for failure messages. */
  log(): string;
  stop(): Promise<void>;
  /** Kills the server with SIGKILL, keeping its database and artifacts. */
  crash(): Promise<void>;
  /** Starts it again on the same port and data (after `crash`). */
  restart(): Promise<void>;
}

export interface StartOptions {
  version: string;
  /** Start MLflow's basic-auth app (`--app-name basic-auth`) with a known admin. */
  basicAuth?: boolean;
  /** Seconds to wait for `/health`; MLflow takes ≈5–10 s on two cores, more when they are busy. */
  readyTimeout?: number;
  /**
   * Serve MLflow's file store at this folder instead of SQLite, with the proxied artifacts in
   * the same folder (`<experiment>/<run>/artifacts`, as in a tree). The folder is left in place.
   */
  fileStore?: string;
  /** Serve this existing SQLite database (left in place) instead of a fresh one. */
  database?: string;
  /** Another backend store (`postgresql+psycopg2://…`), instead of SQLite. */
  backendStoreUri?: string;
  /** Server worker processes (default 1). */
  workers?: number;
  /**
   * `--no-serve-artifacts --default-artifact-root <uri>`: the server hands clients this bucket's
   * URIs and they upload themselves.
   */
  artifactRoot?: string;
  /** `--serve-artifacts --artifacts-destination <uri>` (a bucket) instead of a local folder. */
  artifactsDestination?: string;
  /** More environment for the server (a bucket's credentials). */
  env?: Record<string, string>;
  /**
   * Take the port and the data folder but leave the server down until `restart()`: for a test
   * that begins with the server away, which then need not pay for a start it kills at once.
   */
  down?: boolean;
}

const ADMIN = { username: "admin", password: "admin-password-1234" };
const LOG_LIMIT = 20_000;
const running = new Set<ChildProcess>();

process.once("exit", () => {
  for (const child of running) killGroup(child, "SIGKILL");
});

function killGroup(child: ChildProcess | undefined, signal: NodeJS.Signals): void {
  if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function startMlflowServer(options: StartOptions): Promise<MlflowServer> {
  const {
    version,
    basicAuth = false,
    readyTimeout = 90,
    artifactRoot,
    artifactsDestination,
  } = options;
  const mlflow = venvBin(version, "mlflow");
  await access(mlflow).catch((cause: unknown) => {
    throw new Error(
      `MLflow ${version} is not installed (${mlflow} is missing). Run scripts/mlflow-env.sh, ` +
        "or set MLRUNS_SKIP_MLFLOW=1 to skip the tests that need the real MLflow.",
      { cause },
    );
  });
  const dir = await mkdtemp(join(tmpdir(), `mlruns-server-${version}-`));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = {
    ...MLFLOW_ENV,
    MLFLOW_SERVER_ENABLE_JOB_EXECUTION: "false",
    ...options.env,
  };
  const args = [
    "server",
    "--backend-store-uri",
    options.backendStoreUri ??
      options.fileStore ??
      `sqlite:///${options.database ?? join(dir, "mlflow.db")}`,
    ...(artifactRoot === undefined
      ? [
          "--serve-artifacts",
          "--artifacts-destination",
          options.fileStore ?? artifactsDestination ?? join(dir, "artifacts"),
        ]
      : ["--no-serve-artifacts", "--default-artifact-root", artifactRoot]),
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
    "--workers",
    String(options.workers ?? 1),
  ];
  if (basicAuth) {
    const ini = join(dir, "auth.ini");
    await writeFile(
      ini,
      [
        "[mlflow]",
        "default_permission = READ",
        `database_uri = sqlite:///${join(dir, "basic_auth.db")}`,
        `admin_username = ${ADMIN.username}`,
        `admin_password = ${ADMIN.password}`,
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth",
        "",
      ].join("\n"),
    );
    env.MLFLOW_AUTH_CONFIG_PATH = ini;
    env.MLFLOW_FLASK_SERVER_SECRET_KEY = "mlruns-test-secret";
    args.push("--app-name", "basic-auth");
  }
  let output = "";
  let child: ChildProcess | undefined;
  let exited = Promise.resolve();
  let spawnError: Error | undefined;
  const launch = () => {
    spawnError = undefined;
    child = spawn(mlflow, args, {
      cwd: dir,
      env: { ...process.env, ...env },
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    running.add(child);
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString("utf8")).slice(-LOG_LIMIT);
    };
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    const current = child;
    exited = new Promise<void>((resolve) => current.once("exit", () => resolve()));
    current.once("exit", () => running.delete(current));
    current.once("error", (error) => {
      spawnError = error;
    });
  };

  /** Ends the server's whole process group, politely first unless `signal` says otherwise. */
  const kill = async (signal: NodeJS.Signals = "SIGTERM") => {
    killGroup(child, signal);
    const done = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
    if (!done) {
      killGroup(child, "SIGKILL");
      await Promise.race([exited, sleep(5_000)]);
    }
    // Workers may outlive a parent that died first: sweep the group once more.
    try {
      if (child?.pid !== undefined) process.kill(-child.pid, "SIGKILL");
    } catch {
      // The group is gone.
    }
  };

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await kill();
    await rm(dir, { recursive: true, force: true });
  };

  const waitReady = async () => {
    const deadline = Date.now() + readyTimeout * 1000;
    for (;;) {
      if (spawnError !== undefined || child?.exitCode !== null || child.signalCode !== null) {
        await stop();
        throw new Error(
          `mlflow ${version} server exited before it was ready` +
            `${spawnError ? ` (${spawnError.message})` : ""}:\n${output.slice(-4000)}`,
        );
      }
      const ok = await fetch(`${url}/health`)
        .then((r) => r.ok)
        .catch(() => false);
      if (ok) return;
      if (Date.now() > deadline) {
        await stop();
        throw new Error(
          `mlflow ${version} server was not ready within ${readyTimeout} s:\n${output.slice(-4000)}`,
        );
      }
      await sleep(250);
    }
  };

  if (!options.down) {
    launch();
    await waitReady();
  }

  return {
    url,
    version,
    port,
    dir,
    ...(basicAuth ? { admin: { ...ADMIN } } : {}),
    log: () => output,
    stop,
    crash: () => kill("SIGKILL"),
    async restart() {
      launch();
      await waitReady();
    },
  };
}
