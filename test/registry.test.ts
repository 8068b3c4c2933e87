/**
 * The model registry on FileStore and MemoryStore (the shared contract), plus what only the tree
 * has: MLflow's layout, crash-safe writes, concurrent version creators, fixtures MLflow wrote,
 * and the tracker's registerModel / logModel.
 */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { resolveConfig } from "../src/config.ts";
import { FileStore } from "../src/store/file/index.ts";
import { fromYaml } from "../src/store/file/yaml.ts";
import { MemoryStore } from "../src/store/memory/index.ts";
import { Tracker } from "../src/tracker/tracker.ts";
import { materializeFixture } from "./compat/dump.ts";
import { describeRegistryStore } from "./registry-contract.ts";

const dirs: string[] = [];
async function tempTree(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "mlruns-registry-"));
  dirs.push(dir);
  return join(dir, "mlruns");
}
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describeRegistryStore("MemoryStore", async () => ({ store: new MemoryStore() }));
describeRegistryStore("FileStore", async () => ({ store: new FileStore(await tempTree()) }));

async function walk(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(`${rel}/`, ...(await walk(join(dir, entry.name), rel)));
    else out.push(rel);
  }
  return out.sort();
}

describe("FileStore registry on disk", () => {
  it("writes MLflow's layout: sorted meta.yaml keys, tags/ and aliases/ files, no temp files", async () => {
    const root = await tempTree();
    const store = new FileStore(root);
    await store.registry.createRegisteredModel("iris", { tags: { team: "cv" }, description: "d" });
    await store.registry.createModelVersion({
      name: "iris",
      source: "file:///x",
      tags: { q: "1" },
    });
    await store.registry.setRegisteredModelAlias("iris", "champion", "1");
    expect(await walk(join(root, "models"))).toEqual([
      "iris/",
      "iris/aliases/",
      "iris/aliases/champion",
      "iris/meta.yaml",
      "iris/tags/",
      "iris/tags/team",
      "iris/version-1/",
      "iris/version-1/meta.yaml",
      "iris/version-1/tags/",
      "iris/version-1/tags/q",
    ]);
    const model = fromYaml(await readFile(join(root, "models/iris/meta.yaml"), "utf8"));
    expect(Object.keys(model as object)).toEqual([
      "aliases",
      "creation_timestamp",
      "deployment_job_id",
      "deployment_job_state",
      "description",
      "last_updated_timestamp",
      "name",
      "workspace",
    ]);
    expect(model).toMatchObject({ aliases: { champion: "1" }, name: "iris", description: "d" });
    const version = fromYaml(await readFile(join(root, "models/iris/version-1/meta.yaml"), "utf8"));
    expect(version).toMatchObject({
      version: 1,
      current_stage: "None",
      source: "file:///x",
      storage_location: "file:///x",
      status: "READY",
      name: "iris",
    });
    expect(await readFile(join(root, "models/iris/aliases/champion"), "utf8")).toBe("1");
    // Nothing left in experiment 0 from staging, and no lock file.
    expect((await readdir(join(root, "0"))).filter((n) => n.startsWith("."))).toEqual([]);
    expect((await readdir(root)).sort()).toEqual([".trash", "0", "models"]);
  });

  it("keeps a deleted version's folder as Deleted_Internal", async () => {
    const root = await tempTree();
    const store = new FileStore(root);
    await store.registry.createRegisteredModel("m");
    await store.registry.createModelVersion({ name: "m", source: "file:///a" });
    await store.registry.deleteModelVersion("m", "1");
    const meta = fromYaml(await readFile(join(root, "models/m/version-1/meta.yaml"), "utf8"));
    expect(meta).toMatchObject({ current_stage: "Deleted_Internal" });
  });

  it("gives concurrent creators (two stores on one tree) distinct version numbers", async () => {
    const root = await tempTree();
    const a = new FileStore(root);
    const b = new FileStore(root);
    await a.registry.createRegisteredModel("race");
    const made = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        (i % 2 ? a : b).registry.createModelVersion({ name: "race", source: `file:///m${i}` }),
      ),
    );
    const numbers = made.map((v) => Number(v.version)).sort((x, y) => x - y);
    expect(numbers).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    const entries = await readdir(join(root, "models/race"));
    expect(entries.filter((n) => n.startsWith(".tmp"))).toEqual([]);
  });

  it("creates one model when two stores race on the same name", async () => {
    const root = await tempTree();
    const results = await Promise.allSettled([
      new FileStore(root).registry.createRegisteredModel("same"),
      new FileStore(root).registry.createRegisteredModel("same"),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
  });

  it("skips a model folder without meta.yaml (a crash leftover of MLflow) with a problem", async () => {
    const root = await tempTree();
    const problems: string[] = [];
    const store = new FileStore(root, { onProblem: (p) => problems.push(p.message) });
    await store.registry.createRegisteredModel("good");
    const { mkdir } = await import("node:fs/promises");
    await mkdir(join(root, "models", "half"), { recursive: true });
    const found = await store.registry.searchRegisteredModels();
    expect(found.models.map((m) => m.name)).toEqual(["good"]);
    expect(problems).toHaveLength(1);
  });

  it("renames without leaving the old folder or staging folders", async () => {
    const root = await tempTree();
    const store = new FileStore(root);
    await store.registry.createRegisteredModel("old", { tags: { t: "1" } });
    await store.registry.createModelVersion({
      name: "old",
      source: "file:///a",
      tags: { vt: "x" },
    });
    await store.registry.setRegisteredModelAlias("old", "prod", "1");
    await store.registry.renameRegisteredModel("old", "new");
    expect(await readdir(join(root, "models"))).toEqual(["new"]);
    const meta = fromYaml(await readFile(join(root, "models/new/version-1/meta.yaml"), "utf8"));
    expect(meta).toMatchObject({ name: "new" });
    expect(await readFile(join(root, "models/new/aliases/prod"), "utf8")).toBe("1");
    expect((await readdir(join(root, "0"))).filter((n) => n.startsWith("."))).toEqual([]);
  });

  for (const fixture of ["mlflow-3.17.2", "mlflow-2.22.5"]) {
    it(`reads the registry ${fixture} wrote`, async () => {
      const root = await materializeFixture(fixture);
      dirs.push(dirname(root));
      const store = new FileStore(root);
      const found = await store.registry.searchRegisteredModels();
      expect(found.models.map((m) => m.name)).toEqual(["empty-model", "tiny-model"]);
      const tiny = await store.registry.getRegisteredModel("tiny-model");
      expect(tiny).toMatchObject({
        description: "A tiny model",
        tags: { stage: "demo", ключ: "значение" },
        aliases: { champion: "1" },
      });
      const versions = await store.registry.searchModelVersions({
        filter: "name = 'tiny-model'",
        orderBy: ["version_number"],
      });
      expect(versions.versions.map((v) => [v.version, v.aliases, v.tags])).toEqual([
        ["1", ["champion"], { v: "1" }],
        ["2", [], { quality: "good" }],
      ]);
      // Version 3 was deleted by MLflow: the next one is 4.
      const next = await store.registry.createModelVersion({
        name: "tiny-model",
        source: "file:///n",
      });
      expect(next.version).toBe("4");
    });
  }
});

