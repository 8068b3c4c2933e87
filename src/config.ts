/**
 * Configuration from the MLFLOW_* environment variables MLflow users already set, resolved in one
 * place. Explicit options always win over the environment.
 */
import { invalid } from "./errors.ts";

export interface HttpConfig {
  username?: string;
  password?: string;
  token?: string;
  insecureTls: boolean;
  serverCertPath?: string;
  maxRetries: number;
  backoffFactor: number;
  /** Seconds per request. */
  timeout: number;
  /** Told before each retry, so that a command can say what it is waiting for. */
  onRetry?: (notice: RetryNotice) => void;
}

/** A request that failed and is about to be sent again. */
export interface RetryNotice {
  /** The server, without credentials, and the request: `POST /api/2.0/mlflow/runs/create`. */
  url: string;
  request: string;
  /** Why the last attempt failed, in one line. */
  reason: string;
  /** The attempt about to be made (2 for the first retry), and how many there are at most. */
  attempt: number;
  attempts: number;
  /** The wait before it, and the longest wait of the attempts after it together. */
  delayMs: number;
  laterMs: number;
}

export interface Config {
  trackingUri: string;
  experimentName?: string;
  experimentId?: string;
  runId?: string;
  artifactLocation?: string;
  mockMode: boolean;
  /**
   * Local-first mode, for a server tracking URI: runs are written to the tree in
   * `localFirstDir` and pushed to the server in the background.
   */
  localFirst: boolean;
  localFirstDir: string;
  /** Seconds the process waits at exit for the background push before saying what is left. */
  localFirstExitTimeout: number;
  http: HttpConfig;
}

export type ConfigOptions = Partial<Omit<Config, "http">> & { http?: Partial<HttpConfig> };

type Env = Record<string, string | undefined>;

/** A variable that does not parse: named, with what it takes. */
const badVariable = (name: string, value: string, wanted: string) =>
  invalid(
    `Environment variable ${name}=${JSON.stringify(value)} is not ${wanted}`,
    `Set ${name} to ${wanted}, or unset it`,
  );

function flag(name: string, value: string | undefined): boolean | undefined {
  if (value === undefined || value === "") return undefined;
  const lower = value.trim().toLowerCase();
  if (["true", "1", "yes", "on"].includes(lower)) return true;
  if (["false", "0", "no", "off"].includes(lower)) return false;
  throw badVariable(name, value, "true or false");
}

function number(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  const parsed = Number(value);
  if (value.trim() === "" || !Number.isFinite(parsed) || parsed < 0) {
    throw badVariable(name, value, "a number of 0 or more");
  }
  return parsed;
}

const defined = <T extends object>(object: T): Partial<T> =>
  Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as Partial<T>;

/** The environment variables `resolveConfig` reads, with what each one sets. */
export const ENVIRONMENT_VARIABLES = {
  MLFLOW_TRACKING_URI: "where runs go: a path, a file: URI, memory:, or an http(s) server",
  MLFLOW_EXPERIMENT_NAME: "the experiment to log into (created when missing)",
  MLFLOW_EXPERIMENT_ID: "the experiment to log into, by id",
  MLFLOW_RUN_ID: "attach to this existing run instead of starting a new one",
  MLFLOW_ARTIFACT_LOCATION: "artifact location of experiments this process creates",
  MLFLOW_MOCK_MODE: "true: keep everything in memory (for tests)",
  MLFLOW_LOCAL_FIRST:
    "true: write runs to a local tree first and push them to the server in the background",
  MLFLOW_LOCAL_FIRST_DIR: "the local tree of local-first mode (default ./mlruns)",
  MLFLOW_LOCAL_FIRST_EXIT_TIMEOUT:
    "seconds to wait at exit for the background push (default 5) before saying what is left",
  MLFLOW_TRACKING_USERNAME: "basic auth user for a server",
  MLFLOW_TRACKING_PASSWORD: "basic auth password for a server",
  MLFLOW_TRACKING_TOKEN: "bearer token for a server",
  MLFLOW_TRACKING_INSECURE_TLS: "true: do not verify the server's TLS certificate",
  MLFLOW_TRACKING_SERVER_CERT_PATH: "a CA bundle (PEM) to verify the server with",
  MLFLOW_HTTP_REQUEST_MAX_RETRIES: "retries on 429, 5xx and connection errors (default 7)",
  MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: "backoff factor in seconds (default 2)",
  MLFLOW_HTTP_REQUEST_TIMEOUT: "seconds per request (default 120)",
} as const;

export function resolveConfig(options: ConfigOptions = {}, env: Env = process.env): Config {
  const http: HttpConfig = {
    insecureTls: false,
    maxRetries: 7,
    backoffFactor: 2,
    timeout: 120,
    ...defined({
      username: env.MLFLOW_TRACKING_USERNAME,
      password: env.MLFLOW_TRACKING_PASSWORD,
      token: env.MLFLOW_TRACKING_TOKEN,
      insecureTls: flag("MLFLOW_TRACKING_INSECURE_TLS", env.MLFLOW_TRACKING_INSECURE_TLS),
      serverCertPath: env.MLFLOW_TRACKING_SERVER_CERT_PATH,
      maxRetries: number("MLFLOW_HTTP_REQUEST_MAX_RETRIES", env.MLFLOW_HTTP_REQUEST_MAX_RETRIES),
      backoffFactor: number(
        "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR",
        env.MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR,
      ),
      timeout: number("MLFLOW_HTTP_REQUEST_TIMEOUT", env.MLFLOW_HTTP_REQUEST_TIMEOUT),
    }),
    ...defined(options.http ?? {}),
  };
  const fromEnv = defined({
    trackingUri: env.MLFLOW_TRACKING_URI || undefined,
    experimentName: env.MLFLOW_EXPERIMENT_NAME || undefined,
    experimentId: env.MLFLOW_EXPERIMENT_ID || undefined,
    runId: env.MLFLOW_RUN_ID || undefined,
    artifactLocation: env.MLFLOW_ARTIFACT_LOCATION || undefined,
    mockMode: flag("MLFLOW_MOCK_MODE", env.MLFLOW_MOCK_MODE),
    localFirst: flag("MLFLOW_LOCAL_FIRST", env.MLFLOW_LOCAL_FIRST),
    localFirstDir: env.MLFLOW_LOCAL_FIRST_DIR || undefined,
    localFirstExitTimeout: number(
      "MLFLOW_LOCAL_FIRST_EXIT_TIMEOUT",
      env.MLFLOW_LOCAL_FIRST_EXIT_TIMEOUT,
    ),
  });
  const { http: _ignored, ...rest } = options;
  return {
    trackingUri: "./mlruns",
    mockMode: false,
    localFirst: false,
    localFirstDir: "./mlruns",
    localFirstExitTimeout: 5,
    ...fromEnv,
    ...defined(rest),
    http,
  };
}
