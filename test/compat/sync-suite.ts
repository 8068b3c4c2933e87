import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileStore } from "../../src/store/file/index.ts";
import { RestStore } from "../../src/store/rest/index.ts";
import { sync } from "../../src/sync/index.ts";
import type { SyncOptions } from "../../src/sync/options.ts";
import { LEDGER_FILE, TREE_ID_FILE } from "../../src/tree-files.ts";
import { startFaultProxy } from "../helpers/fault-proxy.ts";
import { skipMlflow } from "../helpers/mlflow-env.ts";
import { type MlflowServer, startMlflowServer } from "../helpers/mlflow-server.ts";
import { startWriter } from "../slow/writer.ts";
import { dumpStore, mlflowDump } from "./dump.ts";
import { expectServerHoldsTree } from "./sync-equality.ts";
import { writeVariedTree } from "./varied-tree.ts";

const dirs: string[] = [];
export async function tree(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "mlruns-sync-"));
  dirs.push(dir);
  return join(dir, "mlruns");
}
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

export const quiet = { onProblem: () => {} };
export const fast = { maxRetries: 2, backoffFactor: 0.05, timeout: 5, insecureTls: false };

async function expectInSync(root: string, server: MlflowServer, prefix: string): Promise<void> {
  const local = await dumpStore(new FileStore(root, quiet));
  const remote = await mlflowDump(server.version, server.url, { registry: false, artifacts: true });
  const tree = (await readFile(join(root, TREE_ID_FILE), "utf8")).trim();
  expectServerHoldsTree(local, remote, tree, prefix);
}

/** Syncs again after each failure, as a user (or `--watch`) would, up to `attempts` times. */
async function syncUntilDone(options: SyncOptions, attempts = 10) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await sync(options);
    } catch (error) {
      if (attempt >= attempts) throw error;
    }
  }
}

