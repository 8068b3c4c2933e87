/** `mlruns runs list|show|compare|delete|restore`. */
import type { FileInfo, RunRecord, TrackingStore } from "mlruns";
import { UsageError } from "../errors.ts";
import { defineCommand, findExperiment, list, openContext, VIEWS } from "../context.ts";
import {
  c,
  fields,
  formatBytes,
  formatDuration,
  formatNumber,
  formatTime,
  print,
  printJson,
  statusColor,
  table,
} from "../output.ts";

/** `metrics.x` / `params.y` named in a filter or order-by become extra columns. */
function referencedKeys(texts: string[]): { metrics: string[]; params: string[] } {
  const found = { metrics: new Set<string>(), params: new Set<string>() };
  for (const text of texts) {
    for (const m of text.matchAll(
      /\b(metrics?|params?|parameters?)\.(`[^`]+`|"[^"]+"|[\w./-]+)/g,
    )) {
      const key = (m[2] ?? "").replace(/^[`"]|[`"]$/g, "");
      (m[1]?.startsWith("metric") ? found.metrics : found.params).add(key);
    }
  }
  return { metrics: [...found.metrics], params: [...found.params] };
}

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
      .example(
        "$0 runs list -e iris -f \"metrics.acc > 0.9\" -o 'metrics.acc DESC'",
        "best runs first",
      )
      .example("$0 runs list --view deleted --json", "deleted runs of every experiment, as JSON"),
  async handler(args) {
    const { store, tracker } = await openContext(args);
    const refs = list(args.experiment);
    const experimentIds =
      refs.length > 0
        ? await Promise.all(
            refs.map(async (ref) => (await findExperiment(store, ref)).experimentId),
          )
        : (await store.listExperiments("ACTIVE_ONLY")).map((x) => x.experimentId);
    const orderBy = list(args.orderBy);
    const found = await tracker.searchRuns({
      experimentIds,
      viewType: VIEWS[args.view] ?? "ACTIVE_ONLY",
      filter: args.filter,
      orderBy,
      maxResults: args.maxResults,
      pageToken: args.pageToken,
    });
    if (args.json) {
      printJson({ runs: found.runs.map(runJson), nextPageToken: found.nextPageToken ?? null });
      return;
    }
    const extra = referencedKeys([args.filter ?? "", ...orderBy]);
    table(
      [
        "RUN ID",
        "NAME",
        "EXPERIMENT",
        "STATUS",
        "STARTED",
        "DURATION",
        ...extra.params.map((k) => `params.${k}`),
        ...extra.metrics.map((k) => `metrics.${k}`),
      ],
      found.runs.map((r) => [
        r.info.runId,
        r.info.runName,
        r.info.experimentId,
        statusColor(r.info.status),
        formatTime(r.info.startTime),
        formatDuration(r.info.endTime === null ? null : r.info.endTime - r.info.startTime),
        ...extra.params.map((k) => r.params[k] ?? ""),
        ...extra.metrics.map((k) => formatNumber(r.metrics[k])),
      ]),
    );
    if (found.runs.length === 0) print(c.dim("(no runs)"));
    if (found.nextPageToken) print(c.dim(`more: --page-token ${found.nextPageToken}`));
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
    if (info.isDir) out.push(...(await allArtifacts(store, runId, info.path, limit - out.length)));
  }
  return out;
}

const show = defineCommand<{ run: string }>({
  command: "show <run>",
  describe: "A run: info, params, latest metrics, tags and artifacts",
  builder: (y) =>
    y
      .positional("run", { type: "string", demandOption: true, describe: "run id" })
      .example("$0 runs show 3f2a...", "")
      .example("$0 runs show 3f2a... --json | jq .metrics", ""),
  async handler(args) {
    const { store } = await openContext(args);
    const run = await store.getRun(String(args.run));
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
    print(c.bold(`Run ${i.runId}`));
    fields([
      ["name", i.runName],
      ["experiment", i.experimentId],
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

const compare = defineCommand<{ runs: string[]; all?: boolean }>({
  command: "compare <runs..>",
  describe: "Params and metrics of runs side by side; differences marked with *",
  builder: (y) =>
    y
      .positional("runs", {
        type: "string",
        array: true,
        demandOption: true,
        describe: "two or more run ids",
      })
      .option("all", {
        type: "boolean",
        describe: "also show params and metrics that are the same",
      })
      .check((a) => {
        if (list(a.runs).length < 2) throw new UsageError("Compare needs at least two run ids");
        return true;
      })
      .example("$0 runs compare 3f2a... 9b1c...", "what differs between two runs"),
  async handler(args) {
    const { tracker } = await openContext(args);
    const comparison = await tracker.compareRuns(list(args.runs));
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
      rows.push([
        mark(m.differs),
        `metrics.${m.key}`,
        ...m.values.map((v, i) => {
          if (v === undefined) return c.dim("-");
          const delta = m.deltas[i];
          const shown = formatNumber(v);
          if (i === 0 || delta === undefined || delta === 0 || Number.isNaN(delta)) return shown;
          const sign = delta > 0 ? "+" : "";
          return `${shown} ${(delta > 0 ? c.green : c.red)(`(${sign}${formatNumber(delta)})`)}`;
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

function lifecycle(action: "delete" | "restore") {
  return defineCommand<{ runs: string[] }>({
    command: `${action} <runs..>`,
    describe:
      action === "delete" ? "Delete runs (reversible until `mlruns gc`)" : "Restore deleted runs",
    builder: (y) =>
      y
        .positional("runs", { type: "string", array: true, demandOption: true })
        .example(`$0 runs ${action} 3f2a... 9b1c...`, ""),
    async handler(args) {
      const { store } = await openContext(args);
      const ids = list(args.runs);
      for (const id of ids) {
        if (action === "delete") await store.deleteRun(id);
        else await store.restoreRun(id);
        if (!args.json) print(`${action === "delete" ? "Deleted" : "Restored"} ${id}`);
      }
      if (args.json) printJson({ [action === "delete" ? "deleted" : "restored"]: ids });
    },
  });
}

export const runs = defineCommand<object>({
  command: "runs",
  describe: "Search, show, compare, delete and restore runs",
  builder: (y) =>
    y
      .command(listCommand)
      .command(show)
      .command(compare)
      .command(lifecycle("delete"))
      .command(lifecycle("restore"))
      .demandCommand(1, "Name a subcommand: list, show, compare, delete or restore"),
  async handler() {},
});
