/**
 * `mlruns metrics history <run> <key...> [-r run]...`: one or more metrics, of one or more runs,
 * as a table and a chart in the terminal (several series are overlaid, in colour). Histories of
 * any length: the table reads the history page by page (keeping only the rows it shows), the
 * chart asks for a sampled history (the lowest and highest point of each stretch).
 */
import { historyPages, type Metric, MlflowError, type TrackingStore } from "mlruns";
import { chart, type Point } from "../chart.ts";
import { defineGroup } from "../command.ts";
import { defineCommand, list, openContext } from "../context.ts";
import { UsageError } from "../errors.ts";
import {
  c,
  colorsEnabled,
  formatDuration,
  formatNumber,
  formatTime,
  note,
  print,
  printJson,
  table,
} from "../output.ts";
import { runResolver, SCOPE_OPTION } from "../run-ref.ts";

type Axis = "step" | "time" | "elapsed" | "index";

interface Series {
  runId: string;
  runName: string;
  key: string;
  /** How many points the history holds, and its last ones (as many as the table shows). */
  total: number;
  points: Metric[];
}

/** Points a page: what an MLflow server answers at most. */
const PAGE = 25_000;

/** The first point of a history, if any: whether there is one. */
async function firstOf(store: TrackingStore, runId: string, key: string) {
  const { metrics } = await store.getMetricHistoryPage(runId, key, { maxResults: 1 });
  return { total: metrics.length, points: metrics };
}

/** The last `count` points of a history (all for 0) and how many it holds, page by page. */
async function tailOf(store: TrackingStore, runId: string, key: string, count: number) {
  let points: Metric[] = [];
  let total = 0;
  for await (const page of historyPages(store, runId, key, PAGE)) {
    total += page.length;
    points = count === 0 ? points.concat(page) : points.concat(page).slice(-count);
  }
  return { total, points };
}

/** A whole number option within [min, max]. */
function bounded(name: string, value: number | undefined, min: number, max: number) {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(
      `--${name} must be a whole number from ${min} to ${max}, got ${value}`,
      name === "width" ? "The chart is as wide as the terminal by default" : undefined,
    );
  }
  return value;
}

/** The x of each point on the chosen axis. */
function xs(points: readonly Metric[], axis: Axis): number[] {
  if (axis === "index") return points.map((_, i) => i);
  if (axis === "step") return points.map((p) => p.step);
  if (axis === "time") return points.map((p) => p.timestamp);
  let first = Infinity;
  for (const p of points) if (p.timestamp < first) first = p.timestamp;
  return points.map((p) => p.timestamp - first);
}

/** Axis labels: dates for wall time (the clock alone within a day), durations for elapsed. */
function axisLabel(axis: Axis): (x: number, span: number) => string {
  if (axis === "elapsed") return (x) => formatDuration(Math.round(x)) || "0ms";
  if (axis !== "time") return (x) => formatNumber(x);
  return (x, span) => {
    const text = formatTime(x);
    return span < 86_400_000 ? text.slice(11) : text.slice(0, 16);
  };
}

const PALETTE = [c.cyan, c.yellow, c.magenta, c.green, c.blue, c.red];
const paint = (i: number, text: string) => (PALETTE[i % PALETTE.length] ?? c.cyan)(text);

async function missingKey(store: TrackingStore, runId: string, runName: string, key: string) {
  const keys = Object.keys((await store.getRun(runId)).data.metrics).sort();
  return new MlflowError("RESOURCE_DOES_NOT_EXIST", `Run '${runName}' has no metric '${key}'`, {
    hint:
      keys.length === 0
        ? `It has no metrics (run ${runId})`
        : `Its metrics: ${keys.slice(0, 20).join(", ")}${keys.length > 20 ? ", ..." : ""}`,
  });
}

const pointRow = (p: Metric) => [String(p.step), formatNumber(p.value), formatTime(p.timestamp)];

