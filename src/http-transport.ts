/**
 * One HTTP exchange over node:http / node:https: TLS options (CA bundle, insecure), an idle
 * timeout, a body from memory or streamed from a file, and a plain description of what failed on
 * the network. Node's built-in `fetch` cannot take TLS options without the `undici` package, so
 * this uses the core modules instead. Retries and MLflow errors live in `client.ts`.
 */
import { createReadStream, readFileSync } from "node:fs";
import http, { type IncomingHttpHeaders } from "node:http";
import https from "node:https";
import { Readable } from "node:stream";
import { invalid, MlflowError } from "./errors.ts";

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/**
 * A request body: bytes in memory, a local file streamed afresh on every attempt, or a stream
 * of chunks (sent chunked, once: it cannot be sent again).
 */
export type Body =
  | Uint8Array
  | { file: string; size: number }
  | { stream: AsyncIterable<Uint8Array> };

export interface Exchange {
  method: HttpMethod;
  url: URL;
  headers: Record<string, string>;
  body?: Body;
  /** Idle timeout in milliseconds: no bytes sent or received for this long fails the attempt. */
  timeoutMs: number;
  /** Hand a 2xx response's body over as a stream instead of reading it whole. */
  streamResponse?: boolean;
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The whole body (empty when `stream` carries it). */
  body: Buffer;
  /** A 2xx body, when the exchange asked for a stream. */
  stream?: http.IncomingMessage;
}

/** Why an exchange failed before a complete response arrived. */
export interface NetworkFailure {
  kind: "dns" | "refused" | "unreachable" | "reset" | "timeout" | "tls" | "other";
  /** One line for a person: what failed, without credentials. */
  detail: string;
  /** True when the server cannot have seen the request (it never connected). */
  beforeConnect: boolean;
  /** True when repeating the attempt may help. */
  transient: boolean;
  cause: unknown;
}

export class NetworkError extends Error {
  override readonly name = "NetworkError";
  readonly failure: NetworkFailure;
  constructor(failure: NetworkFailure) {
    super(failure.detail, { cause: failure.cause });
    this.failure = failure;
  }
}

export interface TlsOptions {
  insecureTls: boolean;
  serverCertPath?: string | undefined;
}

/** Keep-alive agents for one client; sockets idle in the pool do not keep the process alive. */
export function makeAgents(tls: TlsOptions): { http: http.Agent; https: https.Agent } {
  if (tls.insecureTls && tls.serverCertPath) {
    throw invalid(
      "MLFLOW_TRACKING_INSECURE_TLS and MLFLOW_TRACKING_SERVER_CERT_PATH are mutually exclusive",
      "Either trust the server through a CA bundle, or turn certificate checks off; not both.",
    );
  }
  let ca: Buffer | undefined;
  if (tls.serverCertPath) {
    try {
      ca = readFileSync(tls.serverCertPath);
    } catch (cause) {
      throw new MlflowError(
        "INVALID_PARAMETER_VALUE",
        `Cannot read the CA bundle MLFLOW_TRACKING_SERVER_CERT_PATH=${tls.serverCertPath}`,
        { cause, hint: "Point it at a readable PEM file with the server's CA certificates." },
      );
    }
  }
  return {
    http: recycling(new http.Agent({ keepAlive: true, maxSockets: 16 })),
    https: recycling(
      new https.Agent({
        keepAlive: true,
        maxSockets: 16,
        rejectUnauthorized: !tls.insecureTls,
        ...(ca === undefined ? {} : { ca }),
      }),
    ),
  };
}

/**
 * Requests a kept-alive connection carries before it is closed. A server of several worker
 * processes (`mlflow server --workers 4`) serves a connection in the worker that accepted it,
 * and one worker may accept several at once: ours then queue in one process while others idle
 * (a push to PostgreSQL took 35 to 69 s for the same work). A new connection is accepted by a
 * worker that is free, so closing each after a few requests spreads them over the workers.
 */
export const REQUESTS_PER_CONNECTION = 16;

function recycling<A extends http.Agent>(agent: A): A {
  const uses = new WeakMap<object, number>();
  const keep = agent.keepSocketAlive.bind(agent);
  agent.keepSocketAlive = (socket) => {
    const used = (uses.get(socket) ?? 0) + 1;
    uses.set(socket, used);
    // Node's agent closes a socket this returns false for (its declared type says void).
    return used < REQUESTS_PER_CONNECTION && keep(socket);
  };
  return agent;
}

