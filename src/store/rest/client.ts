/**
 * The one HTTP client of the RestStore: base URL (with any path prefix), basic or bearer auth, TLS
 * options, a per-request timeout, retries with exponential backoff, and MLflow error bodies turned
 * into MlflowError with the same code. Credentials never appear in messages.
 */
import type { HttpConfig } from "../../config.ts";
import { type ErrorCode, invalid, isErrorCode, MlflowError } from "../../errors.ts";
import { excerpt } from "../../excerpt.ts";
import {
  type Body,
  exchange,
  type HttpMethod,
  makeAgents,
  NetworkError,
  type RawResponse,
} from "../../http-transport.ts";
import { redactUrl } from "../../redact.ts";

export type Query = Record<string, string | number | boolean | readonly string[] | undefined>;

export interface CallOptions {
  query?: Query;
  json?: unknown;
  body?: Body;
  contentType?: string;
  /**
   * `all` (default): retry on every transient failure; right for reads and idempotent writes.
   * `unsent`: retry only when the server cannot have acted on the request (it never connected,
   * or it answered 429/503), so a create is never carried out twice.
   */
  retry?: "all" | "unsent";
  /** Statuses never retried for this call, even if they usually are. */
  noRetryStatus?: readonly number[];
  /** Hand a 2xx response's body over as a stream (`RawResponse.stream`). */
  streamResponse?: boolean;
}

export const DEFAULT_HTTP: HttpConfig = {
  insecureTls: false,
  maxRetries: 7,
  backoffFactor: 2,
  timeout: 120,
};

const USER_AGENT = "mlruns (mlflow-compatible)";
const MAX_WAIT_SECONDS = 120;
const OFFLINE_HINT =
  "Check the URL and that the server is running. To keep working without it, log to a local " +
  "tree (for example MLFLOW_TRACKING_URI=./mlruns) and push it to the server later with " +
  "`mlruns sync`.";

/** MLflow error codes outside our set, mapped to the nearest one we have. */
const CODE_ALIASES: Record<string, ErrorCode> = {
  CUSTOMER_UNAUTHORIZED: "UNAUTHENTICATED",
  NOT_FOUND: "RESOURCE_DOES_NOT_EXIST",
  ALREADY_EXISTS: "RESOURCE_ALREADY_EXISTS",
  RESOURCE_EXHAUSTED: "REQUEST_LIMIT_EXCEEDED",
  DEADLINE_EXCEEDED: "TEMPORARILY_UNAVAILABLE",
};

function codeForStatus(status: number): ErrorCode {
  if (status === 401) return "UNAUTHENTICATED";
  if (status === 403) return "PERMISSION_DENIED";
  if (status === 404 || status === 405) return "ENDPOINT_NOT_FOUND";
  if (status === 429) return "REQUEST_LIMIT_EXCEEDED";
  if (status === 503 || status === 504) return "TEMPORARILY_UNAVAILABLE";
  if (status >= 500) return "INTERNAL_ERROR";
  return "BAD_REQUEST";
}

const isRetryableStatus = (status: number) =>
  status === 408 || status === 429 || (status >= 500 && status !== 501);

/** A user name or password from a URL; a `%` that starts no escape stands for itself. */
function decodeUserInfo(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Seconds to wait from a Retry-After header (seconds or an HTTP date), if there is one. */
function retryAfterSeconds(value: string | string[] | undefined): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text.trim() === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(text.trim())) return Number(text);
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000);
}

export class RestClient {
  /** The server's URL with any path prefix, without credentials: safe to print. */
  readonly url: string;
  readonly #base: URL;
  /** The path prefix of the base URL, without a trailing slash (often empty). */
  readonly #prefix: string;
  readonly #authorization: string | undefined;
  readonly #config: HttpConfig;
  readonly #agents: ReturnType<typeof makeAgents>;

