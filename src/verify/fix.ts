/**
 * fixTree: carries out the repairs `verifyTree` planned (the `action` of each fixable problem).
 * Each repair is safe: it adds what MLflow requires or removes what holds no data (OS litter,
 * stale temp files, blank and repeated metric lines). Files are replaced through a temp file in
 * the run folder and a rename, so a crash leaves the old or the new file, never half of one.
 */
import { promises as fs } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseDocument } from "yaml";
import { replaceFile } from "../atomic.ts";
import { FileStore } from "../store/file/index.ts";
import { runStatusCode } from "../store/file/meta.ts";
import { repairMetricText } from "./metrics.ts";
import type { FixAction, VerifyProblem } from "./problems.ts";

export interface FixResult {
  /** The problems whose repair was made. */
  fixed: VerifyProblem[];
  /** Fixable problems whose repair failed, with why. */
  failed: { problem: VerifyProblem; error: string }[];
}

const actionKey = (a: FixAction) => `${a.kind}:${"path" in a ? a.path : ""}`;

async function apply(root: string, action: FixAction): Promise<void> {
  switch (action.kind) {
    case "create-trash":
      await fs.mkdir(join(root, ".trash"), { recursive: true });
      return;
    case "create-default-experiment":
      // The store creates experiment 0 (and .trash) exactly as it does for a new tree.
      await new FileStore(root, { onProblem: () => {} }).init();
      return;
    case "make-folder":
      await fs.mkdir(action.path, { recursive: true });
      return;
    case "delete-file":
      await fs.rm(action.path, { force: true });
      return;
    case "rewrite-metric-file": {
      const text = await fs.readFile(action.path, "utf8");
      const repaired = repairMetricText(text);
      if (repaired === text) return;
      if (repaired === "") await fs.rm(action.path);
      else await replaceFile(action.path, repaired, action.runDir);
      return;
    }
    case "rewrite-run-meta": {
      const text = await fs.readFile(action.path, "utf8");
      const document = parseDocument(text, { version: "1.1" });
      const status = document.get("status");
      const code = typeof status === "string" ? runStatusCode(status) : undefined;
      if (code !== undefined) document.set("status", code);
      if (!document.has("end_time")) document.set("end_time", null);
      await replaceFile(action.path, document.toString(), dirname(action.path));
      return;
    }
  }
}

/**
 * Repairs the fixable problems among `problems` (from `verifyTree(root)`), each action once.
 * Run `verifyTree` again afterwards to see what is left.
 */
export async function fixTree(
  root: string,
  problems: readonly VerifyProblem[],
): Promise<FixResult> {
  const absolute = resolve(root);
  const result: FixResult = { fixed: [], failed: [] };
  const done = new Map<string, string | null>();
  // Folders and files first, then rewrites, then the default experiment (it lists the tree).
  const order: FixAction["kind"][] = [
    "create-trash",
    "make-folder",
    "delete-file",
    "rewrite-metric-file",
    "rewrite-run-meta",
    "create-default-experiment",
  ];
  const fixable = problems
    .filter((p) => p.fixable && p.action)
    .sort(
      (a, b) =>
        order.indexOf((a.action as FixAction).kind) - order.indexOf((b.action as FixAction).kind),
    );
  for (const problem of fixable) {
    const action = problem.action as FixAction;
    const key = actionKey(action);
    if (!done.has(key)) {
      try {
        await apply(absolute, action);
        done.set(key, null);
      } catch (error) {
        done.set(key, (error as Error).message);
      }
    }
    const error = done.get(key);
    if (error == null) result.fixed.push(problem);
    else result.failed.push({ problem, error });
  }
  return result;
}