describe("Tracker registerModel and logModel", () => {
  for (const [label, make] of [
    ["MemoryStore", async () => new MemoryStore()],
    ["FileStore", async () => new FileStore(await tempTree())],
  ] as const) {
    it(`logs a JSON model with an MLmodel file and registers it (${label})`, async () => {
      const store = await make();
      const tracker = new Tracker(store, "0", resolveConfig({}));
      const run = await tracker.startRun("model-run");
      const logged = await run.logModel({
        artifactPath: "model",
        model: { weights: [1, 2, 3] },
        registeredModelName: "json-model",
        signature: { inputs: [{ name: "x", type: "double" }] },
      });
      await run.logModel({ artifactPath: "nested/model2", model: { w: 1 } });
      await run.end();
      expect(logged.modelUri).toBe(`runs:/${run.id}/model`);
      const files = (await store.listArtifacts(run.id, "model")).map((f) => f.path);
      expect(files).toEqual(["model/MLmodel", "model/model.json"]);
      const mlmodel = fromYaml(
        Buffer.from(await store.readArtifact(run.id, "model/MLmodel")).toString("utf8"),
      );
      expect(mlmodel).toMatchObject({
        artifact_path: "model",
        run_id: run.id,
        flavors: { mlruns_json: { format: "json", data: "model.json" } },
      });
      expect((mlmodel as { utc_time_created: unknown }).utc_time_created).toMatch(
        /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/,
      );
      const history = JSON.parse(
        (await store.getRun(run.id)).data.tags["mlflow.log-model.history"] ?? "",
      );
      expect(history.map((h: { artifact_path: string }) => h.artifact_path)).toEqual([
        "model",
        "nested/model2",
      ]);
      expect(logged.registeredVersion).toMatchObject({
        name: "json-model",
        version: "1",
        source: `runs:/${run.id}/model`,
        runId: run.id,
      });
      const uri = await store.registry.getModelVersionDownloadUri("json-model", "1");
      expect(uri).toBe(`${run.info.artifactUri}/model`);
      const again = await tracker.registerModel({
        modelUri: `runs:/${run.id}/model`,
        name: "json-model",
        tags: { from: "tracker" },
      });
      expect(again).toMatchObject({ version: "2", tags: { from: "tracker" } });
    });
  }

  it("registers a local folder as a file URI", async () => {
    const store = new MemoryStore();
    const tracker = new Tracker(store, "0", resolveConfig({}));
    const version = await tracker.registerModel({ modelUri: "/tmp/some-model", name: "local" });
    expect(version.source).toBe("file:///tmp/some-model");
  });
});