const TLS_CODES = new Set([
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "ERR_SSL_WRONG_VERSION_NUMBER",
  "EPROTO",
]);

function describe(error: unknown, url: URL, connected: boolean): NetworkFailure {
  const code = (error as { code?: string }).code ?? "";
  const where = url.host;
  const base = { cause: error, beforeConnect: !connected };
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_NONAME") {
    return {
      ...base,
      kind: "dns",
      detail: `DNS lookup of '${url.hostname}' failed (${code})`,
      transient: code === "EAI_AGAIN",
    };
  }
  if (code === "ECONNREFUSED") {
    return {
      ...base,
      kind: "refused",
      detail: `connection refused: nothing is listening on ${where}`,
      transient: true,
    };
  }
  if (code === "EHOSTUNREACH" || code === "ENETUNREACH" || code === "EADDRNOTAVAIL") {
    return {
      ...base,
      kind: "unreachable",
      detail: `${where} is unreachable (${code})`,
      transient: true,
    };
  }
  if (TLS_CODES.has(code) || /certificate|ssl|tls/i.test(String((error as Error).message))) {
    return {
      ...base,
      kind: "tls",
      detail: `TLS handshake with ${where} failed: ${(error as Error).message} (${code || "TLS"})`,
      transient: false,
    };
  }
  if (code === "ETIMEDOUT" || code === "ESOCKETTIMEDOUT") {
    return {
      ...base,
      kind: "timeout",
      detail: `connecting to ${where} timed out`,
      transient: true,
    };
  }
  if (code === "ECONNRESET" || code === "EPIPE" || code === "ECONNABORTED") {
    return {
      ...base,
      kind: "reset",
      detail: `the connection to ${where} was closed before a complete response (${code})`,
      transient: true,
    };
  }
  return {
    ...base,
    kind: "other",
    detail: `request to ${where} failed: ${(error as Error).message ?? String(error)}`,
    transient: true,
  };
}

/** Sends one request and reads the whole response; rejects with a NetworkError on failure. */
export function exchange(
  request: Exchange,
  agents: { http: http.Agent; https: https.Agent },
): Promise<RawResponse> {
  const { url, method, body, timeoutMs } = request;
  const secure = url.protocol === "https:";
  const headers: Record<string, string> = { ...request.headers };
  if (body instanceof Uint8Array) headers["Content-Length"] = String(body.byteLength);
  else if (body !== undefined && "file" in body) headers["Content-Length"] = String(body.size);
  return new Promise<RawResponse>((resolve, reject) => {
    let connected = false;
    let settled = false;
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      if (error instanceof NetworkError) reject(error);
      else {
        const failure = describe(error, url, connected);
        // A keep-alive socket the server had already closed: the request never reached it.
        if (failure.kind === "reset" && req.reusedSocket) failure.beforeConnect = true;
        reject(new NetworkError(failure));
      }
    };
    const req = (secure ? https : http).request(url, {
      method,
      headers,
      agent: secure ? agents.https : agents.http,
    });
    req.on("socket", (socket) => {
      const connecting = (socket as { connecting?: boolean }).connecting;
      if (!connecting) connected = true;
      else socket.once(secure ? "secureConnect" : "connect", () => (connected = true));
    });
    req.setTimeout(timeoutMs, () => {
      const seconds = Math.round(timeoutMs / 100) / 10;
      req.destroy(
        new NetworkError({
          kind: "timeout",
          detail: connected
            ? `no response from ${url.host} within ${seconds} s`
            : `connecting to ${url.host} timed out after ${seconds} s`,
          beforeConnect: !connected,
          transient: true,
          cause: undefined,
        }),
      );
    });
    req.on("error", fail);
    req.on("response", (res) => {
      const status = res.statusCode ?? 0;
      if (request.streamResponse && status >= 200 && status < 300) {
        settled = true;
        resolve({ status, headers: res.headers, body: Buffer.alloc(0), stream: res });
        return;
      }
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", fail);
      res.on("aborted", () =>
        fail(Object.assign(new Error("response aborted"), { code: "ECONNRESET" })),
      );
      res.on("end", () => {
        if (settled) return;
        settled = true;
        resolve({ status, headers: res.headers, body: Buffer.concat(chunks) });
      });
    });
    if (body === undefined) req.end();
    else if (body instanceof Uint8Array) req.end(body);
    else {
      const stream = "file" in body ? createReadStream(body.file) : Readable.from(body.stream);
      stream.on("error", (error: Error) => req.destroy(error));
      stream.pipe(req);
    }
  });
}
