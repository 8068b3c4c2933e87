/**
 * `mlruns sync [dir] --to <url>`: pushes a local tree to an MLflow server; `mlruns pull [dir]
 * --from <url>`: the same copy with the ends swapped. Idempotent and incremental; `--watch` keeps
 * pushing as the tree changes. Exit 3 when something could not be copied (the report says what).
 */
import {
  openStore,
  redactCredentials,
  redactUrl,
  resolveConfig,
  type SyncBundleOptions,
  type SyncOptions,
  type SyncProgress,
  type SyncReport,
  type TrackingStore,
} from "mlruns";
import type { Argv } from "yargs";
import { defineCommand, existingTreeDir, treeDir } from "../context.ts";
import { UsageError } from "../errors.ts";
import { c, e, note, print, printJson, table } from "../output.ts";
import { progress } from "../progress.ts";
import { retryNotes } from "../retries.ts";

/** Exit code of a sync that finished but left something behind (reported item by item). */
export const EXIT_PARTIAL = 3;

interface SyncArgs {
  dir?: string;
  to?: string;
  /** pull: the server; sync: a bundle. */
  from?: string;
  verify?: string;
  experiment?: string[];
  filter?: string;
  run?: string[];
  experimentPrefix?: string;
  dryRun?: boolean;
  watch?: boolean;
  concurrency?: number;
}

const bytes = (n: number) =>
  n >= 1 << 20
    ? `${(n / (1 << 20)).toFixed(1)} MiB`
    : n >= 1024
      ? `${(n / 1024).toFixed(1)} KiB`
      : `${n} B`;

async function server(url: string): Promise<TrackingStore> {
  if (!/^https?:\/\//i.test(url)) {
    throw new UsageError(
      `'${redactUrl(url)}' is not an http(s) URL of an MLflow server`,
      "e.g. --to https://mlflow.example.org",
    );
  }
  return openStore(url, { http: { ...resolveConfig().http, onRetry: retryNotes() } });
}

function printReport(report: SyncReport): void {
  if (report.dryRun) {
    print(c.bold(`Plan: ${report.source} → ${report.target} (nothing written)`));
    for (const name of report.experimentsCreated) print(`  create experiment ${name}`);
    const rows = report.runs
      .filter((r) => r.outcome !== "unchanged" && r.plan)
      .map((r) => [
        r.sourceRunId,
        r.outcome === "created" ? "create" : "update",
        String(r.plan?.points ?? 0),
        String(Object.keys(r.plan?.params ?? {}).length),
        String(Object.keys(r.plan?.tags ?? {}).length),
        `${r.plan?.artifacts.length ?? 0} (${bytes(r.plan?.bytes ?? 0)})`,
      ]);
    if (rows.length > 0) table(["RUN", "ACTION", "POINTS", "PARAMS", "TAGS", "ARTIFACTS"], rows);
  }
  const { counts } = report;
  const verb = report.dryRun ? "would copy" : "copied";
  print(
    `${report.dryRun ? "Would create" : "Created"} ${counts.created}, ${report.dryRun ? "would update" : "updated"} ${counts.updated}, unchanged ${counts.unchanged}` +
      `${counts.failed ? `, failed ${counts.failed}` : ""} run(s); ${verb} ${counts.points} metric point(s), ` +
      `${counts.params} param(s), ${counts.tags} tag(s), ${counts.artifacts} artifact(s) (${bytes(counts.bytes)}).`,
  );
  if (!report.dryRun) printRunPages(report);
  if (report.registry.models + report.registry.versions > 0) {
    print(
      `${report.dryRun ? "Would register" : "Registered"} ${report.registry.models} model(s) and ${report.registry.versions} version(s).`,
    );
  }
  for (const issue of report.issues) {
    const where = issue.sourceRunId ?? issue.experiment ?? "";
    note(e.yellow(`left: ${where} ${issue.what}: ${issue.message}`));
  }
}

/** How many copied runs the text output names with their pages; `--json` lists them all. */
const PAGES_SHOWN = 20;

/** The server's page of each run created or updated, to open in a browser. */
function printRunPages(report: SyncReport): void {
  const changed = report.runs.filter(
    (r) => r.url !== undefined && (r.outcome === "created" || r.outcome === "updated"),
  );
  if (changed.length === 0) return;
  table(
    ["RUN", "OUTCOME", "PAGE"],
    changed.slice(0, PAGES_SHOWN).map((r) => [r.runName, r.outcome, r.url ?? ""]),
  );
  if (changed.length > PAGES_SHOWN) {
    print(`... and ${changed.length - PAGES_SHOWN} more (--json lists every run with its page)`);
  }
}

/** Runs `sync` (or, from a bundle, `syncBundle`) with a progress bar on a terminal. */
async function runSync(
  options: SyncOptions | Omit<SyncBundleOptions, "onProgress">,
  json: boolean,
): Promise<SyncReport> {
  const { sync, syncBundle } = await import("mlruns");
  const bar = json
    ? undefined
    : progress("syncing", 1, "{value}/{total} runs | {points} points | {bytes} | {rate}");
  const started = Date.now();
  const onProgress = (p: SyncProgress) =>
    bar?.update(p.runsDone, p.runsTotal, {
      points: p.points,
      bytes: bytes(p.bytes),
      rate: `${bytes(p.bytes / Math.max(0.001, (Date.now() - started) / 1000))}/s`,
    });
  const onLockWait = ({ pid }: { pid: string }) =>
    note(`Waiting for the background push of process ${pid} to end its pass over this tree.`);
  const running =
    "bundle" in options
      ? syncBundle({ ...options, onProgress })
      : sync({ ...options, onProgress, onLockWait });
  return running.finally(() => bar?.stop());
}

