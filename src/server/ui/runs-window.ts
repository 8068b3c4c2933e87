/**
 * The runs table's data: one window of the rows a filter and order give, with nested runs folded
 * under their parents and only the columns on screen. MLflow's `runs/search` pages with opaque
 * tokens and sends whole runs; a table scrolled to row 60,000 of 100,000 needs random access,
 * the total, and a few cells a row.
 */
import type { Run, ViewType } from "../../entities.ts";
import { invalid } from "../../errors.ts";
import type { TrackingStore } from "../../store/store.ts";

export interface WindowRequest {
  experimentIds: string[];
  filter?: string;
  /** MLflow order_by elements, or our `duration ASC|DESC`. */
  orderBy?: string[];
  viewType?: ViewType;
  offset?: number;
  limit?: number;
  /** `p:<key>`, `t:<key>`, `m:<key>` (latest), `m:<key>:min`, `m:<key>:max`. */
  columns?: string[];
  /** Parent runs whose children are shown under them. */
  expanded?: string[];
  /** Also list every param, metric and tag key of the matched runs (for the column picker). */
  keys?: boolean;
}

/** A cell: strings and numbers as they are; NaN and the infinities as JSON cannot hold them. */
export type Cell = string | number | null;

export interface Row {
  id: string;
  name: string;
  experimentId: string;
  status: string;
  start: number;
  end: number | null;
  user: string;
  source: string;
  deleted: boolean;
  depth: number;
  children: number;
  parentId: string | null;
  cells: Cell[];
}

export interface WindowResult {
  /** Rows in display order (children of expanded parents included). */
  total: number;
  /** Runs the filter matched. */
  matched: number;
  offset: number;
  rows: Row[];
  keys?: { params: string[]; metrics: string[]; tags: string[] };
}

export const MAX_WINDOW = 1000;
/**
 * Windows that end within the first HEAD_ROWS rows are served from an order of those rows only
 * (the rest of the matches counted, not sorted): the first screen of a table over 100,000 runs
 * costs a pass over them rather than a sort. A window further down sorts them all, once.
 */
export const HEAD_ROWS = 1000;
const PARENT_TAG = "mlflow.parentRunId";

/** A store that can hand out every match unpaged and uncopied (FileStore). */
interface Matching {
  matchRuns(
    request: {
      experimentIds: string[];
      filter?: string;
      orderBy?: string[];
      viewType?: ViewType;
    },
    first?: number,
  ): Promise<readonly Run[]>;
}

function canMatch(store: TrackingStore): store is TrackingStore & Matching {
  return typeof (store as Partial<Matching>).matchRuns === "function";
}

/**
 * Every matching run in order: unpaged from a FileStore, else page by page through searchRuns.
 * Given `first`, only the first `first` need be in order (a FileStore then orders no more).
 */
export async function matchAll(
  store: TrackingStore,
  request: Pick<WindowRequest, "experimentIds" | "filter" | "orderBy" | "viewType">,
  first?: number,
): Promise<readonly Run[]> {
  const { experimentIds, filter, orderBy, viewType } = request;
  const ordered = orderBy?.filter((o) => !DURATION.test(o));
  const duration = orderBy?.find((o) => DURATION.test(o));
  const query = { experimentIds, filter, orderBy: ordered, viewType };
  let runs: readonly Run[];
  // The duration sort is stable over the store's order: that order must then be whole.
  if (canMatch(store)) runs = await store.matchRuns(query, duration ? undefined : first);
  else {
    const all: Run[] = [];
    let pageToken: string | undefined;
    do {
      const page = await store.searchRuns({ ...query, maxResults: 50_000, pageToken });
      all.push(...page.runs);
      pageToken = page.nextPageToken;
    } while (pageToken);
    runs = all;
  }
  return duration ? sortByDuration(runs, /desc/i.test(duration)) : runs;
}

const DURATION = /^\s*duration(\s+(asc|desc))?\s*$/i;

/** Stable: runs still running (no duration) last, as MLflow puts missing values. */
function sortByDuration(runs: readonly Run[], descending: boolean): Run[] {
  const length = (run: Run) =>
    run.info.endTime === null ? null : run.info.endTime - run.info.startTime;
  return [...runs].sort((a, b) => {
    const x = length(a);
    const y = length(b);
    if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
    return descending ? y - x : x - y;
  });
}

export interface DisplayRow {
  run: Run;
  depth: number;
  children: number;
}

/** The table's rows in order: `length`, and the row at an index. */
export interface Display {
  length: number;
  at(index: number): DisplayRow;
}

/**
 * Display order: roots in search order, each expanded parent followed by its children. Without
 * any nested run (the common case), the search order as it is, with no copy.
 */
