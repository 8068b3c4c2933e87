/**
 * Talking to the server: MLflow's REST API (`ajax-api/2.0/mlflow/...`, the same on our server and
 * MLflow's) and our UI's own endpoints (`_mlruns/...`). Relative URLs: the page never asks any
 * other origin.
 */

export class ApiError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly status: number;

  constructor(status: number, code: string, message: string, hint?: string) {
    super(message);
    this.status = status;
    this.code = code;
    this.hint = hint;
  }
}

type Query = Record<string, string | number | boolean | readonly string[] | undefined>;

function queryString(query: Query): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) search.append(key, v);
    else search.append(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

async function request<T>(url: string, init?: RequestInit): Promise<T> {
  const response = await fetch(url, init);
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    throw new ApiError(response.status, "BAD_RESPONSE", text.slice(0, 200) || response.statusText);
  }
  if (!response.ok) {
    const error = body as { error_code?: string; message?: string; hint?: string };
    // Our server puts the hint at the end of MLflow's message: "… (hint: …)".
    const parts = /^([\s\S]*?) \(hint: ([\s\S]*)\)$/.exec(error.message ?? "");
    throw new ApiError(
      response.status,
      error.error_code ?? `HTTP_${response.status}`,
      parts?.[1] ?? error.message ?? response.statusText,
      error.hint ?? parts?.[2],
    );
  }
  return body as T;
}

const MLFLOW = "ajax-api/2.0/mlflow/";

export const mlflow = {
  get: <T>(endpoint: string, query: Query = {}) =>
    request<T>(`${MLFLOW}${endpoint}${queryString(query)}`),
  post: <T>(endpoint: string, body: unknown) =>
    request<T>(`${MLFLOW}${endpoint}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
};

export const ui = {
  get: <T>(endpoint: string, query: Query = {}) =>
    request<T>(`_mlruns/api/${endpoint}${queryString(query)}`),
};

/** A file of a run's artifacts, as MLflow's server serves it. */
export function artifactUrl(runId: string, path: string): string {
  return `get-artifact${queryString({ path, run_uuid: runId })}`;
}

// ---- MLflow's JSON shapes (the parts the UI reads) ----

export interface KeyValue {
  key: string;
  value: string;
}

export interface MlflowMetric {
  key: string;
  /** A number, or "NaN" / "Infinity" / "-Infinity" as the server writes them. */
  value: number | string;
  timestamp: number | string;
  step: number | string;
  run_id?: string;
}

export interface MlflowRunInfo {
  run_id: string;
  run_name?: string;
  experiment_id: string;
  user_id?: string;
  status: string;
  start_time?: number | string;
  end_time?: number | string;
  artifact_uri?: string;
  lifecycle_stage: string;
}

export interface MlflowRun {
  info: MlflowRunInfo;
  data: { metrics?: MlflowMetric[]; params?: KeyValue[]; tags?: KeyValue[] };
  inputs?: {
    dataset_inputs?: {
      tags?: KeyValue[];
      dataset: {
        name: string;
        digest: string;
        source_type?: string;
        source?: string;
        schema?: string;
        profile?: string;
      };
    }[];
  };
}

export interface MlflowExperiment {
  experiment_id: string;
  name: string;
  lifecycle_stage: string;
}

export interface MlflowModelVersion {
  name: string;
  version: string;
  creation_timestamp?: number | string;
  last_updated_timestamp?: number | string;
  current_stage?: string;
  description?: string;
  source?: string;
  run_id?: string;
  status?: string;
  tags?: KeyValue[];
  aliases?: string[];
}

export interface MlflowRegisteredModel {
  name: string;
  creation_timestamp?: number | string;
  last_updated_timestamp?: number | string;
  description?: string;
  latest_versions?: MlflowModelVersion[];
  tags?: KeyValue[];
  aliases?: { alias: string; version: string }[];
}

export interface FileInfo {
  path: string;
  is_dir?: boolean;
  file_size?: number | string;
}

// ---- our endpoints ----

export interface ExperimentRow {
  id: string;
  name: string;
  deleted: boolean;
  created: number | null;
  runs: number;
  running: number;
  lastActivity: number | null;
  tags: Record<string, string>;
}

export type Cell = string | number | null;

export interface RunRow {
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

export interface RunsWindow {
  total: number;
  matched: number;
  offset: number;
  rows: RunRow[];
  keys?: { params: string[]; metrics: string[]; tags: string[] };
}

export interface WindowQuery {
  experimentIds: string[];
  filter?: string;
  orderBy?: string[];
  viewType?: string;
  offset: number;
  limit: number;
  columns: string[];
  expanded: string[];
  keys?: boolean;
}

/** The runs table's window, from our endpoint (query-string names as the server reads them). */
export function fetchWindow(q: WindowQuery): Promise<RunsWindow> {
  return ui.get<RunsWindow>("runs", {
    experiment_id: q.experimentIds,
    filter: q.filter || undefined,
    order_by: q.orderBy,
    view: q.viewType,
    offset: q.offset,
    limit: q.limit,
    column: q.columns,
    expanded: q.expanded,
    keys: q.keys ? "1" : undefined,
  });
}

export const toNumber = (value: number | string | undefined | null): number =>
  value === undefined || value === null ? Number.NaN : Number(value);

export function tagsOf(list: KeyValue[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { key, value } of list ?? []) out[key] = value;
  return out;
}