function selection(args: SyncArgs): Partial<SyncOptions> {
  return {
    ...(args.experiment?.length ? { experiments: args.experiment } : {}),
    ...(args.filter ? { filter: args.filter } : {}),
    ...(args.run?.length ? { runIds: args.run } : {}),
    ...(args.experimentPrefix ? { experimentPrefix: args.experimentPrefix } : {}),
    ...(args.concurrency ? { concurrency: args.concurrency } : {}),
    dryRun: args.dryRun === true,
  };
}

function finish(report: SyncReport, json: boolean): void {
  if (json) printJson(report);
  else printReport(report);
  if (report.issues.length > 0) process.exitCode = EXIT_PARTIAL;
}

/** -e, -f and -r: which runs a command takes from a tree (also `export`). */
export const runSelection = <T>(y: Argv<T>) =>
  y
    .option("experiment", {
      alias: "e",
      type: "string",
      array: true,
      describe: "only this experiment (name or id; repeatable)",
    })
    .option("filter", {
      alias: "f",
      type: "string",
      describe: "only runs matching this MLflow filter",
    })
    .option("run", {
      alias: "r",
      type: "string",
      array: true,
      describe: "only this run (repeatable)",
    });

const selectionOptions = <T>(y: Argv<T>) =>
  runSelection(y)
    .option("dry-run", {
      type: "boolean",
      describe: "print the plan (what, counts, bytes); write nothing",
    })
    .option("concurrency", { type: "number", describe: "runs copied at once (default 4)" });

export const syncCommand = defineCommand<SyncArgs>({
  command: "sync [dir]",
  describe: "Push local runs to an MLflow server (idempotent, incremental, resumable)",
  builder: (y) =>
    selectionOptions(
      y
        .positional("dir", {
          type: "string",
          describe: "the tree (default: the tracking URI's folder)",
        })
        .option("to", {
          type: "string",
          describe: "the MLflow server, e.g. https://mlflow.example.org",
        })
        .option("experiment-prefix", {
          type: "string",
          describe: "prepend this to experiment names on the server",
        })
        .option("watch", { type: "boolean", describe: "keep pushing as local runs change" })
        .option("from", {
          type: "string",
          describe: "push this bundle (from `mlruns export`) instead of a tree",
        })
        .option("verify", {
          type: "string",
          describe: "with --from: only a bundle signed by this Ed25519 public key (PEM)",
        }),
    )
      .demandOption("to", "Name the server with --to <url>")
      .example("$0 sync --to https://mlflow.example.org", "push every run of ./mlruns")
      .example('$0 sync --to $SERVER -e my-exp -f "metrics.acc > 0.9"', "push some runs")
      .example("$0 sync --to $SERVER --dry-run", "show what would be pushed")
      .example("$0 sync --to $SERVER --watch", "push continuously while training")
      .example("$0 sync --from runs.tar.gz --to $SERVER", "push a bundle"),
  async handler(args) {
    if (args.from !== undefined) {
      if (args.watch || args.dir !== undefined) {
        throw new UsageError("--from <bundle> goes with neither a tree folder nor --watch");
      }
      const options = {
        bundle: args.from,
        ...(args.verify === undefined ? {} : { verifyKey: args.verify }),
        target: await server(args.to ?? ""),
        ...selection(args),
      };
      return finish(await runSync(options, args.json === true), args.json === true);
    }
    if (args.verify !== undefined) throw new UsageError("--verify goes with --from <bundle>");
    const { FileStore, watchSync } = await import("mlruns");
    const source = new FileStore(await existingTreeDir(args.dir, args), { onProblem: () => {} });
    const options: SyncOptions = {
      source,
      target: await server(args.to ?? ""),
      ...selection(args),
    };
    if (!args.watch) return finish(await runSync(options, args.json === true), args.json === true);
    if (args.dryRun) throw new UsageError("--watch and --dry-run do not go together");
    const watcher = await watchSync({
      ...options,
      onSync: (report) =>
        args.json
          ? printJson(report)
          : report.counts.created + report.counts.updated > 0 && printReport(report),
      onError: (error, retryInMs) =>
        note(
          e.yellow(
            `sync failed (${redactCredentials((error as Error).message)}); retrying in ${Math.round(retryInMs / 1000)} s`,
          ),
        ),
    });
    note(`Watching ${source.root}; pushing changes to ${options.target.uri}. Ctrl-C to stop.`);
    await watcher.ready;
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
    await watcher.close();
  },
});

export const pullCommand = defineCommand<SyncArgs>({
  command: "pull [dir]",
  describe: "Copy runs from an MLflow server into a local tree (the reverse of sync)",
  builder: (y) =>
    selectionOptions(
      y
        .positional("dir", {
          type: "string",
          describe: "the tree (default: the tracking URI's folder)",
        })
        .option("from", { type: "string", describe: "the MLflow server to copy from" })
        .option("experiment-prefix", {
          type: "string",
          describe: "prepend this to experiment names locally",
        }),
    )
      .demandOption("from", "Name the server with --from <url>")
      .example(
        "$0 pull --from https://mlflow.example.org -e shared-baselines",
        "copy one experiment here",
      ),
  async handler(args) {
    const { FileStore } = await import("mlruns");
    const target = new FileStore(treeDir(args.dir, args), { onProblem: () => {} });
    const source = await server(args.from ?? "");
    finish(
      await runSync({ source, target, ...selection(args) }, args.json === true),
      args.json === true,
    );
  },
});