  constructor(baseUrl: string, config: HttpConfig = DEFAULT_HTTP) {
    let base: URL;
    try {
      base = new URL(baseUrl);
    } catch {
      throw invalid(
        `Invalid tracking server URL '${redactUrl(baseUrl)}'`,
        "Check the host and port. Characters such as / @ : # in a user name or password must be " +
          "percent-encoded (/ as %2F), or set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD.",
      );
    }
    if (base.protocol !== "http:" && base.protocol !== "https:") {
      throw invalid(`A tracking server URL must start with http:// or https://`);
    }
    let { username, password } = config;
    if (base.username !== "" && username === undefined) {
      username = decodeUserInfo(base.username);
      password = decodeUserInfo(base.password);
    }
    base.username = "";
    base.password = "";
    base.search = "";
    base.hash = "";
    this.#prefix = base.pathname.replace(/\/+$/, "");
    base.pathname = "/";
    this.#base = base;
    this.url = `${base.origin}${this.#prefix}`;
    this.#config = { ...DEFAULT_HTTP, ...config };
    if (username && password) {
      this.#authorization = `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
    } else if (config.token) {
      this.#authorization = `Bearer ${config.token}`;
    }
    this.#agents = makeAgents(this.#config);
  }

  /** A full URL for an API path such as `/api/2.0/mlflow/runs/get`. */
  urlFor(path: string, query?: Query): URL {
    const url = new URL(this.#base.toString());
    url.pathname = `${this.#prefix}${path}`;
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value === undefined) continue;
      for (const item of Array.isArray(value) ? value : [value]) {
        url.searchParams.append(key, String(item));
      }
    }
    return url;
  }

  /** Calls a JSON endpoint and returns its parsed body (`{}` for an empty one). */
  async json<T>(method: HttpMethod, path: string, options: CallOptions = {}): Promise<T> {
    const response = await this.send(method, path, options);
    if (response.body.byteLength === 0) return {} as T;
    try {
      return JSON.parse(response.body.toString("utf8")) as T;
    } catch (cause) {
      throw new MlflowError(
        "INTERNAL_ERROR",
        `${method} ${this.url}${path} answered HTTP ${response.status} with a body that is not ` +
          `JSON: ${excerpt(response.body, 200)}`,
        { cause, hint: "Check that the URL points at an MLflow tracking server." },
      );
    }
  }

  /** Sends a request; resolves with a 2xx response, else throws an MlflowError. */
  async send(method: HttpMethod, path: string, options: CallOptions = {}): Promise<RawResponse> {
    const url = this.urlFor(path, options.query);
    const headers: Record<string, string> = {
      "User-Agent": USER_AGENT,
      Accept: "application/json",
    };
    if (this.#authorization !== undefined) headers.Authorization = this.#authorization;
    let body = options.body;
    if (options.json !== undefined) {
      body = Buffer.from(JSON.stringify(options.json), "utf8");
      headers["Content-Type"] = "application/json";
    } else if (body !== undefined) {
      headers["Content-Type"] = options.contentType ?? "application/octet-stream";
    }
    const mode = options.retry ?? "all";
    const { timeout } = this.#config;
    // A streamed body is consumed by the first attempt: it cannot be retried.
    const maxRetries = body !== undefined && "stream" in body ? 0 : this.#config.maxRetries;
    const what = `${method} ${this.url}${path}`;
    for (let attempt = 0; ; attempt++) {
      const left = attempt < maxRetries;
      let response: RawResponse;
      try {
        response = await exchange(
          {
            method,
            url,
            headers,
            timeoutMs: timeout * 1000,
            ...(body ? { body } : {}),
            ...(options.streamResponse ? { streamResponse: true } : {}),
          },
          this.#agents,
        );
      } catch (error) {
        if (!(error instanceof NetworkError)) throw error;
        const { failure } = error;
        const retry = failure.transient && (mode === "all" || failure.beforeConnect);
        if (retry && left) {
          await this.#retryAfter(
            this.#backoffMs(attempt + 1),
            attempt,
            method,
            path,
            failure.detail,
          );
          continue;
        }
        const tries = attempt + 1 === 1 ? "1 attempt" : `${attempt + 1} attempts`;
        const tlsHint =
          failure.kind === "tls"
            ? "If the server uses a private CA, set MLFLOW_TRACKING_SERVER_CERT_PATH to its CA " +
              "bundle (or, for testing only, MLFLOW_TRACKING_INSECURE_TLS=true). "
            : "";
        throw new MlflowError(
          "TEMPORARILY_UNAVAILABLE",
          `Cannot reach the MLflow server at ${this.url}: ${failure.detail} (${method} ${path}, ${tries})`,
          { cause: error, hint: tlsHint + OFFLINE_HINT },
        );
      }
      if (response.status >= 200 && response.status < 300) return response;
      const retry =
        isRetryableStatus(response.status) &&
        !options.noRetryStatus?.includes(response.status) &&
        (mode === "all" || response.status === 429 || response.status === 503);
      if (retry && left) {
        const after = retryAfterSeconds(response.headers["retry-after"]);
        const delay =
          after === undefined
            ? this.#backoffMs(attempt + 1)
            : Math.min(after, MAX_WAIT_SECONDS) * 1000;
        const reason = `HTTP ${response.status}${excerpt(response.body, 200) ? `: ${excerpt(response.body, 200)}` : ""}`;
        await this.#retryAfter(delay, attempt, method, path, reason);
        continue;
      }
      throw this.#httpError(response, what, attempt + 1);
    }
  }

  /** Tells `onRetry` about the retry after `attempt` (0-based), then waits `delayMs`. */
  async #retryAfter(
    delayMs: number,
    attempt: number,
    method: HttpMethod,
    path: string,
    reason: string,
  ): Promise<void> {
    const { maxRetries, onRetry } = this.#config;
    if (onRetry !== undefined) {
      let laterMs = 0;
      for (let retry = attempt + 2; retry <= maxRetries; retry++) laterMs += this.#waitMs(retry);
      onRetry({
        url: this.url,
        request: `${method} ${path}`,
        reason,
        attempt: attempt + 2,
        attempts: maxRetries + 1,
        delayMs,
        laterMs,
      });
    }
    await sleep(delayMs);
  }

  /** urllib3's schedule, as MLflow uses it: no wait before the first retry, then doubling. */
  #waitMs(retry: number): number {
    const { backoffFactor } = this.#config;
    return (retry <= 1 ? 0 : Math.min(MAX_WAIT_SECONDS, backoffFactor * 2 ** (retry - 1))) * 1000;
  }

  /** The wait before retry number `retry` (from 1), with up to a second of jitter. */
  #backoffMs(retry: number): number {
    return this.#waitMs(retry) + Math.random() * Math.min(1, this.#config.backoffFactor) * 1000;
  }

  #httpError(response: RawResponse, what: string, attempts: number): MlflowError {
    const { status, body } = response;
    const suffix = `(HTTP ${status} from ${what}${attempts > 1 ? `, after ${attempts} attempts` : ""})`;
    let parsed: { error_code?: unknown; message?: unknown } | undefined;
    try {
      const value: unknown = JSON.parse(body.toString("utf8"));
      if (value !== null && typeof value === "object") parsed = value as typeof parsed;
    } catch {
      parsed = undefined;
    }
    if (parsed !== undefined && typeof parsed.error_code === "string") {
      const original = parsed.error_code;
      const code = isErrorCode(original)
        ? original
        : (CODE_ALIASES[original] ?? codeForStatus(status));
      const message = typeof parsed.message === "string" ? parsed.message : original;
      const prefix = code === original ? "" : `[${original}] `;
      return new MlflowError(code, `${prefix}${message} ${suffix}`);
    }
    const text = excerpt(body, 200);
    const code = codeForStatus(status);
    if (status === 401) {
      return new MlflowError(code, `The server did not accept the credentials ${suffix}`, {
        hint:
          "Set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (basic auth), or " +
          "MLFLOW_TRACKING_TOKEN (bearer token), to credentials the server accepts.",
      });
    }
    if (status === 403) {
      return new MlflowError(code, `Permission denied: ${text || "no reason given"} ${suffix}`, {
        hint: "Ask the server's admin for permission on this experiment (READ, EDIT or MANAGE).",
      });
    }
    if (code === "ENDPOINT_NOT_FOUND") {
      return new MlflowError(code, `The server has no such endpoint ${suffix}`, {
        hint:
          "Check that the URL points at an MLflow tracking server, including any path prefix; " +
          "an older MLflow may lack this endpoint.",
      });
    }
    return new MlflowError(code, `${text || "The server answered with an error"} ${suffix}`);
  }
}
