/**
 * The model registry against the real MLflow: the registry contract on real servers (3.x and
 * 2.x, one at a time); MLflow's registry file store reading the registry our FileStore wrote;
 * `mlflow migrate-filestore` carrying it to SQLite intact; our reader on the registries MLflow
 * wrote (fixtures/); and models logged by `run.logModel` downloaded and loaded by MLflow.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/config.ts";
import { FileStore } from "../../src/store/file/index.ts";
import { RestStore } from "../../src/store/rest/index.ts";
import { Tracker } from "../../src/tracker/tracker.ts";
import { MLFLOW_VERSIONS, runPython, skipMlflow } from "../helpers/mlflow-env.ts";
import { type SharedMlflowServer, sharedMlflowServer } from "../helpers/shared-mlflow.ts";
import { describeRegistryStore } from "../registry-contract.ts";
import { dumpRegistry, materializeFixture, mlflowDump, mlflowMigrate } from "./dump.ts";

const FAST = { insecureTls: false, maxRetries: 2, backoffFactor: 0.05, timeout: 60 };
const V3 = MLFLOW_VERSIONS.latest;

const scratch: string[] = [];
async function tempDir(label = "mlruns-registry-compat-"): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), label));
  scratch.push(dir);
  return dir;
}
afterAll(async () => {
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

const quiet = {
  onProblem: (p: { path: string; message: string }) => {
    throw new Error(`tree problem at ${p.path}: ${p.message}`);
  },
};

/** A registry with every feature: tags, aliases, stages, descriptions, deletions, a rename. */
async function writeRegistry(root: string): Promise<FileStore> {
  const store = new FileStore(root, quiet);
  const tracker = new Tracker(store, "0", resolveConfig({}));
  const run = await tracker.startRun("trainer");
  await run.logModel({ artifactPath: "model", model: { w: [1, 2] } });
  await run.end();
  const source = `runs:/${run.id}/model`;
  await store.registry.createRegisteredModel("iris", {
    description: "Iris classifier",
    tags: { team: "cv", "nested/key": "v", ключ: "значение" },
  });
  await store.registry.createRegisteredModel("empty", {});
  await store.registry.createRegisteredModel("to-rename", { tags: { t: "1" } });
  for (let i = 0; i < 4; i++) {
    await tracker.registerModel({
      modelUri: source,
      name: "iris",
      tags: { i: String(i) },
      ...(i === 0 ? { description: "first" } : {}),
    });
  }
  await store.registry.createModelVersion({ name: "iris", source: "file:///models/other" });
  await store.registry.setModelVersionTag("iris", "2", "quality", "good");
  await store.registry.deleteModelVersionTag("iris", "2", "i");
  await store.registry.setRegisteredModelAlias("iris", "champion", "2");
  await store.registry.setRegisteredModelAlias("iris", "challenger", "3");
  await store.registry.setRegisteredModelAlias("iris", "gone", "4");
  await store.registry.deleteModelVersion("iris", "4");
  await store.registry.transitionModelVersionStage("iris", "1", "Staging");
  await store.registry.transitionModelVersionStage("iris", "2", "Production");
  await store.registry.transitionModelVersionStage("iris", "3", "production", true);
  await store.registry.updateModelVersion("iris", "3", { description: "best so far" });
  await store.registry.createModelVersion({
    name: "to-rename",
    source,
    runId: run.id,
    tags: { a: "b" },
  });
  await store.registry.setRegisteredModelAlias("to-rename", "prod", "1");
  await store.registry.renameRegisteredModel("to-rename", "renamed");
  return store;
}

describe.skipIf(skipMlflow)("MLflow reads the registry our FileStore writes", () => {
  let root = "";
  let store: FileStore;
  beforeAll(async () => {
    root = join(await tempDir(), "mlruns");
    store = await writeRegistry(root);
  });

  for (const version of Object.values(MLFLOW_VERSIONS)) {
    it(`MLflow ${version}'s registry file store sees the same models and versions`, async () => {
      const theirs = await mlflowDump(version, root, { artifacts: false });
      const ours = await dumpRegistry(store.registry);
      expect(ours.map((m) => m.name)).toEqual(["empty", "iris", "renamed"]);
      expect(ours.find((m) => m.name === "renamed")).toMatchObject({
        tags: { t: "1" },
        aliases: { prod: "1" },
      });
      expect(theirs.registered_models).toEqual(ours);
    });
  }

  it("migrate-filestore carries the registry to SQLite intact", async () => {
    const db = join(await tempDir(), "mlflow.db");
    await mlflowMigrate(V3, root, db);
    const migrated = await mlflowDump(V3, `sqlite:///${db}`, { artifacts: false });
    expect(migrated.registered_models).toEqual(await dumpRegistry(store.registry));
  });
});

describe.skipIf(skipMlflow)("we read the registries MLflow wrote (fixtures)", () => {
  for (const fixture of Object.values(MLFLOW_VERSIONS)) {
    it(`fixtures/mlflow-${fixture}: the same registry as MLflow reads`, async () => {
      const root = await materializeFixture(`mlflow-${fixture}`);
      scratch.push(dirname(root));
      const theirs = await mlflowDump(fixture, root, { artifacts: false });
      const ours = await dumpRegistry(new FileStore(root, quiet).registry);
      expect(ours.length).toBe(2);
      expect(ours).toEqual(theirs.registered_models);
    });
  }
});

