/**
 * The web UI's part of the server (`startServer({ ui: true })`, `mlruns ui`): the built page and
 * its assets at `/`, and the UI's own endpoints under `/_mlruns/` (never MLflow's paths): the
 * runs table's windows, the experiments list with counts, and the one Server-Sent Events stream
 * of changes. Everything else the page asks for goes through MLflow's REST API
 * (`/ajax-api/2.0/mlflow/...`), answered by the server's other routes.
 */
import type { ViewType } from "../../entities.ts";
import { invalid, MlflowError } from "../../errors.ts";
import type { TrackingStore } from "../../store/store.ts";
import { type Handler, type Route, STREAMED } from "../router.ts";
import { Assets, findAssetsDir } from "./assets.ts";
import { ChangeFeed, MAX_SHOWN } from "./events.ts";
import { experimentRows } from "./experiments.ts";
import { matchAll, runsWindow, WindowCache, windowRequest } from "./runs-window.ts";

interface Ui {
  assets: Assets;
  feed: ChangeFeed;
  windows: WindowCache;
}

/** One UI per store the server opened: its assets in memory and its change feed. */
const uis = new WeakMap<TrackingStore, Ui>();

function uiFor(store: TrackingStore): Ui {
  let ui = uis.get(store);
  if (!ui) {
    const windows = new WindowCache();
    ui = {
      assets: new Assets(findAssetsDir()),
      feed: new ChangeFeed(store, () => windows.clear()),
      windows,
    };
    uis.set(store, ui);
  }
  return ui;
}

/** Ends the change streams of a store's UI (open pages reconnect to the next server). */
export function closeUi(store: TrackingStore): void {
  uis.get(store)?.feed.close();
  uis.delete(store);
}

const notFound = (path: string) =>
  new MlflowError("ENDPOINT_NOT_FOUND", `No such page or endpoint: ${path}`);

const asset: Handler = async ({ req, res, store, params }) => {
  const path = `/${params.asset ?? ""}`;
  if (!uiFor(store).assets.serve(req, res, path)) throw notFound(path);
  return STREAMED;
};

const api: Handler = async ({ req, res, store, params, query, idle }) => {
  const ui = uiFor(store);
  switch (params.path) {
    case "events":
      ui.feed.subscribe(req, res, query.get("page") ?? undefined);
      return STREAMED;
    case "api/runs": {
      const started = performance.now();
      const cpu = process.cpuUsage();
      const window = await runsWindow(store, windowRequest(query), ui.windows);
      // How long the server took (search, order, cells) and the CPU time the process spent
      // meanwhile (on a busy machine the two part), for the browser's developer tools.
      const { user, system } = process.cpuUsage(cpu);
      res.setHeader(
        "Server-Timing",
        `window;dur=${(performance.now() - started).toFixed(1)}, cpu;dur=${((user + system) / 1000).toFixed(1)}`,
      );
      return window;
    }
    case "api/watch": {
      // The runs a page shows (re-checked while its stream is open), and the experiments of a
      // page opened on a run or a comparison (searched once, so the index holds their runs).
      const page = query.get("page");
      const runIds = query.getAll("run_id");
      const live = page === null || ui.feed.show(page, runIds);
      // The charts of the runs a person looks at are read ahead (a tree another program wrote).
      if (isSummarizing(store)) store.summarizeAhead(runIds.slice(0, MAX_SHOWN), idle);
      const experimentIds = query.getAll("experiment_id");
      if (experimentIds.length > 0) await matchAll(store, { experimentIds, viewType: "ALL" });
      return { live };
    }
    case "api/experiments":
      return { experiments: await experimentRows(store, viewType(query.get("view"))) };
    default:
      throw notFound(`/_mlruns/${params.path}`);
  }
};

const isSummarizing = (
  store: TrackingStore,
): store is TrackingStore & {
  summarizeAhead(runIds: readonly string[], idle: () => boolean): void;
} => typeof (store as { summarizeAhead?: unknown }).summarizeAhead === "function";

function viewType(value: string | null): ViewType {
  if (value === null || value === "ACTIVE_ONLY" || value === "DELETED_ONLY" || value === "ALL") {
    return value ?? "ACTIVE_ONLY";
  }
  throw invalid("'view' must be ACTIVE_ONLY, DELETED_ONLY or ALL");
}

/** The UI's routes: last in the table, so every MLflow path is matched before them. */
export const uiRoutes: readonly Route[] = [
  { method: "GET", path: "/", handler: asset, feature: "ui" },
  { method: "GET", path: "/_mlruns/*path", handler: api, feature: "ui" },
  { method: "GET", path: "/:asset", handler: asset, feature: "ui" },
];
