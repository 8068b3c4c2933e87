/**
 * The HTTP client of the object-store repositories: one request signed afresh on every attempt,
 * retried with backoff on network failures, 408, 429 and 5xx (every request a repository sends is
 * idempotent), and an error answer turned into an MlflowError by the store's own `explain`.
 * Signatures and tokens travel in headers or the query and never reach a message.
 */
import { MlflowError } from "../errors.ts";
import {
  type Body,
  exchange,
  type HttpMethod,
  makeAgents,
  NetworkError,
  type RawResponse,
  type TlsOptions,
} from "../http-transport.ts";
import type { Env } from "./repository.ts";

export interface CloudRequest {
  method: HttpMethod;
  url: URL;
  headers?: Record<string, string>;
  body?: Body;
  /** Statuses that are an answer, not an error (a 404 that means "missing", GCS's 308). */
  accept?: readonly number[];
  /** Keep a 2xx body unread in `stream` (downloads). */
  stream?: boolean;
}

export interface CloudHttpOptions {
  /** Printed in messages: `S3`, `Azure Blob Storage`, ... */
  service: string;
  tls: TlsOptions;
  /** Adds authentication to a request about to be sent (called on every attempt). */
  sign: (request: CloudRequest & { headers: Record<string, string> }) => Promise<void>;
  /** An MlflowError for an error answer. */
  explain: (response: RawResponse, request: CloudRequest) => MlflowError;
  /** Read for MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT, the idle timeout in seconds (120 by default). */
  env: Env;
  maxRetries?: number;
}

const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const AGENTS = new Map<string, ReturnType<typeof makeAgents>>();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class CloudHttp {
  readonly #options: CloudHttpOptions;
  readonly #agents: ReturnType<typeof makeAgents>;
  readonly #timeoutMs: number;

  constructor(options: CloudHttpOptions) {
    this.#options = options;
    const timeout = Number(options.env.MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT);
    this.#timeoutMs = (timeout > 0 ? timeout : 120) * 1000;
    // One pool per TLS setting for the whole process: a sync opens a repository per run.
    const key = `${options.tls.insecureTls}:${options.tls.serverCertPath ?? ""}`;
    let agents = AGENTS.get(key);
    if (agents === undefined) {
      agents = makeAgents(options.tls);
      AGENTS.set(key, agents);
    }
    this.#agents = agents;
  }

  async send(request: CloudRequest): Promise<RawResponse> {
    const { maxRetries = 6, service } = this.#options;
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { "User-Agent": "mlruns", ...request.headers };
      const signed = { ...request, headers };
      await this.#options.sign(signed);
      let response: RawResponse;
      try {
        response = await exchange(
          {
            method: request.method,
            url: signed.url,
            headers,
            timeoutMs: this.#timeoutMs,
            ...(request.body === undefined ? {} : { body: request.body }),
            ...(request.stream ? { streamResponse: true } : {}),
          },
          this.#agents,
        );
      } catch (error) {
        if (!(error instanceof NetworkError)) throw error;
        if (error.failure.transient && attempt < maxRetries) {
          await sleep(backoffMs(attempt));
          continue;
        }
        const tls =
          error.failure.kind === "tls"
            ? " For a private CA set AWS_CA_BUNDLE (S3); for testing only, MLFLOW_S3_IGNORE_TLS=true."
            : "";
        throw new MlflowError(
          "TEMPORARILY_UNAVAILABLE",
          `Cannot reach ${service} at ${signed.url.host}: ${error.failure.detail} ` +
            `(${request.method}, ${attempt + 1} attempt${attempt === 0 ? "" : "s"})`,
          { cause: error, hint: `Check the network and the endpoint.${tls}` },
        );
      }
      const { status } = response;
      if ((status >= 200 && status < 300) || request.accept?.includes(status)) return response;
      if (RETRY_STATUS.has(status) && attempt < maxRetries) {
        await sleep(backoffMs(attempt));
        continue;
      }
      throw this.#options.explain(response, request);
    }
  }
}

function backoffMs(attempt: number): number {
  return Math.min(20_000, 250 * 2 ** attempt) * (0.5 + Math.random() / 2);
}

/** The MLflow code for an HTTP status of an object store. */
export function codeFor(status: number): MlflowError["code"] {
  if (status === 401) return "UNAUTHENTICATED";
  if (status === 403) return "PERMISSION_DENIED";
  if (status === 404) return "RESOURCE_DOES_NOT_EXIST";
  if (status === 429) return "REQUEST_LIMIT_EXCEEDED";
  if (status === 503) return "TEMPORARILY_UNAVAILABLE";
  if (status >= 500) return "INTERNAL_ERROR";
  return "BAD_REQUEST";
}
