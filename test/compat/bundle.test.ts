/**
 * Bundles with the real MLflow (3.x and 2.x): an unpacked bundle is a tree MLflow reads with the
 * same data as the tree it came from; a bundle pushed to a real `mlflow server` is the same as
 * the tree pushed, and its increments (a run still training) add only their new points; many
 * machines (a job array writing one tree per node, with shared experiment names and overlapping
 * run names) end up on one server as one experiment per name, linked, and pushing again, or
 * merging the trees with `import` and pushing the merged tree, changes nothing.
 */
import { execFile } from "node:child_process";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { exportBundle } from "../../src/bundle/export.ts";
import { importBundle } from "../../src/bundle/import.ts";
import { syncBundle } from "../../src/bundle/index.ts";
import type { Run } from "../../src/entities.ts";
import { FileStore } from "../../src/store/file/index.ts";
import { RestStore } from "../../src/store/rest/index.ts";
import { ORIGIN_TAG, SOURCE_TAGS } from "../../src/sync/identity.ts";
import { sync } from "../../src/sync/index.ts";
import { TREE_ID_FILE } from "../../src/tree-files.ts";
import { tempDir, treeState } from "../bundle/helpers.ts";
import { MLFLOW_VERSIONS, skipMlflow } from "../helpers/mlflow-env.ts";
import { type SharedMlflowServer, sharedMlflowServer } from "../helpers/shared-mlflow.ts";
import { type Dump, dumpStore, mlflowDump } from "./dump.ts";
import { expectServerHoldsTree } from "./sync-equality.ts";
import { writeVariedTree } from "./varied-tree.ts";

const exec = promisify(execFile);
const quiet = { onProblem: () => {} };
const T = 1_767_225_600_000;

const treeId = async (root: string) => (await readFile(join(root, TREE_ID_FILE), "utf8")).trim();

/** The source's dump limited to what a bundle holds, without what unpacking changes. */
function asUnpacked(dump: Dump, experimentIds: Set<string>): Dump {
  const copy = structuredClone(dump);
  copy.experiments = copy.experiments
    .filter((e) => experimentIds.has(e.experiment_id))
    .map((e) => ({ ...e, artifact_location: "" }));
  copy.runs = copy.runs
    .filter((r) => experimentIds.has(r.info.experiment_id))
    .map((r) => ({ ...r, info: { ...r.info, artifact_uri: "" } }));
  return copy;
}

function withoutPlaces(dump: Dump, tree: string): Dump {
  const copy = structuredClone(dump);
  for (const e of copy.experiments) e.artifact_location = "";
  for (const r of copy.runs) {
    r.info.artifact_uri = "";
    expect(r.tags[ORIGIN_TAG]).toBe(tree);
    delete r.tags[ORIGIN_TAG];
  }
  return copy;
}

describe.skipIf(skipMlflow)("an unpacked bundle", () => {
  let root: string;
  let unpacked: string;
  let ours: Dump;
  let experimentIds: Set<string>;
  beforeAll(async () => {
    const dir = await tempDir();
    root = join(dir, "mlruns");
    await writeVariedTree(new FileStore(root));
    const bundle = join(dir, "runs.tar.gz");
    await exportBundle({ source: new FileStore(root, quiet), output: bundle });
    unpacked = join(dir, "unpacked");
    await mkdir(unpacked);
    await exec("tar", ["-xzf", bundle, "-C", unpacked]);
    ours = await dumpStore(new FileStore(root, quiet));
    const active = ours.experiments.filter((e) => e.lifecycle_stage === "active");
    experimentIds = new Set(active.map((e) => e.experiment_id));
  });

  for (const version of [MLFLOW_VERSIONS.latest, MLFLOW_VERSIONS.v2]) {
    it(`is a tree MLflow ${version} reads with the data of the tree it came from`, async () => {
      // Started where it was unpacked, as the README says, so relative artifact locations resolve.
      const theirs = await mlflowDump(version, "mlruns", { cwd: unpacked, registry: false });
      expect(theirs.runs.length).toBeGreaterThan(20);
      expect(theirs.runs.every((r) => (r.artifacts?.length ?? 0) > 0)).toBe(true);
      expect(withoutPlaces(theirs, await treeId(root))).toEqual(asUnpacked(ours, experimentIds));
    });
  }
});

