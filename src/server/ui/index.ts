/**
 * The web UI's part of the server: the built page and its assets at `/`, and the UI's own
 * endpoints under `/_mlruns/` (never MLflow's paths): the runs table's windows, the experiments
 * list with counts, and the one Server-Sent Events stream of changes. Everything else the page
 * asks for goes through MLflow's REST API (`/ajax-api/2.0/mlflow/...`), answered by the server.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ViewType } from "../../entities.ts";
import { invalid, isMlflowError } from "../../errors.ts";
import type { TrackingStore } from "../../store/store.ts";
import { Assets, findAssetsDir } from "./assets.ts";
import { ChangeFeed } from "./events.ts";
import { experimentRows } from "./experiments.ts";
import { checkWindowRequest, runsWindow } from "./runs-window.ts";

export const UI_PREFIX = "/_mlruns/";
const MAX_BODY = 1 << 20;

export interface UiOptions {
  store: TrackingStore;
  /** The built UI; found beside the package by default. */
  assetsDir?: string;
}

export interface Ui {
  /** Answers the request when it is the UI's; false when it is not (MLflow's API, say). */
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  close(): void;
}

export function createUi(options: UiOptions): Ui {
  const { store } = options;
  const assets = new Assets(options.assetsDir ?? findAssetsDir());
  const feed = new ChangeFeed(store);
  const api: Record<string, (req: IncomingMessage, url: URL) => Promise<unknown>> = {
    "POST /_mlruns/api/runs": async (req) =>
      runsWindow(store, checkWindowRequest(await readJson(req))),
    "GET /_mlruns/api/experiments": async (_req, url) => ({
      experiments: await experimentRows(store, viewType(url.searchParams.get("view"))),
    }),
  };
  return {
    async handle(req, res) {
      const url = new URL(req.url ?? "/", "http://localhost");
      const method = req.method ?? "GET";
      if (!url.pathname.startsWith(UI_PREFIX)) {
        return (method === "GET" || method === "HEAD") && assets.serve(req, res, url.pathname);
      }
      if (method === "GET" && url.pathname === "/_mlruns/events") {
        feed.subscribe(req, res);
        return true;
      }
      const route = api[`${method} ${url.pathname}`];
      if (!route) {
        sendJson(res, 404, {
          error_code: "ENDPOINT_NOT_FOUND",
          message: `No UI endpoint ${method} ${url.pathname}`,
        });
        return true;
      }
      try {
        sendJson(res, 200, await route(req, url));
      } catch (error) {
        if (!isMlflowError(error)) throw error;
        sendJson(res, error.httpStatus, {
          error_code: error.code,
          message: error.message,
          ...(error.hint ? { hint: error.hint } : {}),
        });
      }
      return true;
    },
    close: () => feed.close(),
  };
}

function viewType(value: string | null): ViewType {
  if (value === null || value === "ACTIVE_ONLY" || value === "DELETED_ONLY" || value === "ALL") {
    return value ?? "ACTIVE_ONLY";
  }
  throw invalid("'view' must be ACTIVE_ONLY, DELETED_ONLY or ALL");
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw invalid("The request body is larger than 1 MB");
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw invalid("The request body is not valid JSON");
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
  });
  res.end(text);
}
