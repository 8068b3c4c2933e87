/**
 * The real MLflow reads what our FileStore writes, and we read what MLflow wrote: the same
 * experiments, runs, params, tags, metric histories, latest metrics, inputs and artifacts.
 */
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileStore } from "../../src/store/file/index.ts";
import { MLFLOW_VERSIONS, REPO_ROOT } from "../helpers/mlflow-env.ts";
import { type Dump, dumpStore, materializeFixture, mlflowDump, mlflowMigrate } from "./dump.ts";
import { writeVariedTree } from "./varied-tree.ts";

const scratch: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "mlruns-compat-"));
  scratch.push(dir);
  return dir;
}
afterAll(async () => {
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

/** Our dump of a tree, failing on any problem the reader reports. */
async function ourDump(root: string, artifacts = true): Promise<Dump> {
  const store = new FileStore(root, {
    onProblem: (p) => {
      throw new Error(`tree problem at ${p.path}:${p.line ?? ""} ${p.message}`);
    },
  });
  return dumpStore(store, { artifacts });
}

/** What migrate-filestore changes on purpose: ±inf become ±max float (SQL has no infinity). */
function asMigrated(dump: Dump): Dump {
  const fix = (v: unknown) =>
    v === "Infinity" ? 1.7976931348623157e308 : v === "-Infinity" ? -1.7976931348623157e308 : v;
  const copy = structuredClone(dump);
  for (const run of copy.runs) {
    for (const m of Object.values(run.metrics)) m.value = fix(m.value) as typeof m.value;
    for (const points of Object.values(run.metric_history))
      for (const p of points) p[1] = fix(p[1]) as (typeof p)[1];
    run.artifacts = null;
  }
  return copy;
}

describe("trees written by our FileStore", () => {
  let root: string;
  let ours: Dump;
  beforeAll(async () => {
    root = join(await tempDir(), "mlruns");
    await writeVariedTree(new FileStore(root));
    ours = await ourDump(root);
  });

  for (const version of [MLFLOW_VERSIONS.latest, MLFLOW_VERSIONS.v2]) {
    it(`are read by MLflow ${version} with exactly the same data`, async () => {
      const theirs = await mlflowDump(version, root, { registry: false });
      expect(theirs).toEqual(ours);
    });
  }

  it("are migrated by `mlflow migrate-filestore` to SQLite with the same data", async () => {
    const db = join(await tempDir(), "mlflow.db");
    await mlflowMigrate(MLFLOW_VERSIONS.latest, root, db);
    const migrated = await mlflowDump(MLFLOW_VERSIONS.latest, `sqlite:///${db}`, {
      registry: false,
      artifacts: false,
    });
    expect(migrated).toEqual(asMigrated(ours));
  });

  it("mlruns.example is read by MLflow as we read it, and migrates", async () => {
    const copy = join(await tempDir(), "mlruns");
    await cp(join(REPO_ROOT, "mlruns.example"), copy, { recursive: true });
    const example = await ourDump(copy, false);
    expect(example.runs.length).toBeGreaterThan(0);
    const theirs = await mlflowDump(MLFLOW_VERSIONS.latest, copy, {
      registry: false,
      artifacts: false,
    });
    expect(theirs).toEqual(example);
    const db = join(await tempDir(), "example.db");
    await mlflowMigrate(MLFLOW_VERSIONS.latest, copy, db);
  });
});

describe("trees written by the real MLflow", () => {
  for (const version of [MLFLOW_VERSIONS.v2, MLFLOW_VERSIONS.latest]) {
    it(`MLflow ${version}'s tree reads the same through our FileStore`, async () => {
      const root = await materializeFixture(`mlflow-${version}`);
      scratch.push(dirname(root));
      const theirs = await mlflowDump(version, root, { registry: false });
      const ours = await ourDump(root);
      expect(ours).toEqual(theirs);
    });
  }
});