/** Every run on the server in experiments whose names start with `prefix`. */
async function serverRuns(
  server: SharedMlflowServer,
  prefix: string,
): Promise<{ runs: Run[]; experiments: string[] }> {
  const store = new RestStore(server.url);
  const experiments = (await store.listExperiments("ALL")).filter((e) => e.name.startsWith(prefix));
  const runs =
    experiments.length === 0
      ? []
      : await store.listRuns(
          experiments.map((e) => e.experimentId),
          "ALL",
        );
  return { runs, experiments: experiments.map((e) => e.name).sort() };
}

/** One node of a job array: a tree with a sweep (a parent and three trials) and an eval run. */
async function nodeTree(dir: string, node: number) {
  const store = new FileStore(join(dir, `node-${node}`, "mlruns"), quiet);
  const sweep = await store.createExperiment("jobs/sweep");
  const evaluation = await store.createExperiment("jobs/eval");
  const parent = await store.createRun({
    experimentId: sweep,
    runName: "sweep",
    startTime: T + node,
  });
  for (let trial = 0; trial < 3; trial++) {
    const child = await store.createRun({
      experimentId: sweep,
      runName: `trial-${trial}`,
      startTime: T + node * 10 + trial,
      tags: { "mlflow.parentRunId": parent.info.runId, node: String(node) },
    });
    await store.logBatch(child.info.runId, {
      params: { lr: String(10 ** -trial), node: String(node) },
      metrics: Array.from({ length: 20 }, (_, step) => ({
        key: "loss",
        value: (node + 1) / (step + 1),
        timestamp: T + step,
        step,
      })),
    });
    await store.updateRun(child.info.runId, { status: "FINISHED", endTime: T + 1000 });
  }
  const evalRun = await store.createRun({
    experimentId: evaluation,
    runName: "eval",
    startTime: T + node,
  });
  await store.logBatch(evalRun.info.runId, {
    metrics: [{ key: "acc", value: 0.9, timestamp: T, step: 0 }],
  });
  return store;
}

