/** `mlruns runs list|show|compare|delete|restore`. */
import type { FileInfo, RunRecord, TrackingStore } from "mlruns";
import { columnList, runColumns } from "../columns.ts";
import { defineGroup } from "../command.ts";
import { defineCommand, findExperiment, list, openContext, VIEWS } from "../context.ts";
import { UsageError } from "../errors.ts";
import { goalOf, improves } from "../metric-goal.ts";
import {
  c,
  fields,
  formatBytes,
  formatDuration,
  formatNumber,
  formatTime,
  note,
  print,
  printJson,
  statusColor,
  table,
} from "../output.ts";
import { experimentNames, openRun, runResolver, SCOPE_OPTION } from "../run-ref.ts";
import { deleteCommand, restoreCommand } from "./runs-lifecycle.ts";

const runJson = (r: RunRecord) => ({
  info: r.info,
  params: r.params,
  metrics: r.metrics,
  tags: r.tags,
});

const listCommand = defineCommand<{
  experiment?: string[];
  filter?: string;
  orderBy?: string[];
  maxResults?: number;
  view: string;
  pageToken?: string;
  columns?: string[];
}>({
  command: ["list", "ls", "search"],
  describe: "Search runs with MLflow's filter language",
  builder: (y) =>
    y
      .option("experiment", {
        alias: "e",
        type: "string",
        array: true,
        describe: "experiment name or id (repeatable; default: every active experiment)",
      })
      .option("filter", {
        alias: "f",
        type: "string",
        describe: "e.g. \"metrics.acc > 0.9 and params.model = 'rf'\"",
      })
      .option("order-by", {
        alias: "o",
        type: "string",
        array: true,
        describe: "e.g. 'metrics.acc DESC' (repeatable)",
      })
      .option("max-results", { alias: "n", type: "number", describe: "page size (default 1000)" })
      .option("view", { choices: ["active", "deleted", "all"], default: "active" })
      .option("page-token", { type: "string", describe: "next page of the same search" })
      .option("columns", {
        alias: "c",
        type: "string",
        array: true,
        describe:
          "columns to show, e.g. name,status,params.lr,metrics.acc (default: the run's fields, " +
          "then the params and metrics searched on or that differ between the runs)",
      })
      .example(
        "$0 runs list -e iris -f \"metrics.acc > 0.9\" -o 'metrics.acc DESC'",
        "best runs first",
      )
      .example("$0 runs list -c name,params.lr,metrics.loss", "pick the columns")
      .example("$0 runs list --json info.runId,metrics.acc", "chosen fields as JSON"),
  async handler(args) {
    const { store, tracker } = await openContext(args, { read: true });
    const names = await experimentNames(store);
    const refs = list(args.experiment);
    const experimentIds =
      refs.length > 0
        ? await Promise.all(
            refs.map(async (ref) => (await findExperiment(store, ref)).experimentId),
          )
        : (await store.listExperiments("ACTIVE_ONLY")).map((x) => x.experimentId);
    const orderBy = list(args.orderBy);
    const chosen = columnList(list(args.columns));
    const found = await tracker.searchRuns({
      experimentIds,
      viewType: VIEWS[args.view] ?? "ACTIVE_ONLY",
      filter: args.filter,
      orderBy,
      maxResults: args.maxResults,
      pageToken: args.pageToken,
    });
    if (args.json) {
      printJson(
        { runs: found.runs.map(runJson), nextPageToken: found.nextPageToken ?? null },
        "runs",
      );
      return;
    }
    const { columns, hidden } = runColumns(found.runs, names, {
      chosen,
      searchTexts: [args.filter ?? "", ...orderBy],
    });
    table(
      columns.map((col) => col.header),
      found.runs.map((r) => columns.map((col) => col.cell(r))),
      columns.flatMap((col, i) => (col.right ? [i] : [])),
    );
    if (found.runs.length === 0) print(c.dim("(no runs)"));
    if (found.nextPageToken) print(c.dim(`more: --page-token ${found.nextPageToken}`));
    if (hidden.length > 0) {
      const shown = hidden.slice(0, 5).join(", ");
      note(
        c.dim(
          `${hidden.length} more varying column(s) not shown: ${shown}${hidden.length > 5 ? ", ..." : ""} (pick with --columns)`,
        ),
      );
    }
  },
});