/** The tests against a real `mlflow server` of one version, for the file that runs them. */
export function syncToServer(version: string): void {
  describe.skipIf(skipMlflow)(`sync to a real MLflow ${version} server`, () => {
    let server: MlflowServer;
    beforeAll(async () => {
      server = await startMlflowServer({ version });
    });
    afterAll(async () => {
      await server?.stop();
    });

    it("pushes everything; pushing again, even without the ledger, creates nothing", async () => {
      const root = await tree();
      await writeVariedTree(new FileStore(root));
      const source = new FileStore(root, quiet);
      const target = new RestStore(server.url);
      const first = await sync({ source, target, experimentPrefix: "varied/" });
      expect(first.issues).toEqual([]);
      expect(first.counts.created).toBeGreaterThan(20);
      await expectInSync(root, server, "varied/");

      const again = await sync({ source, target, experimentPrefix: "varied/" });
      expect(again.counts).toMatchObject({ created: 0, updated: 0, points: 0, artifacts: 0 });
      await rm(join(root, LEDGER_FILE));
      const relearned = await sync({ source, target, experimentPrefix: "varied/" });
      expect(relearned.counts).toMatchObject({ created: 0, points: 0, artifacts: 0, params: 0 });
      await expectInSync(root, server, "varied/");
    });

    it("pushes and pulls a history of several pages exactly, also without the ledger", async () => {
      const root = await tree();
      const source = new FileStore(root, quiet);
      const experimentId = await source.createExperiment("pages");
      const { runId } = (await source.createRun({ experimentId, runName: "long" })).info;
      // Three read pages; timestamps repeat, so the server's order (time, step, value) differs
      // from the order logged.
      const points = 25_001;
      const metrics = Array.from({ length: points }, (_, i) => ({
        key: "m",
        value: (i * 7919) % 101,
        timestamp: 1_000_000 + Math.floor((points - i) / 3),
        step: i,
      }));
      for (let at = 0; at < points; at += 5000) {
        await source.logBatch(runId, { metrics: metrics.slice(at, at + 5000) });
      }
      await source.updateRun(runId, { status: "FINISHED", endTime: 2_000_000 });
      const target = new RestStore(server.url);
      const pushed = await sync({ source, target, experimentPrefix: "pages/" });
      expect(pushed.issues).toEqual([]);
      expect(pushed.counts.points).toBe(points);
      await expectInSync(root, server, "pages/");

      await rm(join(root, LEDGER_FILE));
      const relearned = await sync({ source, target, experimentPrefix: "pages/" });
      expect(relearned.counts).toMatchObject({ created: 0, points: 0 });

      const pulledRoot = await tree();
      const pulled = await sync({
        source: target,
        target: new FileStore(pulledRoot, quiet),
        experiments: ["pages/pages"],
      });
      expect(pulled.issues).toEqual([]);
      expect(pulled.counts.points).toBe(points);
      const copy = pulled.runs[0]?.targetRunId ?? "";
      const sorted = (history: { timestamp: number; step: number; value: number }[]) =>
        history.map((p) => `${p.timestamp} ${p.step} ${p.value}`).sort();
      const back = await new FileStore(pulledRoot, quiet).getMetricHistory(copy, "m");
      expect(back).toHaveLength(points);
      expect(sorted(back)).toEqual(sorted(metrics));
    });

    it("sends new points, tags, artifacts and status of a run still running, again and again", async () => {
      const root = await tree();
      const source = new FileStore(root, quiet);
      const target = new RestStore(server.url);
      const experimentId = await source.createExperiment("incremental");
      const run = await source.createRun({ experimentId, runName: "long" });
      const file = join(root, "..", "notes.txt");
      for (let round = 0; round < 3; round++) {
        await source.logBatch(run.info.runId, {
          metrics: [{ key: "loss", value: 1 / (round + 1), timestamp: 1000 + round, step: round }],
          tags: { round: String(round) },
        });
        await writeFile(file, `round ${round}`);
        await source.logArtifact(run.info.runId, file, `r${round}`);
        const report = await sync({ source, target, experimentPrefix: "incremental/" });
        expect(report.counts.points).toBe(1);
        expect(report.counts.artifacts).toBe(1);
        await expectInSync(root, server, "incremental/");
      }
      await source.updateRun(run.info.runId, { status: "FINISHED", endTime: 5000 });
      const finished = await sync({ source, target, experimentPrefix: "incremental/" });
      expect(finished.counts.updated).toBe(1);
      await expectInSync(root, server, "incremental/");
    });

    it("completes after the server is killed and restarted mid-sync, without duplicates", async () => {
      const root = await tree();
      await writeVariedTree(new FileStore(root));
      const source = new FileStore(root, quiet);
      const target = new RestStore(server.url, fast);
      let killed = false;
      const interrupted = await sync({
        source,
        target,
        experimentPrefix: "restart/",
        onProgress: (p) => {
          if (!killed && p.runsDone >= 5) {
            killed = true;
            void server.crash();
          }
        },
      }).catch((error: unknown) => error);
      expect(killed).toBe(true);
      expect(interrupted).toBeInstanceOf(Error);
      await server.restart();
      const resumed = await sync({ source, target, experimentPrefix: "restart/" });
      expect(resumed.issues).toEqual([]);
      await expectInSync(root, server, "restart/");
    });

    it("copies runs that share new datasets, several at once, 12 rounds out of 12", async () => {
      // Two trees whose runs log the same two datasets: within one sync, and between two syncs
      // of different trees into one experiment at the same moment.
      const sources = [await tree(), await tree()].map((root) => new FileStore(root, quiet));
      const dataset = (name: string) => ({
        dataset: {
          name,
          digest: `d-${name}`,
          sourceType: "code",
          source: "{}",
          schema: null,
          profile: null,
        },
        tags: { "mlflow.data.context": "training" },
      });
      for (const source of sources) {
        const experimentId = await source.createExperiment("datasets");
        for (let i = 0; i < 6; i++) {
          const run = await source.createRun({ experimentId, runName: `r${i}` });
          await source.logInputs(run.info.runId, [dataset("train"), dataset("eval")]);
        }
      }
      const target = new RestStore(server.url);
      // A new prefix each round (and no ledger, which would call the runs copied already): a
      // new experiment, in which both datasets are new again.
      for (let round = 0; round < 12; round++) {
        const experimentPrefix = `datasets-${round}/`;
        const reports = await Promise.all(
          sources.map((source) =>
            sync({ source, target, experimentPrefix, concurrency: 3, ledgerPath: null }),
          ),
        );
        for (const report of reports) {
          expect(report.issues, `round ${round}`).toEqual([]);
          expect(report.counts).toMatchObject({ created: 6, failed: 0 });
        }
        const copied = await target.getExperimentByName(`${experimentPrefix}datasets`);
        const runs = await target.listRuns([copied?.experimentId ?? ""]);
        expect(runs.map((r) => r.inputs.map((i) => i.dataset.name).sort())).toEqual(
          Array(12).fill(["eval", "train"]),
        );
      }
    });

    it("rides out 5xx answers and hanging requests from a flaky proxy", async () => {
      const root = await tree();
      await writeVariedTree(new FileStore(root));
      const proxy = await startFaultProxy(server.url, { failEvery: 4, hangEvery: 23 });
      try {
        const source = new FileStore(root, quiet);
        const target = new RestStore(proxy.url, { ...fast, maxRetries: 6, timeout: 2 });
        const report = await syncUntilDone({ source, target, experimentPrefix: "flaky/" });
        expect(report.issues).toEqual([]);
        expect(proxy.faults()).toBeGreaterThan(5);
      } finally {
        await proxy.stop();
      }
      await expectInSync(root, server, "flaky/");
    });

    it("copies the model registry: versions point at the copied runs; aliases and stages follow", async () => {
      const root = await tree();
      const source = new FileStore(root, quiet);
      const experimentId = await source.createExperiment("registry");
      const run = await source.createRun({ experimentId, runName: "trained" });
      const file = join(root, "..", "weights.json");
      await writeFile(file, "[1, 2]");
      await source.logArtifact(run.info.runId, file, "model");
      const registry = source.registry;
      const name = `sync-${version}-model`;
      await registry.createRegisteredModel(name, { description: "synced", tags: { team: "x" } });
      await registry.createModelVersion({ name, source: `runs:/${run.info.runId}/model` });
      await registry.createModelVersion({
        name,
        source: `runs:/${run.info.runId}/model`,
        tags: { q: "2" },
      });
      await registry.transitionModelVersionStage(name, "2", "Production", false);
      await registry.setRegisteredModelAlias(name, "champion", "2");
      const target = new RestStore(server.url);
      const report = await sync({ source, target, experimentPrefix: "registry/" });
      expect(report.issues).toEqual([]);
      expect(report.registry).toEqual({ models: 1, versions: 2 });
      const copy = (
        await target.searchRuns({
          experimentIds: [
            (await target.getExperimentByName("registry/registry"))?.experimentId ?? "",
          ],
        })
      ).runs[0];
      const model = await target.registry.getRegisteredModel(name);
      expect(model).toMatchObject({
        description: "synced",
        tags: { team: "x" },
        aliases: { champion: "2" },
      });
      const v2 = await target.registry.getModelVersion(name, "2");
      expect(v2).toMatchObject({
        source: `runs:/${copy?.info.runId}/model`,
        currentStage: "Production",
      });
      expect(v2.tags.q).toBe("2");
      const again = await sync({ source, target, experimentPrefix: "registry/" });
      expect(again.registry).toEqual({ models: 0, versions: 0 });
      expect(
        (await target.registry.searchModelVersions({ filter: `name = '${name}'` })).versions,
      ).toHaveLength(2);
    });

    it("completes after the syncing process is killed at random points", async () => {
      const root = await tree();
      await writeVariedTree(new FileStore(root));
      for (let trial = 0; trial < 6; trial++) {
        const writer = startWriter(["sync", root, server.url, "killed/"]);
        // Killed while it syncs (later in each trial), however long it took to load; a sync
        // that finishes before the kill is fine.
        await writer.said("syncing");
        await new Promise((resolve) => setTimeout(resolve, trial * 250 + Math.random() * 250));
        writer.child.kill("SIGKILL");
        await writer.done.catch(() => {});
      }
      const source = new FileStore(root, quiet);
      const report = await sync({
        source,
        target: new RestStore(server.url),
        experimentPrefix: "killed/",
      });
      expect(report.issues).toEqual([]);
      await expectInSync(root, server, "killed/");
    });
  });
}