export function displayOrder(runs: readonly Run[], expanded: ReadonlySet<string>): Display {
  if (!hasNested(runs)) {
    return { length: runs.length, at: (i) => ({ run: runs[i] as Run, depth: 0, children: 0 }) };
  }
  const present = new Set(runs.map((r) => r.info.runId));
  const children = new Map<string, Run[]>();
  const roots: Run[] = [];
  for (const run of runs) {
    const parent = run.data.tags[PARENT_TAG];
    if (parent && parent !== run.info.runId && present.has(parent)) {
      const list = children.get(parent);
      if (list) list.push(run);
      else children.set(parent, [run]);
    } else roots.push(run);
  }
  const out: DisplayRow[] = [];
  const seen = new Set<string>();
  const visit = (run: Run, depth: number) => {
    if (seen.has(run.info.runId)) return; // a parent cycle written by hand
    seen.add(run.info.runId);
    const kids = children.get(run.info.runId) ?? [];
    out.push({ run, depth, children: kids.length });
    if (expanded.has(run.info.runId)) for (const kid of kids) visit(kid, depth + 1);
  };
  for (const run of roots) visit(run, 0);
  return { length: out.length, at: (i) => out[i] as DisplayRow };
}

const hasNested = (runs: readonly Run[]) =>
  runs.some((run) => run.data.tags[PARENT_TAG] !== undefined);

/**
 * Recent display orders and key lists, so the blocks a scroll asks for in a row cost a slice
 * rather than a search. An entry lives until a change is seen in the tree, and at most
 * `maxAgeMs` after its answer came (changes in runs the watches do not cover are then seen by
 * the next search); while it is being made, every request for it waits for the same answer.
 * Counting from the answer matters on a busy machine, where making it can take longer than
 * `maxAgeMs`: counted from the ask, every block of a scroll would search again.
 */
export class WindowCache {
  readonly #entries = new Map<string, { at: number | undefined; value: Promise<unknown> }>();
  readonly #maxAgeMs: number;

  constructor(maxAgeMs = 2000) {
    this.#maxAgeMs = maxAgeMs;
  }