/** Every artifact under `path`, depth first, up to `limit` entries. */
async function allArtifacts(
  store: TrackingStore,
  runId: string,
  path?: string,
  limit = 10_000,
): Promise<FileInfo[]> {
  const out: FileInfo[] = [];
  for (const info of await store.listArtifacts(runId, path)) {
    if (out.length >= limit) break;
    out.push(info);
    if (!info.isDir) continue;
    for (const inner of await allArtifacts(store, runId, info.path, limit - out.length)) {
      out.push(inner);
    }
  }
  return out;
}

const show = defineCommand<{ run: string; experiment?: string[] }>({
  command: "show <run>",
  describe: "A run: info, params, latest metrics, tags and artifacts",
  builder: (y) =>
    y
      .positional("run", {
        type: "string",
        demandOption: true,
        describe: "run id, unique id prefix, name, or latest",
      })
      .option("experiment", SCOPE_OPTION)
      .example("$0 runs show latest", "the newest run")
      .example("$0 runs show 3f2a9c", "by id prefix")
      .example("$0 runs show baseline -e iris --json | jq .metrics", "by name, as JSON"),
  async handler(args) {
    const { store, runId } = await openRun(args, { read: true });
    const run = await store.getRun(runId);
    let artifacts: FileInfo[] = [];
    let artifactError: string | undefined;
    try {
      artifacts = await allArtifacts(store, run.info.runId);
    } catch (error) {
      artifactError = (error as Error).message;
    }
    if (args.json) {
      printJson({
        info: run.info,
        params: run.data.params,
        metrics: Object.fromEntries(
          Object.entries(run.data.metrics).map(([k, m]) => [
            k,
            { value: m.value, step: m.step, timestamp: m.timestamp },
          ]),
        ),
        tags: run.data.tags,
        inputs: run.inputs,
        artifacts,
      });
      return;
    }
    const i = run.info;
    const experiment = (await experimentNames(store)).get(i.experimentId);
    print(c.bold(`Run ${i.runId}`));
    fields([
      ["name", i.runName],
      ["experiment", experiment ? `${experiment} (${i.experimentId})` : i.experimentId],
      ["status", statusColor(i.status)],
      ["lifecycle", i.lifecycleStage],
      ["user", i.userId],
      ["started", formatTime(i.startTime)],
      ["ended", formatTime(i.endTime)],
      ["duration", formatDuration(i.endTime === null ? null : i.endTime - i.startTime)],
      ["artifacts", i.artifactUri],
    ]);
    const section = (title: string) => print(`\n${c.bold(title)}`);
    const params = Object.entries(run.data.params);
    section(`Params (${params.length})`);
    if (params.length)
      table(
        ["KEY", "VALUE"],
        params.map(([k, v]) => [k, v]),
      );
    const metrics = Object.entries(run.data.metrics);
    section(`Metrics (${metrics.length})`);
    if (metrics.length) {
      table(
        ["KEY", "VALUE", "STEP", "TIME"],
        metrics.map(([k, m]) => [
          k,
          formatNumber(m.value),
          String(m.step),
          formatTime(m.timestamp),
        ]),
        [1, 2],
      );
    }
    const tags = Object.entries(run.data.tags);
    section(`Tags (${tags.length})`);
    if (tags.length)
      table(
        ["KEY", "VALUE"],
        tags.map(([k, v]) => [k, v.length > 80 ? `${v.slice(0, 77)}...` : v]),
      );
    if (run.inputs.length) {
      section(`Datasets (${run.inputs.length})`);
      table(
        ["NAME", "DIGEST", "CONTEXT"],
        run.inputs.map((d) => [
          d.dataset.name,
          d.dataset.digest,
          d.tags["mlflow.data.context"] ?? "",
        ]),
      );
    }
    section(`Artifacts (${artifacts.filter((a) => !a.isDir).length} files)`);
    if (artifactError) print(c.yellow(artifactError));
    else if (artifacts.length) {
      table(
        ["PATH", "SIZE"],
        artifacts.map((a) => [a.isDir ? `${a.path}/` : a.path, formatBytes(a.fileSize)]),
        [1],
      );
    }
  },
});

