/**
 * `mlruns export [dir] -o runs.tar[.gz]`: the selected runs as one bundle to carry across an air
 * gap; `--since` a previous bundle (or a time) for an increment. Exit 3 when something was left
 * out (links, artifacts outside the tree).
 */
import { existsSync, statSync } from "node:fs";
import { type ExportReport, MlflowError } from "mlruns";
import { defineCommand, treeDir } from "../context.ts";
import { UsageError } from "../errors.ts";
import { c, e, formatBytes, note, print, printJson, toJson } from "../output.ts";
import { progress } from "../progress.ts";
import { parseDuration } from "./gc.ts";
import { EXIT_PARTIAL, runSelection } from "./sync.ts";

interface ExportArgs {
  dir?: string;
  output?: string;
  experiment?: string[];
  filter?: string;
  run?: string[];
  since?: string;
  sign?: string;
  gzip?: boolean;
}

/** `--since`: a previous bundle (a file), a duration ago (`2d`, `12h`) or a date (ISO 8601). */
export function parseSince(value: string): string | number {
  if (existsSync(value) && statSync(value).isFile()) return value;
  if (/^\d+(\.\d+)?[smhdw]/.test(value)) return Date.now() - parseDuration(value);
  const time = Date.parse(value);
  if (Number.isNaN(time)) {
    throw new UsageError(
      `--since '${value}' is neither a bundle file, a duration nor a date`,
      "Give the previous bundle (--since runs-monday.tar), a duration (--since 2d) or a date (--since 2025-05-01)",
    );
  }
  return time;
}

function printReport(report: ExportReport, print: (text: string) => void): void {
  const compressed = report.size < report.bytes ? ` (${formatBytes(report.size)} on disk)` : "";
  print(
    `Exported ${report.runs} run(s) of ${report.experiments} experiment(s) to ${c.bold(report.output === "-" ? "standard output" : report.output)}: ` +
      `${report.files} file(s), ${formatBytes(report.bytes)}${compressed}${report.signed ? ", signed" : ""}.`,
  );
  if (report.base !== null || report.since !== null) {
    print(
      `Only what changed since ${report.base === null ? new Date(report.since as number).toISOString() : `bundle ${report.base.slice(0, 12)}`}: ` +
        `${report.partialRuns} run(s) in part, ${report.unchangedRuns} unchanged run(s) left out.`,
    );
  }
  const next = report.output === "-" ? "<the file it went to>" : report.output;
  print(c.dim(`Bundle ${report.manifestSha256.slice(0, 12)}; next increment: --since ${next}`));
  for (const issue of report.issues) {
    note(e.yellow(`left: ${issue.runId ?? ""} ${issue.what}: ${issue.message}`));
  }
}

export const exportCommand = defineCommand<ExportArgs>({
  command: "export [dir]",
  describe: "Write runs into one bundle file (tar) to carry to another machine",
  builder: (y) =>
    runSelection(
      y
        .positional("dir", {
          type: "string",
          describe: "the tree (default: the tracking URI's folder)",
        })
        .option("output", {
          alias: "o",
          type: "string",
          describe: "the bundle: runs.tar, runs.tar.gz (gzip), or - for standard output",
        })
        .option("since", {
          type: "string",
          describe: "only what changed since a previous bundle, a duration (2d) or a date",
        })
        .option("sign", { type: "string", describe: "sign with this Ed25519 private key (PEM)" })
        .option("gzip", {
          type: "boolean",
          describe: "compress (default: when the name ends in .gz or .tgz)",
        }),
    )
      .demandOption("output", "Name the bundle with -o runs.tar.gz (or -o - for standard output)")
      .example("$0 export -o runs.tar.gz", "every run of ./mlruns")
      .example("$0 export -e sweep -o sweep.tar.gz", "one experiment")
      .example("$0 export --since runs.tar.gz -o runs-2.tar.gz", "what changed since that bundle")
      .example("$0 export -o - | ssh gateway 'cat > runs.tar'", "to standard output"),
  async handler(args) {
    const root = treeDir(args.dir, args);
    if (!existsSync(root)) {
      throw new MlflowError("RESOURCE_DOES_NOT_EXIST", `No mlruns tree at ${root}`, {
        hint: "Pass the tree's folder, or point --tracking-uri / MLFLOW_TRACKING_URI at it",
      });
    }
    const toStdout = args.output === "-";
    if (toStdout && process.stdout.isTTY) {
      throw new UsageError("Not writing a bundle to a terminal", "Redirect it: -o - > runs.tar");
    }
    const bar = args.json || toStdout ? undefined : progress("exporting", 1 << 20, "{percentage}%");
    const { exportBundle, FileStore } = await import("mlruns");
    const source = new FileStore(root, { onProblem: () => {} });
    const report = await exportBundle({
      source,
      output: toStdout ? process.stdout : (args.output as string),
      ...(args.experiment?.length ? { experiments: args.experiment } : {}),
      ...(args.filter ? { filter: args.filter } : {}),
      ...(args.run?.length ? { runIds: args.run } : {}),
      ...(args.since === undefined ? {} : { since: parseSince(args.since) }),
      ...(args.sign === undefined ? {} : { signingKey: args.sign }),
      ...(args.gzip === undefined ? {} : { gzip: args.gzip }),
      onProgress: (p) => bar?.update(p.bytes, p.totalBytes),
    }).finally(() => bar?.stop());
    await source.flush();
    // With -o -, standard output is the bundle: the report goes to standard error.
    if (args.json && toStdout) note(toJson(report));
    else if (args.json) printJson(report);
    else printReport(report, toStdout ? note : print);
    if (report.issues.length > 0) process.exitCode = EXIT_PARTIAL;
  },
});
