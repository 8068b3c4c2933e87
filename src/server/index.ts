/**
 * `startServer`: MLflow's tracking server (REST API 2.0, the artifact proxy, the model registry,
 * MLflow 3's logged models) over an `mlruns` tree, on node:http. The tree is opened as a
 * `FileStore` with its search index watched, so searches stay warm and see changes other
 * processes make. Every request goes: Host check → credentials → route → origin and read-only
 * checks for writes → the handler, which only calls the store interfaces.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { hostname } from "node:os";
import { resolve } from "node:path";
import { MlflowError } from "../errors.ts";
import { FileStore } from "../store/file/index.ts";
import type { TrackingStore } from "../store/store.ts";
import { VERSION } from "../version.ts";
import { INSTANCE_HEADER, newInstance, removeDiscovery, writeDiscovery } from "./discovery.ts";
import {
  checkJsonContentType,
  errorReply,
  HttpError,
  parseJsonBody,
  readBody,
  sendJson,
} from "./http.ts";
import { fromJson, fromQuery } from "./message.ts";
import { type Match, pathSegments, type RequestContext, Router, STREAMED } from "./router.ts";
import { routes } from "./routes.ts";
import {
  allowedHostNames,
  type Credentials,
  checkAuth,
  checkHost,
  checkOrigin,
  hasCredentials,
  isLoopback,
} from "./security.ts";
import { closeUi } from "./ui/index.ts";

export type { Credentials } from "./security.ts";

export interface ServerOptions {
  /** The mlruns tree to serve (created when missing). */
  root: string;
  /** Interface to listen on: 127.0.0.1 unless told otherwise. */
  host?: string;
  /** Port; 0 picks a free one. Default 5000, as `mlflow server`. */
  port?: number;
  /** Refuse every request that would change the tree. */
  readOnly?: boolean;
  /** Require these credentials (basic, bearer, or both) on every request but `/health`. */
  credentials?: Credentials;
  /** More names the `Host` header may carry (e.g. a DNS name of this machine). */
  allowedHosts?: readonly string[];
  /** Origins (e.g. `https://notebooks.example.com`) allowed to send writes from a browser. */
  allowedOrigins?: readonly string[];
  /** The largest JSON request body, in bytes (default 16 MiB). */
  maxBodyBytes?: number;
  /** Serve the web UI at `/`. */
  ui?: boolean;
  /** Where warnings and unexpected errors go (default: stderr). Never receives credentials. */
  log?: (line: string) => void;
  /** Also log one line per request: method, path (no query), status, milliseconds. */
  accessLog?: boolean;
}

export interface RunningServer {
  /** `http://host:port`, for MLFLOW_TRACKING_URI. */
  url: string;
  host: string;
  port: number;
  root: string;
  /** Stops accepting requests, lets those in flight finish, saves the index, closes watches. */
  close(): Promise<void>;
}

const DEFAULT_MAX_BODY = 16 << 20;
/** How long `close` waits for requests in flight before it cuts their connections. */
const CLOSE_GRACE_MS = 10_000;