  get<T>(key: string, make: () => Promise<T>): Promise<T> {
    if (this.#maxAgeMs < 0) return make();
    const kept = this.#entries.get(key);
    if (kept && (kept.at === undefined || Date.now() - kept.at <= this.#maxAgeMs)) {
      return kept.value as Promise<T>;
    }
    const value = make();
    const entry: { at: number | undefined; value: Promise<unknown> } = { at: undefined, value };
    this.#entries.set(key, entry);
    value.then(
      () => {
        entry.at = Date.now();
      },
      () => {
        if (this.#entries.get(key) === entry) this.#entries.delete(key);
      },
    );
    if (this.#entries.size > 8) this.#entries.delete(this.#entries.keys().next().value as string);
    return value;
  }

  clear(): void {
    this.#entries.clear();
  }
}

type Column =
  | { kind: "p" | "t"; key: string }
  | { kind: "m"; key: string; aggregate: "last" | "min" | "max" };

export function parseColumn(spec: string): Column {
  const kind = spec.slice(0, 2);
  const rest = spec.slice(2);
  if ((kind === "p:" || kind === "t:") && rest) return { kind: kind[0] as "p" | "t", key: rest };
  if (kind === "m:" && rest) {
    const match = /^(.*):(min|max)$/.exec(rest);
    if (match?.[1]) return { kind: "m", key: match[1], aggregate: match[2] as "min" | "max" };
    return { kind: "m", key: rest, aggregate: "last" };
  }
  throw invalid(
    `Unknown column '${spec}'`,
    "Name columns as p:<param>, t:<tag>, m:<metric>, m:<metric>:min or m:<metric>:max",
  );
}

export function jsonNumber(value: number): number | string {
  if (Number.isFinite(value)) return value;
  return Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";
}

/** Min and max over a metric's history; NaN points are left out unless all are NaN. */
async function extremes(
  store: TrackingStore,
  runId: string,
  key: string,
): Promise<{ min: number; max: number } | null> {
  const history = await store.getMetricHistory(runId, key);
  if (history.length === 0) return null;
  let min = Number.NaN;
  let max = Number.NaN;
  for (const { value } of history) {
    if (Number.isNaN(value)) continue;
    if (!(value >= min)) min = value;
    if (!(value <= max)) max = value;
  }
  return { min, max };
}

async function cellsOf(store: TrackingStore, run: Run, columns: Column[]): Promise<Cell[]> {
  const cells: Cell[] = [];
  for (const column of columns) {
    if (column.kind !== "m") {
      const values = column.kind === "p" ? run.data.params : run.data.tags;
      cells.push(values[column.key] ?? null);
    } else if (column.aggregate === "last") {
      const metric = run.data.metrics[column.key];
      cells.push(metric ? jsonNumber(metric.value) : null);
    } else if (!run.data.metrics[column.key]) cells.push(null);
    else {
      const found = await extremes(store, run.info.runId, column.key);
      cells.push(found ? jsonNumber(found[column.aggregate]) : null);
    }
  }
  return cells;
}

function keysOf(runs: readonly Run[]): NonNullable<WindowResult["keys"]> {
  const params = new Set<string>();
  const metrics = new Set<string>();
  const tags = new Set<string>();
  for (const { data } of runs) {
    for (const key in data.params) params.add(key);
    for (const key in data.metrics) metrics.add(key);
    for (const key in data.tags) tags.add(key);
  }
  const sorted = (set: Set<string>) => [...set].sort();
  return { params: sorted(params), metrics: sorted(metrics), tags: sorted(tags) };
}

/**
 * The request from the query string: `experiment_id`, `order_by`, `column` and `expanded`
 * repeated; `filter`, `view`, `offset`, `limit`, `keys=1`. INVALID_PARAMETER_VALUE names a bad one.
 */
export function windowRequest(query: URLSearchParams): WindowRequest {
  const integer = (name: string, max: number): number | undefined => {
    const text = query.get(name);
    if (text === null) return undefined;
    const value = Number(text);
    if (!/^\d+$/.test(text) || value > max) {
      throw invalid(`'${name}' must be an integer from 0 to ${max}, not '${text}'`);
    }
    return value;
  };
  const view = query.get("view") ?? undefined;
  if (view !== undefined && view !== "ACTIVE_ONLY" && view !== "DELETED_ONLY" && view !== "ALL") {
    throw invalid("'view' must be ACTIVE_ONLY, DELETED_ONLY or ALL");
  }
  const experimentIds = query.getAll("experiment_id");
  if (experimentIds.length === 0) {
    throw invalid("Name at least one experiment_id", "e.g. ?experiment_id=0");
  }
  return {
    experimentIds,
    filter: query.get("filter") ?? undefined,
    orderBy: query.getAll("order_by"),
    viewType: view,
    offset: integer("offset", Number.MAX_SAFE_INTEGER),
    limit: integer("limit", MAX_WINDOW),
    columns: query.getAll("column"),
    expanded: query.getAll("expanded"),
    keys: query.get("keys") === "1",
  };
}

/** No cache: every request searches (tests, one-off callers). */
const NO_CACHE = new WindowCache(-1);

export async function runsWindow(
  store: TrackingStore,
  request: WindowRequest,
  cache: WindowCache = NO_CACHE,
): Promise<WindowResult> {
  const columns = (request.columns ?? []).map(parseColumn);
  const { experimentIds, filter, orderBy, viewType, expanded } = request;
  const query = { experimentIds, filter, orderBy, viewType };
  const limit = request.limit ?? 100;
  // Folded runs need the whole order (a child sits under its parent wherever that falls).
  type Order = { rows: Display; matched: readonly Run[] };
  const order = (first?: number) => async (): Promise<Order> => {
    const matched = await matchAll(store, query, first);
    if (first !== undefined && hasNested(matched)) return order()();
    return { rows: displayOrder(matched, new Set(expanded ?? [])), matched };
  };
  const head = (request.offset ?? 0) + limit <= HEAD_ROWS;
  const { rows, matched } = await cache.get(
    JSON.stringify([head ? "head" : "order", query, expanded ?? []]),
    order(head ? HEAD_ROWS : undefined),
  );
  const offset = Math.min(request.offset ?? 0, rows.length);
  const end = Math.min(rows.length, offset + limit);
  const out: Row[] = [];
  for (let i = offset; i < end; i++) {
    const { run, depth, children } = rows.at(i);
    const { info, data } = run;
    out.push({
      id: info.runId,
      name: info.runName,
      experimentId: info.experimentId,
      status: info.status,
      start: info.startTime,
      end: info.endTime,
      user: info.userId,
      source: data.tags["mlflow.source.name"] ?? "",
      deleted: info.lifecycleStage === "deleted",
      depth,
      children,
      parentId: data.tags[PARENT_TAG] ?? null,
      cells: await cellsOf(store, run, columns),
    });
  }
  const result: WindowResult = { total: rows.length, matched: matched.length, offset, rows: out };
  if (request.keys) {
    result.keys = await cache.get(JSON.stringify(["keys", query]), async () => keysOf(matched));
  }
  return result;
}
