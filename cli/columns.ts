/**
 * The columns of `mlruns runs list`: the run's fields, then the params and metrics named in the
 * filter and order, then those whose values differ between the runs shown (what a sweep varied
 * and what changed with it). `--columns` names the columns instead.
 */
import type { RunRecord } from "mlruns";
import { UsageError } from "./errors.ts";
import { formatDuration, formatNumber, formatTime, statusColor } from "./output.ts";

export interface Column {
  header: string;
  cell: (run: RunRecord) => string;
  /** Numbers align right. */
  right?: boolean;
}

type Field = (run: RunRecord, experiments: ReadonlyMap<string, string>) => string;

const FIELDS: Record<string, { header: string; cell: Field }> = {
  id: { header: "RUN ID", cell: (r) => r.info.runId },
  name: { header: "NAME", cell: (r) => r.info.runName },
  experiment: {
    header: "EXPERIMENT",
    cell: (r, names) => names.get(r.info.experimentId) ?? r.info.experimentId,
  },
  status: { header: "STATUS", cell: (r) => statusColor(r.info.status) },
  started: { header: "STARTED", cell: (r) => formatTime(r.info.startTime) },
  ended: { header: "ENDED", cell: (r) => formatTime(r.info.endTime) },
  duration: {
    header: "DURATION",
    cell: (r) => formatDuration(r.info.endTime === null ? null : r.info.endTime - r.info.startTime),
  },
  user: { header: "USER", cell: (r) => r.info.userId },
};

const DEFAULT_FIELDS = ["id", "name", "experiment", "status", "started", "duration"];
/** Varying params and metrics shown by default, at most. */
const MAX_VARYING = 8;
const MAX_VARYING_PARAMS = 4;

/** `params.lr`, `metric.acc`, `tags.stage` → the kind and the key. */
function dataColumn(name: string): { kind: "params" | "metrics" | "tags"; key: string } | null {
  const m = /^(params?|parameters?|metrics?|tags?)\.(.+)$/.exec(name);
  if (!m) return null;
  const kind = m[1]?.startsWith("metric") ? "metrics" : m[1]?.startsWith("tag") ? "tags" : "params";
  return { kind, key: (m[2] as string).replace(/^[`"](.*)[`"]$/, "$1") };
}

function column(name: string, experiments: ReadonlyMap<string, string>): Column {
  const field = FIELDS[name];
  if (field) return { header: field.header, cell: (r) => field.cell(r, experiments) };
  const data = dataColumn(name);
  if (data === null) {
    throw new UsageError(
      `Unknown column '${name}'`,
      `Columns: ${Object.keys(FIELDS).join(", ")}, params.<key>, metrics.<key>, tags.<key>`,
    );
  }
  const { kind, key } = data;
  if (kind === "metrics") {
    return { header: name, cell: (r) => formatNumber(r.metrics[key]), right: true };
  }
  return { header: name, cell: (r) => r[kind][key] ?? "" };
}

/** `metrics.x` / `params.y` named in a filter or order-by. */
function referenced(texts: readonly string[]): string[] {
  const found = new Set<string>();
  for (const text of texts) {
    for (const m of text.matchAll(
      /\b(metrics?|params?|parameters?)\.(`[^`]+`|"[^"]+"|[\w./-]+)/g,
    )) {
      const key = (m[2] ?? "").replace(/^[`"]|[`"]$/g, "");
      found.add(`${m[1]?.startsWith("metric") ? "metrics" : "params"}.${key}`);
    }
  }
  return [...found];
}

const same = (a: unknown, b: unknown) =>
  a === b || (typeof a === "number" && typeof b === "number" && Number.isNaN(a) && Number.isNaN(b));

/** Keys of `kind` that hold at least two different values among the runs that have them. */
function varying(runs: readonly RunRecord[], kind: "params" | "metrics"): string[] {
  const firsts = new Map<string, unknown>();
  const differ = new Set<string>();
  for (const run of runs) {
    for (const [key, value] of Object.entries(run[kind])) {
      if (!firsts.has(key)) firsts.set(key, value);
      else if (!same(firsts.get(key), value)) differ.add(key);
    }
  }
  return [...differ].sort().map((k) => `${kind}.${k}`);
}

/**
 * The columns for `runs`: `chosen` (from --columns) if given, else the default ones. `hidden`
 * counts varying columns left out by default.
 */
export function runColumns(
  runs: readonly RunRecord[],
  experiments: ReadonlyMap<string, string>,
  options: { chosen: readonly string[]; searchTexts: readonly string[] },
): { columns: Column[]; hidden: string[] } {
  if (options.chosen.length > 0) {
    return { columns: options.chosen.map((name) => column(name, experiments)), hidden: [] };
  }
  const named = referenced(options.searchTexts);
  const params = varying(runs, "params").filter((c) => !named.includes(c));
  const metrics = varying(runs, "metrics").filter((c) => !named.includes(c));
  const room = Math.max(0, MAX_VARYING - named.length);
  const shownParams = params.slice(0, Math.min(MAX_VARYING_PARAMS, room));
  const shownMetrics = metrics.slice(0, room - shownParams.length);
  const extra = [...named, ...shownParams, ...shownMetrics];
  return {
    columns: [...DEFAULT_FIELDS, ...extra].map((name) => column(name, experiments)),
    hidden: [...params, ...metrics].filter((c) => !extra.includes(c)),
  };
}

/** `--columns a,b --columns c` → ["a", "b", "c"]. */
export function columnList(values: readonly string[]): string[] {
  return values
    .flatMap((v) => v.split(","))
    .map((v) => v.trim())
    .filter((v) => v !== "");
}