for (const version of [MLFLOW_VERSIONS.latest, MLFLOW_VERSIONS.v2]) {
  describe.skipIf(skipMlflow)(`bundles and a real MLflow ${version} server`, () => {
    // Shared with other files: this file's experiments are bundle/, inc/, jobs/ and merged/.
    let server: SharedMlflowServer;
    beforeAll(async () => {
      server = await sharedMlflowServer(version);
    });

    it("a pushed bundle is the tree pushed; the bundle and the tree pushed again create nothing", async () => {
      const dir = await tempDir();
      const root = join(dir, "mlruns");
      await writeVariedTree(new FileStore(root));
      const source = new FileStore(root, quiet);
      const bundle = join(dir, "varied.tar.gz");
      await exportBundle({ source, output: bundle });
      const target = new RestStore(server.url);
      const pushed = await syncBundle({ bundle, target, experimentPrefix: "bundle/" });
      expect(pushed.issues).toEqual([]);
      expect(pushed.counts.created).toBeGreaterThan(20);
      const remote = await mlflowDump(server.version, server.url, {
        registry: false,
        artifacts: true,
        prefix: "bundle/",
      });
      expectServerHoldsTree(await dumpStore(source), remote, await treeId(root), "bundle/");
      for (const again of [
        () => syncBundle({ bundle, target, experimentPrefix: "bundle/" }),
        () => sync({ source, target, experimentPrefix: "bundle/" }),
      ]) {
        expect((await again()).counts).toMatchObject({
          created: 0,
          updated: 0,
          points: 0,
          artifacts: 0,
        });
      }
    });

    it("increments of a run still training add only their new points, and then its end", async () => {
      const dir = await tempDir();
      const source = new FileStore(join(dir, "mlruns"), quiet);
      const experimentId = await source.createExperiment("increments");
      const run = await source.createRun({ experimentId, runName: "training" });
      const target = new RestStore(server.url);
      let base: string | undefined;
      for (let round = 0; round < 3; round++) {
        await source.logBatch(run.info.runId, {
          metrics: Array.from({ length: 100 }, (_, i) => ({
            key: "loss",
            value: 1 / (round * 100 + i + 1),
            timestamp: T + round * 100 + i,
            step: round * 100 + i,
          })),
          tags: { round: String(round) },
        });
        const bundle = join(dir, `round-${round}.tar.gz`);
        await exportBundle({ source, output: bundle, ...(base ? { since: base } : {}) });
        const report = await syncBundle({ bundle, target, experimentPrefix: "inc/" });
        expect(report.counts.points, `round ${round}`).toBe(100);
        expect((await syncBundle({ bundle, target, experimentPrefix: "inc/" })).counts.points).toBe(
          0,
        );
        base = bundle;
      }
      await source.updateRun(run.info.runId, { status: "FINISHED", endTime: T + 9999 });
      const last = join(dir, "end.tar.gz");
      await exportBundle({ source, output: last, since: base });
      expect(
        (await syncBundle({ bundle: last, target, experimentPrefix: "inc/" })).counts,
      ).toMatchObject({ updated: 1, points: 0 });
      const { runs } = await serverRuns(server, "inc/");
      expect(runs).toHaveLength(1);
      const copy = runs[0] as Run;
      expect(copy.info.status).toBe("FINISHED");
      const history = await target.getMetricHistory(copy.info.runId, "loss");
      expect(history).toHaveLength(300);
      expect(new Set(history.map((p) => p.step)).size).toBe(300);
    });

    it("four machines, one server: one experiment per name, no collisions, links kept, re-pushing and merging change nothing", async () => {
      const dir = await tempDir();
      const nodes = await Promise.all([0, 1, 2, 3].map((node) => nodeTree(dir, node)));
      const target = new RestStore(server.url);
      for (const node of nodes) {
        const report = await sync({ source: node, target });
        expect(report.counts.created).toBe(5);
        expect(report.issues).toEqual([]);
      }
      const pushed = await serverRuns(server, "jobs/");
      expect(pushed.experiments).toEqual(["jobs/eval", "jobs/sweep"]);
      expect(pushed.runs).toHaveLength(20);
      expect(new Set(pushed.runs.map((r) => r.info.runId)).size).toBe(20);
      const expectLinked = (runs: Run[]) => {
        const byId = new Map(runs.map((r) => [r.info.runId, r]));
        const children = runs.filter((r) => r.info.runName.startsWith("trial-"));
        expect(children).toHaveLength(12);
        for (const child of children) {
          const parent = byId.get(child.data.tags["mlflow.parentRunId"] ?? "");
          expect(parent?.info.runName).toBe("sweep");
          // The parent is the sweep of the child's own node.
          expect(parent?.data.tags[SOURCE_TAGS.tree]).toBe(child.data.tags[SOURCE_TAGS.tree]);
        }
      };
      expectLinked(pushed.runs);

      for (const node of nodes) {
        const again = await sync({ source: node, target });
        expect(again.counts).toMatchObject({
          created: 0,
          updated: 0,
          points: 0,
          params: 0,
          tags: 0,
        });
      }

      // The same trees merged into one with `import`, pushed again, to the same experiments and
      // (with a prefix) to new ones, where the node trees then add nothing.
      const merged = new FileStore(join(dir, "merged"), quiet);
      const bundles: string[] = [];
      for (const [i, node] of nodes.entries()) {
        const bundle = join(dir, `node-${i}.tar.gz`);
        await exportBundle({ source: node, output: bundle });
        bundles.push(bundle);
        expect((await importBundle({ bundle, target: merged })).counts.created).toBe(5);
      }
      const mergedExperiments = (await merged.listExperiments()).map((e) => e.name).sort();
      expect(mergedExperiments).toEqual(["Default", "jobs/eval", "jobs/sweep"]);
      const mergedRuns = await merged.listRuns(
        (await merged.listExperiments()).map((e) => e.experimentId),
      );
      expect(mergedRuns).toHaveLength(20);
      for (const child of mergedRuns.filter((r) => r.info.runName.startsWith("trial-"))) {
        const parent = mergedRuns.find(
          (r) => r.info.runId === child.data.tags["mlflow.parentRunId"],
        );
        expect(parent?.data.tags[ORIGIN_TAG]).toBe(child.data.tags[ORIGIN_TAG]);
      }
      const before = await treeState(merged.root);
      for (const bundle of bundles) await importBundle({ bundle, target: merged });
      expect(await treeState(merged.root)).toEqual(before);

      expect((await sync({ source: merged, target })).counts).toMatchObject({
        created: 0,
        updated: 0,
        unchanged: 20,
        points: 0,
      });
      const toNew = await sync({ source: merged, target, experimentPrefix: "merged/" });
      expect(toNew.counts.created).toBe(20);
      const fresh = await serverRuns(server, "merged/jobs/");
      expect(fresh.experiments).toEqual(["merged/jobs/eval", "merged/jobs/sweep"]);
      expect(fresh.runs).toHaveLength(20);
      expectLinked(fresh.runs);
      for (const node of nodes) {
        expect(
          (await sync({ source: node, target, experimentPrefix: "merged/" })).counts,
        ).toMatchObject({ created: 0, updated: 0 });
      }
      expect((await serverRuns(server, "jobs/")).runs).toHaveLength(20);
      expect((await serverRuns(server, "merged/")).runs).toHaveLength(20);
    });
  });
}