/** Warnings for a configuration that exposes the tree (printed by `startServer`). */
export function exposureWarning(host: string, credentials?: Credentials): string | undefined {
  if (isLoopback(host) || hasCredentials(credentials)) return undefined;
  return (
    `warning: listening on ${host} without credentials: anyone who can reach this machine ` +
    "can read and change the tree. Set credentials (see `mlruns server --help`) or listen on " +
    "127.0.0.1."
  );
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const root = resolve(options.root);
  const host = options.host ?? "127.0.0.1";
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const store = new FileStore(root, { searchIndex: { watch: true } });
  // As `mlflow server` does with its store: a missing tree is created (a folder or file that
  // holds something else is refused by `exists`).
  if (!(await store.exists())) await store.init();
  const router = new Router(routes.filter((r) => r.feature === undefined || options.ui));
  const allowedHosts = allowedHostNames(host, options.allowedHosts);
  const credentials = hasCredentials(options.credentials) ? options.credentials : undefined;
  const warning = exposureWarning(host, credentials);
  if (warning !== undefined) log(warning);

  const instance = newInstance();
  const server = createServer((req, res) => {
    if (options.accessLog) {
      const started = performance.now();
      res.once("close", () => {
        const ms = Math.round(performance.now() - started);
        log(`${req.method} ${pathOf(req)} ${res.statusCode} ${ms}ms`);
      });
    }
    res.setHeader("X-Mlruns-Version", VERSION);
    res.setHeader(INSTANCE_HEADER, instance);
    res.setHeader("X-Content-Type-Options", "nosniff");
    handle(req, res).catch((error: unknown) => {
      if (aborted(req, error)) {
        res.destroy();
        return;
      }
      const reply = errorReply(error);
      if (reply.unexpected) log(`error: ${req.method} ${pathOf(req)}: ${describe(error)}`);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // Drain what the client is still sending, so it reads the answer rather than a reset;
      // past a body cap, close the connection after the answer instead.
      if (reply.status === 413) res.setHeader("Connection", "close");
      else req.resume();
      if (error instanceof HttpError) {
        for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
      }
      sendJson(res, reply.status, reply.body);
    });
  });

  /** Requests being handled (a stream counts until it is set up): background work waits. */
  let handling = 0;
  const idle = () => handling === 0;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    handling++;
    try {
      await route(req, res);
    } finally {
      handling--;
    }
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawPath = pathOf(req);
    const exempt = rawPath === "/health" || rawPath === "/version";
    if (!exempt) checkHost(req, allowedHosts);
    if (credentials !== undefined && rawPath !== "/health") checkAuth(req, credentials);
    const match = router.match(req.method ?? "GET", pathSegments(rawPath));
    if (match === undefined) {
      throw new HttpError(404, "ENDPOINT_NOT_FOUND", `No endpoint ${req.method} ${rawPath}`);
    }
    if (!("route" in match)) {
      res.setHeader("Allow", match.methods.join(", "));
      throw new HttpError(
        405,
        "ENDPOINT_NOT_FOUND",
        `${req.method} is not allowed on ${rawPath}; use ${match.methods.join(" or ")}`,
      );
    }
    const { route } = match;
    if (route.writes ?? route.method !== "GET") {
      checkOrigin(req, options.allowedOrigins ?? []);
      if (options.readOnly) {
        throw new MlflowError("PERMISSION_DENIED", "This server is read-only (--read-only)");
      }
    }
    const result = await route.handler(context(req, res, match, store));
    if (result !== STREAMED) sendJson(res, 200, result);
  }

  function context(
    req: IncomingMessage,
    res: ServerResponse,
    { route, params }: Match,
    tracking: TrackingStore,
  ): RequestContext {
    const query = new URLSearchParams((req.url ?? "").split("?")[1] ?? "");
    return {
      req,
      res,
      params,
      query,
      store: tracking,
      idle,
      async read(schema) {
        if (req.method === "GET") return fromQuery(schema, query);
        checkJsonContentType(req);
        const body = await readBody(req, route.maxBody ?? options.maxBodyBytes ?? DEFAULT_MAX_BODY);
        return fromJson(schema, parseJsonBody(body));
      },
    };
  }

  await new Promise<void>((ready, fail) => {
    server.once("error", fail);
    server.listen(options.port ?? 5000, host, () => {
      server.off("error", fail);
      ready();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  const url = `http://${urlHost}:${port}`;
  await writeDiscovery(root, {
    url,
    pid: process.pid,
    host: hostname(),
    instance,
    auth: credentials !== undefined,
    startedAt: Date.now(),
  });

  const warming = warmUp(store).catch((error: unknown) => {
    log(`warning: the search index was not loaded ahead: ${(error as Error).message}`);
  });

  let closing: Promise<void> | undefined;
  return {
    url,
    host,
    port,
    root,
    close() {
      closing ??= (async () => {
        closeUi(store);
        const closed = new Promise<void>((done) => server.close(() => done()));
        server.closeIdleConnections();
        const timer = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
        await closed;
        clearTimeout(timer);
        await removeDiscovery(root, instance);
        await warming;
        await store.flush();
        await store.close?.();
      })();
      return closing;
    },
  };
}

/**
 * Loads the search index (and sets its watches) as soon as the server listens, so that the
 * first search a client sends, maybe minutes later, answers warm instead of reading the tree.
 */
async function warmUp(store: TrackingStore): Promise<void> {
  const experiments = await store.listExperiments("ALL");
  if (experiments.length === 0) return;
  const experimentIds = experiments.map((e) => e.experimentId);
  await store.searchRuns({ experimentIds, viewType: "ALL", maxResults: 1 });
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? "/";
  const end = url.indexOf("?");
  return end === -1 ? url : url.slice(0, end);
}

/** The client went away mid-request: nothing to answer, nothing to log. */
function aborted(req: IncomingMessage, error: unknown): boolean {
  const code = (error as { code?: string } | undefined)?.code;
  return (
    req.socket.destroyed ||
    code === "ECONNRESET" ||
    code === "EPIPE" ||
    code === "ERR_STREAM_PREMATURE_CLOSE"
  );
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