/** Every point of one history as table rows, printed a page at a time (widths of the first). */
async function printAllRows(store: TrackingStore, runId: string, key: string) {
  let widths: number[] | undefined;
  for await (const page of historyPages(store, runId, key, PAGE)) {
    const rows = page.map(pointRow);
    if (widths === undefined) {
      const [step, value] = [0, 1].map((i) =>
        Math.max(i === 0 ? 4 : 5, ...rows.slice(0, 1000).map((row) => (row[i] ?? "").length)),
      );
      widths = [step ?? 4, value ?? 5];
      print(
        c.bold(`${"STEP".padStart(widths[0] ?? 4)}  ${"VALUE".padStart(widths[1] ?? 5)}  TIME`),
      );
    }
    const [step = 4, value = 5] = widths;
    print(rows.map(([s, v, t]) => `${s?.padStart(step)}  ${v?.padStart(value)}  ${t}`).join("\n"));
  }
}

function printTable(series: readonly Series[], axis: Axis, limit: number, labels: string[]) {
  const one = series.length === 1 ? series[0] : undefined;
  if (one !== undefined) {
    const shown = limit > 0 ? one.points.slice(-limit) : one.points;
    if (shown.length < one.total) {
      print(c.dim(`last ${shown.length} of ${one.total} points (--tail 0 shows all)`));
    }
    table(["STEP", "VALUE", "TIME"], shown.map(pointRow), [0, 1]);
    return;
  }
  // Several series: one row per x, one column per series (its last value at that x).
  const rows = new Map<number, (number | undefined)[]>();
  series.forEach((s, i) => {
    const at = xs(s.points, axis);
    s.points.forEach((p, j) => {
      const x = at[j] as number;
      const row = rows.get(x) ?? new Array<number | undefined>(series.length).fill(undefined);
      row[i] = p.value;
      rows.set(x, row);
    });
  });
  const ordered = [...rows.entries()].sort((a, b) => a[0] - b[0]);
  const shown = limit > 0 ? ordered.slice(-limit) : ordered;
  if (shown.length < ordered.length) {
    print(c.dim(`last ${shown.length} of ${ordered.length} rows (--tail 0 shows all)`));
  }
  const label = axisLabel(axis);
  table(
    [axis.toUpperCase(), ...labels],
    shown.map(([x, values]) => [label(x, 0), ...values.map((v) => formatNumber(v))]),
    series.map((_, i) => i + 1).concat(axis === "time" ? [] : [0]),
  );
}

/**
 * Each series sampled for a chart `width` characters wide: two braille dots a character, the
 * lowest and highest point of each (at most MLflow's 2,500 points a run).
 */
async function chartPoints(store: TrackingStore, series: readonly Series[], width: number) {
  const maxPoints = Math.min(2500, 4 * width + 2);
  const byKey = new Map<string, Map<string, Metric[]>>();
  for (const key of new Set(series.map((s) => s.key))) {
    const runIds = [...new Set(series.filter((s) => s.key === key).map((s) => s.runId))];
    const runs = new Map<string, Metric[]>();
    for (const { runId, ...point } of await store.getMetricHistorySampled(runIds, key, {
      maxPoints,
    })) {
      const points = runs.get(runId);
      if (points) points.push(point);
      else runs.set(runId, [point]);
    }
    byKey.set(key, runs);
  }
  return series.map((s) => byKey.get(s.key)?.get(s.runId) ?? []);
}

