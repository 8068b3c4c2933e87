/**
 * Tests of the oracle itself: the committed fixtures, the Python reader, migrate-filestore and
 * dumpStore. If these pass, a difference between `mlflowDump` and `dumpStore` on the same tree
 * is a bug in our store, not in the harness.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Experiment, Metric, Run, ViewType } from "../../src/entities.ts";
import type { TrackingStore } from "../../src/store/store.ts";
import { MLFLOW_VERSIONS, skipMlflow, venvBin, venvDir } from "../helpers/mlflow-env.ts";
import {
  type Dump,
  type DumpNumber,
  dumpStore,
  FIXTURE_ROOT_PATH,
  materializeFixture,
  mlflowDump,
  mlflowMigrate,
  type RunDump,
} from "./dump.ts";

const V3 = MLFLOW_VERSIONS.latest;
const V2 = MLFLOW_VERSIONS.v2;
/** What migrate-filestore stores for ±inf (SQL has no infinity): ±sys.float_info.max. */
const FLOAT_MAX = 1.7976931348623157e308;

const FIXTURES = [
  { name: `mlflow-${V2}`, writer: V2, major: 2 },
  { name: `mlflow-${V3}`, writer: V3, major: 3 },
] as const;

const scratch: string[] = [];
async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  scratch.push(dir);
  return dir;
}
async function fixture(name: string): Promise<string> {
  const root = await materializeFixture(name);
  scratch.push(dirname(root));
  return root;
}
afterAll(async () => {
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

function runNamed(dump: Dump, name: string): RunDump {
  const found = dump.runs.filter((r) => r.info.run_name === name);
  expect(found, `runs named ${name}`).toHaveLength(1);
  return found[0] as RunDump;
}

/** Everything generate.py logged, as any correct reader must see it. */
function expectFixtureContents(dump: Dump, major: 2 | 3): void {
  const byName = new Map(dump.experiments.map((e) => [e.name, e]));
  expect([...byName.keys()].sort()).toEqual(["Default", "models", "team/vision-a", "to-delete"]);
  expect(byName.get("Default")?.experiment_id).toBe("0");
  expect(byName.get("to-delete")?.lifecycle_stage).toBe("deleted");
  expect(byName.get("team/vision-a")?.tags).toEqual({ owner: "ml-team", "note/é": "ünïcode" });
  for (const e of dump.experiments) {
    if (e.experiment_id !== "0") expect(e.experiment_id).toMatch(/^[1-9]\d{17}$/);
    expect(e.artifact_location).toMatch(/^file:\/\/\//);
    expect(e.artifact_location).not.toContain(FIXTURE_ROOT_PATH);
  }

  const base = runNamed(dump, "baseline");
  expect(base.info).toMatchObject({
    experiment_id: "0",
    status: "FINISHED",
    user_id: "fixture-user",
  });
  expect(base.params).toEqual({
    lr: "0.01",
    layers: "3",
    "optimizer/name": "adam",
    paramètre: "café",
  });
  expect(base.tags).toMatchObject({
    team: "vision",
    "nested/tag": "x",
    étiquette: "värde ✓ 日本語",
    "mlflow.note.content": "Baseline run ✓",
    "mlflow.source.name": "generate.py",
    "mlflow.runName": "baseline",
  });
  expect(base.metric_history.loss?.map(([, v, s]) => [v, s])).toEqual([
    [1, 0],
    [0.5, 1],
    [0.25, 2],
    [0.125, 3],
  ]);
  expect(base.metrics.loss).toMatchObject({ value: 0.125, step: 3 });
  expect(base.metric_history["train/acc"]).toHaveLength(4);
  expect(base.metric_history["weird/nan"]?.map(([, v, s]) => [v, s])).toEqual([
    ["NaN", 0],
    [1.5, 1],
  ]);
  expect(base.metrics["weird/nan"]?.value).toBe(1.5);
  expect(base.metrics["weird/pos_inf"]?.value).toBe("Infinity");
  expect(base.metrics["weird/neg_inf"]?.value).toBe("-Infinity");
  expect(base.metrics.précision).toMatchObject({ value: 0.75, step: 2 });
  expect(base.metrics.tiny?.value).toBe(1e-7);
  expect(base.inputs.map((i) => [i.dataset.name, i.dataset.source_type, i.tags])).toEqual([
    ["toy", "http", { "mlflow.data.context": "training", split: "train" }],
    ["toy-eval", "http", { "mlflow.data.context": "eval" }],
  ]);
  expect(base.artifacts).toEqual([
    { path: "notes.txt", is_dir: false, file_size: 15 },
    { path: "plots", is_dir: true, file_size: null },
    { path: "plots/a.csv", is_dir: false, file_size: 22 },
    { path: "plots/sub", is_dir: true, file_size: null },
    { path: "plots/sub/b.json", is_dir: false, file_size: 13 },
  ]);

  const parent = runNamed(dump, "parent");
  for (const child of ["child-0", "child-1"]) {
    expect(runNamed(dump, child).tags["mlflow.parentRunId"]).toBe(parent.info.run_id);
  }
  expect(parent.tags["mlflow.parentRunId"]).toBeUndefined();
  expect(runNamed(dump, "failed-run").info.status).toBe("FAILED");
  expect(runNamed(dump, "deleted-run").info.lifecycle_stage).toBe("deleted");
  const inDeleted = runNamed(dump, "in-deleted-exp");
  expect(inDeleted.info.experiment_id).toBe(byName.get("to-delete")?.experiment_id);
  expect(inDeleted.info.lifecycle_stage).toBe("deleted");

  const modelRun = runNamed(dump, "model-run");
  if (major === 2) {
    // 2.x: log_model writes under the run's artifacts and records mlflow.log-model.history.
    expect(modelRun.artifacts?.map((a) => a.path)).toContain("model/MLmodel");
    expect(JSON.parse(modelRun.tags["mlflow.log-model.history"] ?? "[]")).toHaveLength(1);
  } else {
    // 3.x: the model's files live in <exp>/models/<model_id>/artifacts, not under the run.
    expect(modelRun.artifacts).toEqual([]);
    expect(modelRun.tags["mlflow.log-model.history"]).toBeUndefined();
    expect(modelRun.inputs.map((i) => i.dataset.name)).toEqual(["toy"]);
  }

  expect(dump.registered_models?.map((m) => m.name)).toEqual(["empty-model", "tiny-model"]);
  const tiny = dump.registered_models?.[1];
  expect(tiny).toMatchObject({
    description: "A tiny model",
    tags: { stage: "demo", ключ: "значение" },
    aliases: { champion: "1" },
  });
  // Version 3 was deleted: its dir stays (Deleted_Internal) but no reader shows it.
  expect(tiny?.versions.map((v) => [v.version, v.aliases, v.tags])).toEqual([
    ["1", ["champion"], { v: "1" }],
    ["2", [], { quality: "good" }],
  ]);
  expect(tiny?.versions[0]?.run_id).toBe(modelRun.info.run_id);
  expect(tiny?.versions[0]?.source).toMatch(
    major === 2 ? /^runs:\/\w{32}\/model$/ : /^models:\/m-/,
  );
}

/**
 * What migrate-filestore + SqlAlchemyStore (3.17.2) give back for a file-store dump. Everything
 * is kept except, precisely:
 *  1. ±inf metric values come back as ±1.7976931348623157e308 (SQL stores no infinity);
 *  2. a metric line with a dataset (5 fields, MLflow 3) is read by the FileStore with step 0
 *     (its parser only takes the step from 3-field lines) while the migration keeps the real
 *     step, so SQLite reports the logged step. `realSteps` holds the file's steps per
 *     run id and key.
 */
function expectedAfterMigration(file: Dump, realSteps: Map<string, number[]>): Dump {
  const inf = (v: DumpNumber): DumpNumber =>
    v === "Infinity" ? FLOAT_MAX : v === "-Infinity" ? -FLOAT_MAX : v;
  const out = structuredClone(file);
  for (const run of out.runs) {
    for (const [key, points] of Object.entries(run.metric_history)) {
      const steps = realSteps.get(`${run.info.run_id}/${key}`);
      run.metric_history[key] = points.map(([t, v, s], i) => [t, inf(v), steps?.[i] ?? s]);
    }
    for (const [key, m] of Object.entries(run.metrics)) {
      const steps = realSteps.get(`${run.info.run_id}/${key}`);
      const history = run.metric_history[key] ?? [];
      if (steps) {
        // Latest = max by (step, timestamp, value); fixtures have no NaN in these keys.
        const best = [...history].sort((a, b) => b[2] - a[2] || b[0] - a[0])[0];
        if (best) run.metrics[key] = { timestamp: best[0], value: best[1], step: best[2] };
      } else {
        run.metrics[key] = { ...m, value: inf(m.value) };
      }
    }
  }
  return out;
}

/** Steps of every metric file whose lines have 5 fields (dataset-linked), from the raw tree. */
async function datasetLinkedSteps(dump: Dump, root: string): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  for (const run of dump.runs) {
    // Not from artifact_uri: runs of a deleted experiment keep URIs into <root>/<exp>, while
    // the experiment dir itself was moved to <root>/.trash/<exp>.
    const { experiment_id: exp, run_id: id } = run.info;
    const live = join(root, exp, id);
    const runDir = existsSync(live) ? live : join(root, ".trash", exp, id);
    for (const key of Object.keys(run.metric_history)) {
      const text = await readFile(join(runDir, "metrics", ...key.split("/")), "utf8");
      const lines = text.split("\n").filter((l) => l !== "");
      if (lines.some((l) => l.split(" ").length === 5)) {
        out.set(
          `${run.info.run_id}/${key}`,
          lines.map((l) => Number.parseInt(l.split(" ")[2] ?? "0", 10)),
        );
      }
    }
  }
  return out;
}

/** A read-only TrackingStore over a dump: proves dumpStore emits reader.py's exact shape. */
function storeFromDump(dump: Dump): TrackingStore {
  const num = (v: DumpNumber): number =>
    v === "NaN" ? Number.NaN : v === "Infinity" ? Infinity : v === "-Infinity" ? -Infinity : v;
  const experiments: Experiment[] = dump.experiments.map((e) => ({
    experimentId: e.experiment_id,
    name: e.name,
    artifactLocation: e.artifact_location,
    lifecycleStage: e.lifecycle_stage as Experiment["lifecycleStage"],
    creationTime: e.creation_time,
    lastUpdateTime: e.last_update_time,
    tags: e.tags,
  }));
  const runs = new Map<string, Run>();
  const byRun = new Map(dump.runs.map((r) => [r.info.run_id, r]));
  for (const r of [...dump.runs].reverse()) {
    const metrics: Record<string, Metric> = {};
    for (const [key, m] of Object.entries(r.metrics)) {
      metrics[key] = { key, value: num(m.value), timestamp: m.timestamp, step: m.step };
    }
    runs.set(r.info.run_id, {
      info: {
        runId: r.info.run_id,
        experimentId: r.info.experiment_id,
        runName: r.info.run_name,
        userId: r.info.user_id,
        status: r.info.status as Run["info"]["status"],
        startTime: r.info.start_time,
        endTime: r.info.end_time,
        artifactUri: r.info.artifact_uri,
        lifecycleStage: r.info.lifecycle_stage as Run["info"]["lifecycleStage"],
      },
      data: { params: r.params, tags: r.tags, metrics },
      inputs: [...r.inputs].reverse().map((i) => ({
        dataset: {
          name: i.dataset.name,
          digest: i.dataset.digest,
          sourceType: i.dataset.source_type,
          source: i.dataset.source,
          schema: i.dataset.schema,
          profile: i.dataset.profile,
        },
        tags: i.tags,
      })),
    });
  }
  const unsupported = (): never => {
    throw new Error("read-only test store");
  };
  const matches = (stage: string, view: ViewType | undefined) =>
    view === "ALL" || (view === "DELETED_ONLY" ? stage === "deleted" : stage === "active");
  return {
    uri: "memory:dump",
    createExperiment: unsupported,
    getExperiment: async (id) => experiments.find((e) => e.experimentId === id) ?? unsupported(),
    getExperimentByName: async (n) => experiments.find((e) => e.name === n) ?? null,
    listExperiments: async (view) =>
      [...experiments].reverse().filter((e) => matches(e.lifecycleStage, view)),
    renameExperiment: unsupported,
    setExperimentTag: unsupported,
    deleteExperimentTag: unsupported,
    deleteExperiment: unsupported,
    restoreExperiment: unsupported,
    createRun: unsupported,
    getRun: async (id) => runs.get(id) ?? unsupported(),
    getRunInfo: async (id) => runs.get(id)?.info ?? unsupported(),
    updateRun: unsupported,
    deleteRun: unsupported,
    restoreRun: unsupported,
    listRuns: async (ids, view) =>
      [...runs.values()].filter(
        (r) => ids.includes(r.info.experimentId) && matches(r.info.lifecycleStage, view),
      ),
    searchRuns: unsupported,
    searchExperiments: unsupported,
    logBatch: unsupported,
    deleteTag: unsupported,
    getMetricHistory: async (id, key) =>
      (byRun.get(id)?.metric_history[key] ?? []).map(([timestamp, v, step]) => ({
        key,
        value: num(v),
        timestamp,
        step,
      })),
    getMetricHistoryPage: unsupported,
    getMetricHistorySampled: unsupported,
    logInputs: unsupported,
    logArtifact: unsupported,
    putArtifact: unsupported,
    openArtifact: unsupported,
    deleteArtifact: unsupported,
    listArtifacts: async (id, path) =>
      (byRun.get(id)?.artifacts ?? [])
        .filter((a) => {
          const parent = a.path.includes("/") ? a.path.slice(0, a.path.lastIndexOf("/")) : "";
          return parent === (path ?? "");
        })
        .reverse()
        .map((a) => ({
          path: a.path,
          isDir: a.is_dir,
          ...(a.is_dir ? {} : { fileSize: a.file_size ?? 0 }),
        })),
    readArtifact: unsupported,
    flush: async () => {},
  };
}

describe.skipIf(skipMlflow)("MLflow oracle", () => {
  it("has every pinned MLflow installed and marked ready", () => {
    for (const v of Object.values(MLFLOW_VERSIONS)) {
      expect(existsSync(venvBin(v, "python")), venvBin(v, "python")).toBe(true);
      expect(existsSync(venvBin(v, "mlflow"))).toBe(true);
      expect(existsSync(join(venvDir(v), ".mlruns-ready"))).toBe(true);
    }
  });

  for (const fx of FIXTURES) {
    describe(fx.name, () => {
      let root = "";
      let fileDump: Dump;
      let cwdAfterDump: string[] = [];
      beforeAll(async () => {
        root = await fixture(fx.name);
        const cwd = await tempDir("mlruns-oracle-cwd-");
        fileDump = await mlflowDump(fx.writer, root, { cwd });
        cwdAfterDump = await readdir(cwd);
      });

      it(`is read by MLflow ${fx.writer} (which wrote it) with everything generate.py logged`, () => {
        expectFixtureContents(fileDump, fx.major);
        // reader.py sets the global tracking URI; without it MLflow 3's registry FileStore
        // creates ./mlflow.db while resolving model versions' `model_id`.
        expect(cwdAfterDump).toEqual([]);
      });

      it("holds no machine paths, only placeholders", async () => {
        const committed = join(fileURLToPath(new URL("../../fixtures", import.meta.url)), fx.name);
        const grep = async (dir: string): Promise<string[]> => {
          const hits: string[] = [];
          for (const e of await readdir(dir, { withFileTypes: true })) {
            const p = join(dir, e.name);
            if (e.isDirectory()) hits.push(...(await grep(p)));
            else if (
              /file:\/\/\/(?!__MLRUNS_FIXTURE_ROOT__)|\/(tmp|home|root|Users)\//.test(
                await readFile(p, "utf8"),
              )
            )
              hits.push(p);
          }
          return hits;
        };
        expect(await grep(committed)).toEqual([]);
      });

      if (fx.major === 2) {
        it(`is read identically by MLflow ${V3}`, async () => {
          expect(await mlflowDump(V3, root)).toEqual(fileDump);
        });
      } else {
        it(`cannot be read by MLflow ${V2}: dataset-linked metric lines have 5 fields`, async () => {
          await expect(mlflowDump(V2, root)).rejects.toThrow(
            /Metric 'eval\/acc' is malformed; persisted metric data contained 5 fields/,
          );
        });
      }

      if (fx.major === 3) {
        it(`is read identically by MLflow ${V2} and ${V3} once 5-field lines are cut to 3`, async () => {
          const copy = await fixture(fx.name);
          const steps = await datasetLinkedSteps(fileDump, root);
          for (const key of steps.keys()) {
            const run = fileDump.runs.find((r) => key.startsWith(`${r.info.run_id}/`));
            if (!run) throw new Error(key);
            const metric = key.slice(run.info.run_id.length + 1);
            const file = join(copy, run.info.experiment_id, run.info.run_id, "metrics", metric);
            const lines = (await readFile(file, "utf8")).split("\n").filter((l) => l !== "");
            await writeFile(
              file,
              lines.map((l) => `${l.split(" ").slice(0, 3).join(" ")}\n`).join(""),
            );
          }
          const by3 = await mlflowDump(V3, copy);
          expect(await mlflowDump(V2, copy)).toEqual(by3);
          expect(runNamed(by3, "model-run").metrics["eval/acc"]?.step).toBe(1);
        });
      }

      it(`migrates with migrate-filestore ${V3}; SQLite reads back the same but for known quirks`, async () => {
        const dir = await tempDir("mlruns-oracle-db-");
        const db = join(dir, "mlflow.db");
        const summary = await mlflowMigrate(V3, root, db);
        expect(summary).toMatch(/Migration summary/);
        const sqlDump = await mlflowDump(V3, `sqlite:///${db}`, { artifacts: true });
        const realSteps = await datasetLinkedSteps(fileDump, root);
        // The quirks really occur (so this test notices when a new MLflow fixes them):
        expect(JSON.stringify(sqlDump)).toContain("1.7976931348623157e+308");
        expect([...realSteps.keys()].map((k) => k.split("/").slice(1).join("/"))).toEqual(
          fx.major === 3 ? ["eval/acc"] : [],
        );
        if (fx.major === 3) {
          expect(runNamed(fileDump, "model-run").metrics["eval/acc"]?.step).toBe(0);
          expect(runNamed(sqlDump, "model-run").metrics["eval/acc"]?.step).toBe(1);
        }
        expect(sqlDump).toEqual(expectedAfterMigration(fileDump, realSteps));
      });

      it("refuses to migrate onto an existing database", async () => {
        const dir = await tempDir("mlruns-oracle-db-");
        const db = join(dir, "mlflow.db");
        await writeFile(db, "");
        await expect(mlflowMigrate(V3, root, db)).rejects.toThrow(/already exists/);
      });

      it("dumpStore emits the reader's exact shape", async () => {
        const ours = await dumpStore(storeFromDump(fileDump));
        expect(ours).toEqual({ ...fileDump, registered_models: null });
        expect(JSON.stringify(ours)).toContain('"NaN"');
      });
    });
  }

  it("fails loudly on a tree MLflow cannot read", async () => {
    const root = await fixture(`mlflow-${V2}`);
    const before = await mlflowDump(V2, root);
    const base = runNamed(before, "baseline");
    const runDir = dirname(fileURLToPath(base.info.artifact_uri));
    await writeFile(join(runDir, "metrics", "loss"), "1 2 3 4\n");
    await expect(mlflowDump(V2, root)).rejects.toThrow(/malformed/);
    await writeFile(join(runDir, "metrics", "loss"), "1 2 3\n");
    const after = await mlflowDump(V2, root);
    expect(after).not.toEqual(before);
    expect(runNamed(after, "baseline").metric_history.loss).toEqual([[1, 2, 3]]);
  });
});
