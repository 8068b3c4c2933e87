/**
 * A writer killed with SIGKILL at random moments, again and again on the same tree, must always
 * leave a tree that our reader and the real MLflow read completely. The trials are split over
 * test files that run side by side (crash-*.test.ts), each on its own tree with its own seeds:
 * one file of 200 trials in a row was the whole suite's longest path.
 */
import { cp, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { FileStore, type TreeProblem } from "../../src/store/file/index.ts";
import { MLFLOW_VERSIONS, REPO_ROOT, runPython, skipMlflow } from "../helpers/mlflow-env.ts";
import { tempFolder } from "../helpers/temp-folder.ts";
import { startWriter } from "./writer.ts";

/** Trials in all, shared out between the files. */
const TRIALS = Number(process.env.MLRUNS_CRASH_TRIALS ?? 200);
/** The crash-*.test.ts files. */
const FILES = 2;
const CHECKER = join(REPO_ROOT, "test", "slow", "check_trees.py");

async function readEverything(root: string): Promise<{ problems: TreeProblem[]; runs: number }> {
  const problems: TreeProblem[] = [];
  const store = new FileStore(root, { onProblem: (p) => problems.push(p) });
  const experiments = await store.listExperiments("ALL");
  const runs = await store.listRuns(
    experiments.map((e) => e.experimentId),
    "ALL",
  );
  for (const run of runs) {
    for (const key of Object.keys(run.data.metrics))
      await store.getMetricHistory(run.info.runId, key);
    await store.listArtifacts(run.info.runId);
  }
  return { problems, runs: runs.length };
}

/** The `part`-th share (from 0) of the trials, with seeds of its own. */
export function crashTrials(part: number): void {
  const trials = Math.ceil(TRIALS / FILES);
  const dir = tempFolder(`mlruns-crash-${part}-`);
  describe(`SIGKILL at random moments (part ${part + 1} of ${FILES})`, () => {
    it(`leaves a readable tree after each of ${trials} kills`, async () => {
      const root = join(dir(), "mlruns");
      const snapshots = join(dir(), "snapshots");
      await mkdir(snapshots);
      const trees: string[] = [];
      let seed = 1 + part * trials;
      for (let trial = 0; trial < trials; trial++) {
        const writer = startWriter(["chaos", root, String(seed++)]);
        // Killed while it writes, at its 1st to 20th write, however slow a busy machine makes it:
        // trials do as much work on a loaded machine as on an idle one.
        await writer.said(`op ${Math.floor(Math.random() * 20)}`);
        await sleep(Math.floor(Math.random() * 20));
        writer.child.kill("SIGKILL");
        const failure = await writer.done.then(String, String);
        expect(writer.child.signalCode, failure).toBe("SIGKILL");
        const { problems } = await readEverything(root);
        expect(problems, `trial ${trial}`).toEqual([]);
        // Keep a copy of every 10th state for the real MLflow, which is slow to start.
        if (trial % 10 === 9) {
          const copy = join(snapshots, `t${trial}`, "mlruns");
          await cp(root, copy, { recursive: true });
          trees.push(copy);
        }
      }
      const final = await readEverything(root);
      expect(final.runs).toBeGreaterThan(trials / 2);
      if (skipMlflow) return;
      trees.push(root);
      const output = await runPython(MLFLOW_VERSIONS.latest, CHECKER, trees);
      const results = output
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as { ok: boolean; error?: string; tree: string });
      expect(results.filter((r) => !r.ok)).toEqual([]);
      expect(results).toHaveLength(trees.length);
    });
  });
}