const history = defineCommand<{
  run: string;
  keys: string[];
  runs?: string[];
  experiment?: string[];
  chart: boolean;
  table: boolean;
  style: "braille" | "blocks";
  x: Axis;
  width?: number;
  height?: number;
  tail?: number;
}>({
  command: "history <run> <keys..>",
  describe: "Metric histories: a table and a chart; several keys or runs are overlaid",
  builder: (y) =>
    y
      .positional("run", {
        type: "string",
        demandOption: true,
        describe: "run id, unique id prefix, name, or latest",
      })
      .positional("keys", { type: "string", array: true, demandOption: true, describe: "metrics" })
      .option("runs", {
        alias: "r",
        type: "string",
        array: true,
        describe: "more runs to overlay (repeatable)",
      })
      .option("experiment", SCOPE_OPTION)
      .option("chart", { type: "boolean", default: true, describe: "draw the chart (--no-chart)" })
      .option("table", { type: "boolean", default: true, describe: "print the table (--no-table)" })
      .option("style", { choices: ["braille", "blocks"], default: "braille" })
      .option("x", {
        choices: ["step", "time", "elapsed", "index"],
        default: "step",
        describe: "x axis: step, wall time, time since the first point, or point number",
      })
      .option("width", { type: "number", describe: "chart width in characters (10-1000)" })
      .option("height", { type: "number", describe: "chart height in characters (2-200)" })
      .option("tail", {
        alias: "limit",
        type: "number",
        describe: "table rows: the last N points (default 20; 0: all)",
      })
      .example("$0 metrics history latest loss", "table and braille chart")
      .example("$0 metrics history latest loss val_loss", "two metrics in one chart")
      .example("$0 metrics history baseline loss -r tuned -r 3f2a", "three runs in one chart")
      .example("$0 metrics history 3f2a loss --style blocks --no-table", "a bar chart only")
      .example("$0 metrics history 3f2a loss --tail 100 --no-chart", "the last 100 points")
      .example("$0 metrics history 3f2a loss --json", "{ runId, key, history: [...] }"),
  async handler(args) {
    const width = bounded("width", args.width, 10, 1000);
    const height = bounded("height", args.height, 2, 200) ?? 10;
    const limit = bounded("tail", args.tail, 0, Number.MAX_SAFE_INTEGER) ?? 20;
    const context = await openContext(args, { read: true });
    const { store } = context;
    const resolve = await runResolver(context, list(args.experiment));
    const runIds: string[] = [];
    for (const ref of [String(args.run), ...list(args.runs)]) {
      const id = await resolve(ref);
      if (!runIds.includes(id)) runIds.push(id);
    }
    const keys = [...new Set(list(args.keys))];
    const single = runIds.length === 1 && keys.length === 1;
    if (args.style === "blocks" && !single && args.chart && !args.json) {
      throw new UsageError("--style blocks draws one series", "Overlay with braille (the default)");
    }
    const series: Series[] = [];
    const missing: MlflowError[] = [];
    // --json and the point-number axis need every point; the table only its last rows, and a
    // table of one whole history is printed as it is read.
    const whole = args.json || (args.chart && args.x === "index");
    const streamed = !whole && args.table && single && limit === 0;
    const tail = whole ? 0 : args.table && !streamed ? limit : undefined;
    for (const runId of runIds) {
      // The info alone: the run's data would read every metric file to its latest point.
      const { runName } = await store.getRunInfo(runId);
      for (const key of keys) {
        const { total, points } =
          tail === undefined
            ? await firstOf(store, runId, key)
            : await tailOf(store, runId, key, tail);
        if (total > 0) series.push({ runId, runName, key, total, points });
        else missing.push(await missingKey(store, runId, runName, key));
      }
    }
    if (series.length === 0) throw missing[0];
    for (const m of missing) note(c.yellow(`warning: ${m.message} (${m.hint})`));
    const shape = (s: Series) => ({
      runId: s.runId,
      key: s.key,
      history: s.points.map((p) => ({ step: p.step, value: p.value, timestamp: p.timestamp })),
    });
    if (args.json) {
      const first = series[0] as Series;
      if (single) printJson(shape(first), "history");
      else printJson({ series: series.map((s) => ({ ...shape(s), runName: s.runName })) });
      return;
    }
    const labels = series.map((s) =>
      runIds.length === 1 ? s.key : keys.length === 1 ? s.runName : `${s.runName} ${s.key}`,
    );
    const first = series[0] as Series;
    if (streamed) await printAllRows(store, first.runId, first.key);
    else if (args.table) printTable(series, args.x, limit, labels);
    if (!args.chart) return;
    const columns = process.stdout.columns ?? 80;
    if (args.table) print();
    print(c.bold(`${single ? series[0]?.key : labels.join(", ")} by ${args.x}`));
    const plotWidth = width ?? Math.max(20, Math.min(100, columns - 14));
    const sampled = whole ? undefined : await chartPoints(store, series, plotWidth);
    const lines = chart(
      series.map((s, n) => {
        const points = sampled?.[n] ?? s.points;
        const at = xs(points, args.x);
        return points.map((p, i): Point => ({ x: at[i] as number, y: p.value }));
      }),
      {
        width: plotWidth,
        height,
        style: args.style,
        formatX: axisLabel(args.x),
        ...(!single && colorsEnabled() ? { paint } : {}),
      },
    );
    for (const line of lines) print(single && colorsEnabled() ? c.cyan(line) : line);
    if (single) return;
    for (const [i, label] of labels.entries()) print(`  ${paint(i, "━━")} ${label}`);
  },
});

export const metrics = defineGroup({
  command: "metrics",
  describe: "Read metric histories",
  subcommands: [history],
});
