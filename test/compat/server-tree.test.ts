/**
 * `mlruns server` and the tree under it, with MLflow's Python client: trees MLflow wrote (the
 * fixtures) are served whole; changes other processes make are in the next answer; 8 Python
 * processes logging at once lose nothing; MLflow's credential variables open a guarded server.
 */
import { readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServer, startServer } from "../../src/server/index.ts";
import { FileStore } from "../../src/store/file/index.ts";
import { RestStore } from "../../src/store/rest/index.ts";
import { registryOf } from "../../src/store/store.ts";
import { MLFLOW_VERSIONS, REPO_ROOT, runPython, skipMlflow } from "../helpers/mlflow-env.ts";
import { type Dump, materializeFixture, mlflowDump } from "./dump.ts";

const WORKER = join(REPO_ROOT, "test", "compat", "server_worker.py");
const LATEST = MLFLOW_VERSIONS.latest;
const FAST = { insecureTls: false, maxRetries: 1, backoffFactor: 0.01, timeout: 60 };

/**
 * MLflow's file store reads step 0 for a metric line with a dataset (5 fields, written by MLflow
 * 3); mlruns (and MLflow's own migration) keep the real step. Puts the real steps into a dump of
 * MLflow's direct reading, from the lines themselves.
 */
async function withRealSteps(dump: Dump, root: string): Promise<Dump> {
  for (const run of dump.runs) {
    for (const key of Object.keys(run.metric_history)) {
      const file = join(
        root,
        run.info.experiment_id,
        run.info.run_id,
        "metrics",
        ...key.split("/"),
      );
      const lines = (await readFile(file, "utf8").catch(() => "")).split("\n").filter(Boolean);
      if (!lines.some((line) => line.trim().split(" ").length === 5)) continue;
      const history = run.metric_history[key] ?? [];
      lines.forEach((line, i) => {
        const point = history[i];
        if (point !== undefined) point[2] = Number(line.trim().split(" ")[2]);
      });
      const latest = run.metrics[key];
      const last = history.find((p) => p[0] === latest?.timestamp && p[1] === latest?.value);
      if (latest !== undefined && last !== undefined) latest.step = last[2];
    }
  }
  return dump;
}

/** What a worker printed last (MLflow prints its own lines before). */
const lastLine = (out: string) => out.trim().split("\n").at(-1) ?? "";

/** A dump with its artifact locations left out (served: proxy URIs; read directly: file URIs). */
function withoutLocations(dump: Dump): unknown {
  return JSON.parse(JSON.stringify(dump), (key, value: unknown) =>
    key === "artifact_uri" || key === "artifact_location" ? undefined : value,
  );
}

