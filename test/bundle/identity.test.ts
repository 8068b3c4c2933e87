/**
 * One identity per run across trees and bundles: a run keeps its id and names the tree it was
 * first written in, so sync finds its copy on a target however the run travelled (pushed from
 * its own tree, from a tree it was imported into, from a bundle, through a chain of trees), in
 * any order. (Against real MLflow servers: test/compat/bundle-sync.test.ts.)
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { exportBundle } from "../../src/bundle/export.ts";
import { importBundle } from "../../src/bundle/import.ts";
import { syncBundle } from "../../src/bundle/index.ts";
import { FileStore } from "../../src/store/file/index.ts";
import { MemoryStore } from "../../src/store/memory/index.ts";
import { ORIGIN_TAG, SOURCE_TAGS } from "../../src/sync/identity.ts";
import { sync } from "../../src/sync/index.ts";
import { TREE_ID_FILE } from "../../src/tree-files.ts";
import { tempDir } from "./helpers.ts";

const quiet = { onProblem: () => {} };

async function treeWithRuns(dir: string, name: string) {
  const store = new FileStore(join(dir, name), quiet);
  const experimentId = await store.createExperiment("shared");
  const parent = await store.createRun({ experimentId, runName: "sweep" });
  const child = await store.createRun({
    experimentId,
    runName: "trial",
    tags: { "mlflow.parentRunId": parent.info.runId },
  });
  await store.logBatch(child.info.runId, {
    params: { lr: "0.1" },
    metrics: [{ key: "loss", value: 0.5, timestamp: 1, step: 0 }],
  });
  return { store, parent: parent.info.runId, child: child.info.runId };
}

async function allRuns(target: MemoryStore) {
  const ids = (await target.listExperiments("ALL")).map((e) => e.experimentId);
  return target.listRuns(ids, "ALL");
}

describe("a run's identity across bundles", () => {
  it("is the same pushed from its tree, from a tree it was imported into, and from its bundle", async () => {
    const dir = await tempDir();
    const a = await treeWithRuns(dir, "a");
    const bundle = join(dir, "a.tar");
    await exportBundle({ source: a.store, output: bundle });
    const b = new FileStore(join(dir, "b"), quiet);
    await importBundle({ bundle, target: b });

    for (const order of [
      ["tree", "import", "bundle"],
      ["bundle", "import", "tree"],
      ["import", "bundle", "tree"],
    ]) {
      const target = new MemoryStore();
      const push = {
        tree: () => sync({ source: a.store, target, ledgerPath: null }),
        import: () => sync({ source: b, target, ledgerPath: null }),
        bundle: () => syncBundle({ bundle, target }),
      } as const;
      const first = await push[order[0] as keyof typeof push]();
      expect(first.counts.created, order.join(" → ")).toBe(2);
      for (const next of order.slice(1)) {
        const report = await push[next as keyof typeof push]();
        expect(report.counts, `${order.join(" → ")}: ${next}`).toMatchObject({
          created: 0,
          updated: 0,
          points: 0,
          params: 0,
          tags: 0,
        });
      }
      const runs = await allRuns(target);
      expect(runs).toHaveLength(2);
      const tree = (await readFile(join(a.store.root, TREE_ID_FILE), "utf8")).trim();
      for (const run of runs) {
        expect(run.data.tags[SOURCE_TAGS.tree]).toBe(tree);
        expect(run.data.tags[ORIGIN_TAG]).toBeUndefined();
      }
      const copyOf = (id: string) => runs.find((r) => r.data.tags[SOURCE_TAGS.runId] === id);
      expect(copyOf(a.child)?.data.tags["mlflow.parentRunId"]).toBe(copyOf(a.parent)?.info.runId);
    }
  });

  it("survives a chain of trees, while runs written in the middle tree are that tree's own", async () => {
    const dir = await tempDir();
    const a = await treeWithRuns(dir, "a");
    await exportBundle({ source: a.store, output: join(dir, "a.tar") });
    const b = new FileStore(join(dir, "b"), quiet);
    await importBundle({ bundle: join(dir, "a.tar"), target: b });
    const shared = (await b.getExperimentByName("shared"))?.experimentId as string;
    const own = await b.createRun({ experimentId: shared, runName: "b-own" });
    await exportBundle({ source: b, output: join(dir, "b.tar") });
    const c = new FileStore(join(dir, "c"), quiet);
    await importBundle({ bundle: join(dir, "b.tar"), target: c });

    const target = new MemoryStore();
    expect((await sync({ source: a.store, target, ledgerPath: null })).counts.created).toBe(2);
    const fromC = await sync({ source: c, target, ledgerPath: null });
    expect(fromC.counts).toMatchObject({ created: 1, unchanged: 2 });
    const treeB = (await readFile(join(b.root, TREE_ID_FILE), "utf8")).trim();
    const copy = (await allRuns(target)).find(
      (r) => r.data.tags[SOURCE_TAGS.runId] === own.info.runId,
    );
    expect(copy?.data.tags[SOURCE_TAGS.tree]).toBe(treeB);
    expect((await sync({ source: b, target, ledgerPath: null })).counts.created).toBe(0);
  });
});
