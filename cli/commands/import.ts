/**
 * `mlruns import <bundle> [dir]`: merges a bundle into a tree, keeping run ids. The bundle is
 * checked whole (and its signature, with --verify) before the tree is touched; importing it again
 * changes nothing. Exit 3 when something was left (a param conflict, a deleted experiment).
 */
import type { ImportReport } from "mlruns";
import { defineCommand, treeDir } from "../context.ts";
import { UsageError } from "../errors.ts";
import { c, e, formatBytes, note, print, printJson } from "../output.ts";
import { progress } from "../progress.ts";
import { EXIT_PARTIAL } from "./sync.ts";

interface ImportArgs {
  bundle?: string;
  dir?: string;
  verify?: string;
  dryRun?: boolean;
}

function printReport(report: ImportReport): void {
  const { counts } = report;
  const would = report.dryRun ? "Would import" : "Imported";
  print(
    `${would} ${report.bundle === "-" ? "standard input" : report.bundle} into ${c.bold(report.target)}: created ${counts.created}, ` +
      `updated ${counts.updated}, unchanged ${counts.unchanged}` +
      `${counts.skipped ? `, skipped ${counts.skipped}` : ""} run(s); ${counts.points} metric point(s), ` +
      `${counts.params} param(s), ${counts.tags} tag(s), ${counts.artifacts} artifact(s) (${formatBytes(counts.bytes)}).`,
  );
  for (const name of report.experimentsCreated) {
    print(`${report.dryRun ? "Would create" : "Created"} experiment ${name}.`);
  }
  if (report.verified) print(c.green("Signature verified."));
  const partial = report.runs.filter((r) => r.partial && r.outcome === "created");
  if (partial.length > 0 && report.base !== null) {
    note(
      e.yellow(
        `note: ${partial.length} new run(s) came as increments; their earlier data is in bundle ${report.base.slice(0, 12)}: import that one too`,
      ),
    );
  }
  for (const issue of report.issues) {
    const where = issue.runId ?? issue.experiment ?? "";
    note(e.yellow(`left: ${where} ${issue.what}: ${issue.message}`));
  }
}

export const importCommand = defineCommand<ImportArgs>({
  command: "import <bundle> [dir]",
  describe: "Merge a bundle (from `mlruns export`) into a tree, keeping run ids",
  builder: (y) =>
    y
      .positional("bundle", {
        type: "string",
        describe: "the bundle file, or - for standard input",
      })
      .positional("dir", {
        type: "string",
        describe: "the tree (default: the tracking URI's folder; created when missing)",
      })
      .option("verify", {
        type: "string",
        describe: "refuse the bundle unless signed by this Ed25519 public key (PEM)",
      })
      .option("dry-run", {
        type: "boolean",
        describe: "check the bundle and show what would change; write nothing",
      })
      .example("$0 import runs.tar.gz", "merge into ./mlruns")
      .example("$0 import runs.tar.gz /data/mlruns --verify cluster.pub", "only a signed bundle")
      .example("ssh gateway 'cat runs.tar' | $0 import -", "from standard input"),
  async handler(args) {
    // yargs hands a positional `-` over as "".
    const fromStdin = args.bundle === "-" || args.bundle === "";
    if (fromStdin && process.stdin.isTTY) {
      throw new UsageError(
        "Standard input is a terminal, not a bundle",
        "Pipe one in: mlruns import - < runs.tar",
      );
    }
    const { FileStore, importBundle } = await import("mlruns");
    const target = new FileStore(treeDir(args.dir, args), { onProblem: () => {} });
    const bar = args.json ? undefined : progress("importing", 1, "{step} {value}/{total}");
    const report = await importBundle({
      bundle: fromStdin ? process.stdin : (args.bundle as string),
      target,
      ...(args.verify === undefined ? {} : { verifyKey: args.verify }),
      dryRun: args.dryRun === true,
      onProgress: (p) => bar?.update(p.done, p.total, { step: p.step }),
    }).finally(() => bar?.stop());
    await target.flush();
    if (args.json) printJson(report);
    else printReport(report);
    if (report.issues.length > 0) process.exitCode = EXIT_PARTIAL;
  },
});