describe.skipIf(skipMlflow)("mlruns server over trees, with MLflow's client", () => {
  for (const version of Object.values(MLFLOW_VERSIONS)) {
    it(`serves the tree MLflow ${version} wrote whole: the same through the server as read directly`, async () => {
      const root = await materializeFixture(`mlflow-${version}`);
      const server = await startServer({ root, port: 0, log: () => {} });
      try {
        const options = { artifacts: true, loggedModels: version.startsWith("3.") };
        const direct = await withRealSteps(await mlflowDump(version, root, options), root);
        const served = await mlflowDump(version, server.url, options);
        expect(served.runs.length).toBeGreaterThan(3);
        expect(served.runs.some((r) => (r.artifacts ?? []).length > 0)).toBe(true);
        expect(withoutLocations(served)).toEqual(withoutLocations(direct));
      } finally {
        await server.close();
        await rm(dirname(root), { recursive: true, force: true });
      }
    });
  }

  describe("a running server", () => {
    let root: string;
    let server: RunningServer;
    let experimentId: string;
    beforeAll(async () => {
      root = join(await materializeFixture(`mlflow-${LATEST}`), "..", "fresh");
      const store = new FileStore(root);
      experimentId = await store.createExperiment("fresh");
      server = await startServer({ root, port: 0, log: () => {} });
    });
    afterAll(async () => {
      await server?.close();
      await rm(dirname(root), { recursive: true, force: true });
    });

    it("answers with what other processes wrote since: MLflow's file store, and rsync-like edits", async () => {
      const client = new RestStore(server.url, FAST);
      const names = async () =>
        (await client.searchRuns({ experimentIds: [experimentId] })).runs.map(
          (r) => r.info.runName,
        );
      expect(await names()).toEqual([]);
      const written = lastLine(
        await runPython(LATEST, WORKER, ["write-file-store", root, experimentId, "from-mlflow"]),
      );
      expect(await names()).toEqual(["from-mlflow"]);
      const found = await client.searchRuns({
        experimentIds: [experimentId],
        filter: "params.writer = 'mlflow-file-store' AND metrics.m > 1",
      });
      expect(found.runs.map((r) => r.info.runId)).toEqual([written]);
      // A file replaced behind everyone's back, as rsync does.
      await writeFile(join(root, experimentId, written, "params", "writer"), "rsync");
      expect((await client.getRun(written)).data.params.writer).toBe("rsync");
      const edited = await client.searchRuns({
        experimentIds: [experimentId],
        filter: "params.writer = 'rsync'",
      });
      expect(edited.runs.map((r) => r.info.runId)).toEqual([written]);
    });

    it("keeps MLflow 3's prompts: versions with placeholder sources, aliases, loads, search", async () => {
      const env = { MLFLOW_TRACKING_URI: server.url };
      const out = lastLine(await runPython(LATEST, WORKER, ["prompts", "greeting"], { env }));
      expect(JSON.parse(out)).toEqual({
        version: 2,
        prod: "Hello a",
        latest: "Hi b!",
        found: ["greeting"],
      });
      const registry = registryOf(new FileStore(root));
      const model = await registry.getRegisteredModel("greeting");
      expect(model.tags["mlflow.prompt.is_prompt"]).toBe("true");
      expect(model.aliases).toEqual({ prod: "1" });
      const first = await registry.getModelVersion("greeting", "1");
      expect(first.source).toBe("dummy-source");
      expect(first.tags["mlflow.prompt.text"]).toBe("Hello {{who}}");
    });

    it("loses nothing when 8 Python processes log at once", async () => {
      const store = new FileStore(root);
      const shared = (await store.createRun({ experimentId, runName: "shared" })).info.runId;
      const workers = 8;
      const points = 200;
      const env = { MLFLOW_TRACKING_URI: server.url };
      const runIds = (
        await Promise.all(
          Array.from({ length: workers }, (_, w) =>
            runPython(LATEST, WORKER, ["log", experimentId, String(w), shared, String(points)], {
              env,
            }),
          ),
        )
      ).map(lastLine);
      expect(new Set(runIds).size).toBe(workers);
      for (const [w, runId] of runIds.entries()) {
        const run = await store.getRun(runId);
        expect(run.info.status).toBe("FINISHED");
        expect(Object.keys(run.data.params)).toHaveLength(20);
        expect(run.data.params.p7).toBe(`${w}-7`);
        expect(Object.keys(run.data.tags).filter((k) => /^t\d+$/.test(k))).toHaveLength(10);
        expect(await store.getMetricHistory(runId, "one")).toHaveLength(points / 2);
        expect(await store.getMetricHistory(runId, "batch")).toHaveLength(points / 2);
        const text = Buffer.from(await store.readArtifact(runId, `outputs/worker-${w}.txt`));
        expect(text.toString()).toBe(`written by worker ${w}\n`.repeat(100));
      }
      for (let w = 0; w < workers; w++) {
        const history = await store.getMetricHistory(shared, `w${w}`);
        expect(history.map((m) => m.step)).toEqual(Array.from({ length: points }, (_, i) => i));
      }
      expect(await store.getMetricHistory(shared, "all")).toHaveLength((workers * points) / 50);
      // MLflow's own reader finds every point too.
      const dump = await mlflowDump(LATEST, root, { artifacts: false, registry: false });
      const sharedDump = dump.runs.find((r) => r.info.run_id === shared);
      expect(Object.keys(sharedDump?.metric_history ?? {}).sort()).toEqual(
        ["all", ...Array.from({ length: workers }, (_, w) => `w${w}`)].sort(),
      );
      expect(sharedDump?.metric_history.w3).toHaveLength(points);
    });
  });

  it("opens to MLflow's credential variables (basic and bearer), and only to them", async () => {
    const root = join(await materializeFixture(`mlflow-${LATEST}`), "..", "guarded");
    const server = await startServer({
      root,
      port: 0,
      log: () => {},
      credentials: { username: "ada", password: "a-long-password", token: "a-token" },
    });
    try {
      const env = { MLFLOW_TRACKING_URI: server.url, MLFLOW_HTTP_REQUEST_MAX_RETRIES: "0" };
      const basic = await runPython(LATEST, WORKER, ["tiny", "guarded"], {
        env: {
          ...env,
          MLFLOW_TRACKING_USERNAME: "ada",
          MLFLOW_TRACKING_PASSWORD: "a-long-password",
        },
      });
      const bearer = await runPython(LATEST, WORKER, ["tiny", "guarded"], {
        env: { ...env, MLFLOW_TRACKING_TOKEN: "a-token" },
      });
      const store = new FileStore(root);
      for (const runId of [lastLine(basic), lastLine(bearer)]) {
        expect((await store.getRun(runId)).data.params).toEqual({ p: "1" });
        expect(Buffer.from(await store.readArtifact(runId, "hi.txt")).toString()).toBe("hi");
      }
      await expect(runPython(LATEST, WORKER, ["tiny", "guarded"], { env })).rejects.toThrow(
        /UNAUTHENTICATED|401/,
      );
      await expect(
        runPython(LATEST, WORKER, ["tiny", "guarded"], {
          env: { ...env, MLFLOW_TRACKING_TOKEN: "wrong" },
        }),
      ).rejects.toThrow(/UNAUTHENTICATED|401/);
    } finally {
      await server.close();
      await rm(dirname(root), { recursive: true, force: true });
    }
  });
});