const compare = defineCommand<{
  runs: string[];
  all?: boolean;
  experiment?: string[];
  lowerBetter?: string[];
  higherBetter?: string[];
}>({
  command: "compare <runs..>",
  describe: "Params and metrics of runs side by side; differences marked with *",
  builder: (y) =>
    y
      .positional("runs", {
        type: "string",
        array: true,
        demandOption: true,
        describe: "two or more runs (ids, id prefixes, names, latest)",
      })
      .option("all", {
        type: "boolean",
        describe: "also show params and metrics that are the same",
      })
      .option("experiment", SCOPE_OPTION)
      .option("lower-better", {
        type: "string",
        array: true,
        describe: "metrics where lower is better (losses and errors are known by name)",
      })
      .option("higher-better", {
        type: "string",
        array: true,
        describe: "metrics where higher is better (accuracy, f1, auc... are known by name)",
      })
      .check((a) => {
        if (list(a.runs).length < 2) throw new UsageError("Compare needs at least two runs");
        return true;
      })
      .example("$0 runs compare 3f2a 9b1c", "what differs between two runs")
      .example("$0 runs compare baseline latest --higher-better throughput", ""),
  async handler(args) {
    const context = await openContext(args, { read: true });
    const resolve = await runResolver(context, list(args.experiment));
    const ids = [];
    for (const ref of list(args.runs)) ids.push(await resolve(ref));
    const comparison = await context.tracker.compareRuns(ids);
    if (args.json) {
      printJson({
        runs: comparison.runs,
        params: comparison.params.map((p) => ({ ...p, values: p.values.map((v) => v ?? null) })),
        metrics: comparison.metrics.map((m) => ({
          ...m,
          values: m.values.map((v) => v ?? null),
          deltas: m.deltas.map((v) => v ?? null),
        })),
      });
      return;
    }
    const told = { lower: list(args.lowerBetter), higher: list(args.higherBetter) };
    const headers = [
      "",
      "KEY",
      ...comparison.runs.map((r) => `${r.runName} (${r.runId.slice(0, 8)})`),
    ];
    const mark = (differs: boolean) => (differs ? c.yellow("*") : " ");
    const rows: string[][] = [];
    for (const p of comparison.params) {
      if (!p.differs && !args.all) continue;
      rows.push([
        mark(p.differs),
        `params.${p.key}`,
        ...p.values.map((v) => (v === undefined ? c.dim("-") : p.differs ? c.yellow(v) : v)),
      ]);
    }
    for (const m of comparison.metrics) {
      if (!m.differs && !args.all) continue;
      const goal = goalOf(m.key, told);
      rows.push([
        mark(m.differs),
        `metrics.${m.key}`,
        ...m.values.map((v, i) => {
          if (v === undefined) return c.dim("-");
          const delta = m.deltas[i];
          const shown = formatNumber(v);
          if (i === 0 || delta === undefined || delta === 0 || Number.isNaN(delta)) return shown;
          const better = improves(delta, goal);
          const paint = better === undefined ? c.dim : better ? c.green : c.red;
          return `${shown} ${paint(`(${delta > 0 ? "+" : ""}${formatNumber(delta)})`)}`;
        }),
      ]);
    }
    table(headers, rows);
    const same =
      comparison.params.filter((p) => !p.differs).length +
      comparison.metrics.filter((m) => !m.differs).length;
    if (!args.all && same > 0)
      print(c.dim(`${same} identical params/metrics hidden (--all shows them)`));
    if (rows.length === 0 && args.all) print(c.dim("(no params or metrics)"));
  },
});

export const runs = defineGroup({
  command: "runs",
  describe: "Search, show, compare, delete and restore runs",
  subcommands: [listCommand, show, compare, deleteCommand, restoreCommand],
});