/** Downloads a model with MLflow and loads its MLmodel; prints what it found as JSON. */
const LOAD_MODEL = `
import json, os, sys, warnings
warnings.filterwarnings("ignore")
os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
import mlflow
from mlflow.models import Model

uri, model_uri, dst = sys.argv[1], sys.argv[2], sys.argv[3]
mlflow.set_tracking_uri(uri)
mlflow.set_registry_uri(uri)
path = mlflow.artifacts.download_artifacts(model_uri, dst_path=dst)
model = Model.load(path)
with open(os.path.join(path, "model.json")) as f:
    data = json.load(f)
print(json.dumps({
    "files": sorted(os.listdir(path)),
    "flavors": model.flavors,
    "run_id": model.run_id,
    "artifact_path": model.artifact_path,
    "signature": model.signature.to_dict() if model.signature else None,
    "data": data,
}))
`;

async function loadWithMlflow(version: string, uri: string, modelUri: string) {
  const dir = await tempDir("mlruns-load-");
  const script = join(dir, "load_model.py");
  await writeFile(script, LOAD_MODEL);
  const out = await runPython(version, script, [uri, modelUri, join(dir, "dst")], { cwd: dir });
  return JSON.parse(out) as Record<string, unknown>;
}

describe.skipIf(skipMlflow)("models logged with run.logModel, read by MLflow", () => {
  let root = "";
  let runId = "";
  beforeAll(async () => {
    root = join(await tempDir(), "mlruns");
    const store = new FileStore(root, quiet);
    const tracker = new Tracker(store, "0", resolveConfig({}));
    const run = await tracker.startRun("with-model");
    await run.logModel({
      artifactPath: "model",
      model: { weights: [0.5, 1.5] },
      registeredModelName: "logged",
      signature: { inputs: [{ name: "x", type: "double" }], outputs: [{ type: "long" }] },
    });
    await run.end();
    await store.registry.setRegisteredModelAlias("logged", "champion", "1");
    runId = run.id;
  });

  for (const version of Object.values(MLFLOW_VERSIONS)) {
    it(`MLflow ${version} downloads it by runs:/, models:/<name>/1 and @alias`, async () => {
      for (const modelUri of [
        `runs:/${runId}/model`,
        "models:/logged/1",
        "models:/logged@champion",
      ]) {
        const found = await loadWithMlflow(version, root, modelUri);
        expect(found).toMatchObject({
          // A models:/ download adds MLflow's own `registered_model_meta`.
          files: expect.arrayContaining(["MLmodel", "model.json"]),
          run_id: runId,
          artifact_path: "model",
          flavors: { mlruns_json: { format: "json", data: "model.json" } },
          data: { weights: [0.5, 1.5] },
        });
        expect(found.signature).toMatchObject({
          inputs: expect.stringContaining('"x"'),
          outputs: expect.stringContaining('"long"'),
        });
      }
    });
  }
});

/** Contract tests a real server cannot pass, with the server behaviour that prevents it. */
function registrySkips(version: string): Record<string, string> {
  if (!version.startsWith("2.")) return {};
  return {
    "search versions with name IN (...)":
      "MLflow 2.x allows IN only on run_id (\"Only the 'run_id' attribute supports comparison " +
      'with a list of quoted string values"); 3.x also on name',
    "deleting a version drops its aliases":
      "MLflow 2.x's SQL store keeps aliases pointing at a deleted version (its file store and " +
      "3.x drop them)",
  };
}

// ---- on real servers -------------------------------------------------------------------------

for (const version of Object.values(MLFLOW_VERSIONS)) {
  describe.skipIf(skipMlflow)(`RestStore registry on MLflow ${version}`, () => {
    let server: SharedMlflowServer | undefined;
    const url = () => {
      if (server === undefined) throw new Error("the MLflow server did not start");
      return server.url;
    };
    beforeAll(async () => {
      server = await sharedMlflowServer(version);
    });

    describeRegistryStore(
      `RestStore (MLflow ${version})`,
      async () => ({ store: new RestStore(url(), FAST) }),
      { skip: registrySkips(version) },
    );

    it("RestStore reads the same registry as MLflow's own client", async () => {
      const store = new RestStore(url(), FAST);
      // The registry contract's models and this one, named `reg-…`: the server is shared.
      const name = `reg-dumped-${randomUUID().slice(0, 8)}`;
      await store.registry.createRegisteredModel(name, { description: "d", tags: { k: "v" } });
      await store.registry.createModelVersion({ name, source: "s3://bucket/a", tags: { t: "1" } });
      await store.registry.createModelVersion({
        name,
        source: "s3://bucket/b",
        description: "second",
      });
      await store.registry.setRegisteredModelAlias(name, "champion", "2");
      await store.registry.transitionModelVersionStage(name, "1", "Staging");
      const theirs = await mlflowDump(version, url(), { artifacts: false, prefix: "reg-" });
      const ours = (await dumpRegistry(store.registry)).filter((m) => m.name.startsWith("reg-"));
      expect(ours.map((m) => m.name)).toContain(name);
      expect(ours).toEqual(theirs.registered_models);
    });

    it("logModel through the server: MLflow downloads the registered version", async () => {
      const store = new RestStore(url(), FAST);
      const experimentId = await store.createExperiment(`logmodel-${randomUUID()}`);
      const tracker = new Tracker(store, experimentId, resolveConfig({}));
      const run = await tracker.startRun("server-model");
      const name = `served-${randomUUID().slice(0, 8)}`;
      const logged = await run.logModel({
        artifactPath: "model",
        model: { k: "v" },
        registeredModelName: name,
      });
      await run.end();
      expect(logged.registeredVersion).toMatchObject({ version: "1", runId: run.id });
      const found = await loadWithMlflow(version, url(), `models:/${name}/1`);
      expect(found).toMatchObject({
        files: expect.arrayContaining(["MLmodel", "model.json"]),
        data: { k: "v" },
      });
    });
  });
}
