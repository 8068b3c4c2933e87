/**
 * `mlruns verify [dir] [--fix [--yes]]`: every problem of a tree with its path (and line); with
 * --fix, the safe repairs, shown first and made only after --yes or a yes on the terminal.
 * Exits 1 while errors (what MLflow fails on, or migrate-filestore rejects) remain.
 */
import { relative } from "node:path";
import type { VerifyProblem, VerifyReport } from "mlruns";
import { confirm, defineCommand, treeDir } from "../context.ts";
import { EXIT } from "../errors.ts";
import { c, note, plural, print, printJson } from "../output.ts";
import { progress } from "../progress.ts";

function summary(problems: readonly VerifyProblem[]) {
  return {
    errors: problems.filter((p) => p.severity === "error").length,
    warnings: problems.filter((p) => p.severity === "warning").length,
    fixable: problems.filter((p) => p.fixable).length,
  };
}

/** Problems without the internal `action` (the JSON shape). */
const shape = (p: VerifyProblem) => {
  const { action: _action, ...rest } = p;
  return rest;
};

function where(p: VerifyProblem): string {
  const rel = relative(process.cwd(), p.path);
  const path = rel === "" ? "." : rel.startsWith("..") ? p.path : rel;
  return p.line === undefined ? path : `${path}:${p.line}`;
}

function printProblems(problems: readonly VerifyProblem[]): void {
  for (const p of problems) {
    const level = p.severity === "error" ? c.red("error  ") : c.yellow("warning");
    print(`${level} ${c.bold(where(p))}  ${c.dim(p.code)}`);
    print(`        ${p.message}${p.fixable ? c.green(`  [fixable: ${p.fix}]`) : ""}`);
  }
}

async function check(root: string): Promise<VerifyReport> {
  const { verifyTree } = await import("mlruns");
  const bar = progress("verifying runs");
  try {
    return await verifyTree(root, { onProgress: (done, total) => bar.update(done, total) });
  } finally {
    bar.stop();
  }
}

export const verify = defineCommand<{ dir?: string; fix?: boolean; yes?: boolean }>({
  command: "verify [dir]",
  describe: "Check a tree against MLflow's format rules; --fix repairs what is safe",
  builder: (y) =>
    y
      .positional("dir", {
        type: "string",
        describe: "the tree (default: the tracking URI's folder)",
      })
      .option("fix", {
        type: "boolean",
        describe: "repair the fixable problems (shows the plan first)",
      })
      .option("yes", { alias: "y", type: "boolean", describe: "with --fix: do not ask" })
      .example("$0 verify ./mlruns", "list every problem")
      .example("$0 verify --fix", "show the repairs, then ask")
      .example("$0 verify --fix --yes --json", "repair without asking (scripts)"),
  async handler(args) {
    const root = treeDir(args.dir, args);
    const report = await check(root);
    const counts = summary(report.problems);
    const base = {
      root: report.root,
      checked: report.checked,
      problems: report.problems.map(shape),
      summary: counts,
    };
    if (!args.fix) {
      if (args.json) printJson(base, "problems");
      else {
        printProblems(report.problems);
        const { experiments, runs, metricFiles, models } = report.checked;
        print(
          `${report.problems.length === 0 ? c.green("OK") : ""}${report.problems.length === 0 ? ": " : ""}` +
            `${plural(experiments, "experiment")}, ${plural(runs, "run")}, ${plural(metricFiles, "metric file")}, ${plural(models, "registered model")} checked: ` +
            `${plural(counts.errors, "error")}, ${plural(counts.warnings, "warning")}` +
            (counts.fixable ? `, ${counts.fixable} fixable (run \`mlruns verify --fix\`)` : ""),
        );
      }
      process.exitCode = counts.errors > 0 ? EXIT.error : EXIT.ok;
      return;
    }

    const fixable = report.problems.filter((p) => p.fixable);
    if (!args.json) {
      printProblems(report.problems);
      if (fixable.length === 0) print("Nothing to fix.");
      else {
        print(c.bold(`\nPlan: ${plural(fixable.length, "repair")}`));
        for (const p of fixable) print(`  ${where(p)}: ${p.fix}`);
      }
    }
    const approved =
      fixable.length > 0 &&
      (args.yes === true ||
        (!args.json && (await confirm(`Apply ${plural(fixable.length, "repair")}?`))));
    if (!approved) {
      if (args.json) printJson({ ...base, fix: { planned: fixable.map(shape), applied: false } });
      else if (fixable.length > 0) note("Nothing changed: pass --yes to apply the plan.");
      process.exitCode = counts.errors > 0 ? EXIT.error : EXIT.ok;
      return;
    }
    const { fixTree } = await import("mlruns");
    const result = await fixTree(root, report.problems);
    const after = await check(root);
    const left = summary(after.problems);
    if (args.json) {
      printJson({
        ...base,
        fix: {
          planned: fixable.map(shape),
          applied: true,
          fixed: result.fixed.map(shape),
          failed: result.failed.map((f) => ({ problem: shape(f.problem), error: f.error })),
        },
        after: { problems: after.problems.map(shape), summary: left },
      });
    } else {
      print(c.green(`Fixed ${plural(result.fixed.length, "problem")}.`));
      for (const f of result.failed) print(c.red(`  failed: ${where(f.problem)}: ${f.error}`));
      if (after.problems.length > 0) {
        print(c.bold("\nRemaining:"));
        printProblems(after.problems);
      }
      print(`${plural(left.errors, "error")}, ${plural(left.warnings, "warning")} remain`);
    }
    process.exitCode = left.errors > 0 ? EXIT.error : EXIT.ok;
  },
});
