import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Batch } from "../../src/entities.ts";
import { isMlflowError } from "../../src/errors.ts";
import { FileStore } from "../../src/store/file/index.ts";
import { MemoryStore } from "../../src/store/memory/index.ts";
import type { SearchRunsRequest, TrackingStore } from "../../src/store/store.ts";
import { SOURCE_TAGS } from "../../src/sync/identity.ts";
import { sync } from "../../src/sync/index.ts";
import { watchSync } from "../../src/sync/watch.ts";
import { LEDGER_FILE, TREE_ID_FILE } from "../../src/tree-files.ts";

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

const T = 1_767_225_600_000;

/** A source with a nested pair of runs, NaN, an artifact and a deleted run. */
async function populate(store: TrackingStore) {
  const dir = await mkdtemp(join(tmpdir(), "mlruns-sync-src-"));
  dirs.push(dir);
  await writeFile(join(dir, "model.json"), '{"w":1}');
  const exp = await store.createExperiment("team/a", { tags: { owner: "me" } });
  const parent = await store.createRun({
    experimentId: exp,
    runName: "parent",
    startTime: T,
    userId: "alice",
  });
  const child = await store.createRun({
    experimentId: exp,
    runName: "child",
    startTime: T + 1,
    tags: { "mlflow.parentRunId": parent.info.runId },
  });
  await store.logBatch(parent.info.runId, {
    params: { lr: "0.1" },
    tags: { team: "x" },
    metrics: [
      { key: "loss", value: 1, timestamp: T, step: 0 },
      { key: "loss", value: Number.NaN, timestamp: T + 1, step: 1 },
      { key: "loss", value: 0.5, timestamp: T + 2, step: 2 },
    ],
  });
  await store.logArtifact(parent.info.runId, join(dir, "model.json"), "model");
  await store.logInputs(parent.info.runId, [
    {
      dataset: {
        name: "d",
        digest: "abc",
        sourceType: "code",
        source: "{}",
        schema: null,
        profile: null,
      },
      tags: { "mlflow.data.context": "training" },
    },
  ]);
  await store.updateRun(parent.info.runId, { status: "FINISHED", endTime: T + 10 });
  await store.logBatch(child.info.runId, {
    metrics: [{ key: "acc", value: 0.9, timestamp: T, step: 0 }],
  });
  const gone = await store.createRun({ experimentId: exp, runName: "gone", startTime: T + 2 });
  await store.deleteRun(gone.info.runId);
  return { exp, parent: parent.info.runId, child: child.info.runId, gone: gone.info.runId };
}

async function copyOf(target: TrackingStore, sourceRunId: string, experimentName = "team/a") {
  const experiment = await target.getExperimentByName(experimentName);
  const { runs } = await target.searchRuns({
    experimentIds: [experiment?.experimentId ?? "0"],
    filter: `tags.\`${SOURCE_TAGS.runId}\` = '${sourceRunId}'`,
    viewType: "ALL",
  });
  expect(runs).toHaveLength(1);
  return runs[0] as NonNullable<(typeof runs)[0]>;
}

describe("sync between stores", () => {
  it("copies everything, rewrites parents, and a second sync copies nothing", async () => {
    const source = new MemoryStore();
    const target = new MemoryStore();
    const ids = await populate(source);
    const first = await sync({ source, target });
    expect(first.counts).toMatchObject({ created: 3, failed: 0, points: 4 });
    expect(first.issues).toEqual([]);

    const parent = await copyOf(target, ids.parent);
    expect(parent.info).toMatchObject({
      runName: "parent",
      startTime: T,
      endTime: T + 10,
      status: "FINISHED",
      userId: "alice",
    });
    expect(parent.data.params).toEqual({ lr: "0.1" });
    expect(parent.data.tags.team).toBe("x");
    expect(parent.inputs.map((i) => i.dataset.name)).toEqual(["d"]);
    const history = await target.getMetricHistory(parent.info.runId, "loss");
    expect(history.map((m) => m.value)).toEqual([1, Number.NaN, 0.5]);
    expect(await target.listArtifacts(parent.info.runId, "model")).toEqual([
      { path: "model/model.json", isDir: false, fileSize: 7 },
    ]);
    const child = await copyOf(target, ids.child);
    expect(child.data.tags["mlflow.parentRunId"]).toBe(parent.info.runId);
    expect(child.info.status).toBe("RUNNING");
    expect((await copyOf(target, ids.gone)).info.lifecycleStage).toBe("deleted");
    expect((await target.getExperimentByName("team/a"))?.tags).toEqual({ owner: "me" });

    const second = await sync({ source, target });
    expect(second.counts).toMatchObject({ created: 0, updated: 0, unchanged: 3, points: 0 });
  });

  it("copies only what is new: points, tags, status changes of a running run", async () => {
    const source = new MemoryStore();
    const target = new MemoryStore();
    const ids = await populate(source);
    await sync({ source, target });
    await source.logBatch(ids.child, {
      metrics: [{ key: "acc", value: 0.95, timestamp: T + 5, step: 1 }],
      tags: { note: "later" },
    });
    await source.updateRun(ids.child, { status: "FAILED", endTime: T + 20 });
    const again = await sync({ source, target });
    expect(again.counts).toMatchObject({ created: 0, updated: 1, points: 1, tags: 1 });
    const child = await copyOf(target, ids.child);
    expect(child.info.status).toBe("FAILED");
    expect(child.data.tags.note).toBe("later");
    expect((await target.getMetricHistory(child.info.runId, "acc")).map((m) => m.value)).toEqual([
      0.9, 0.95,
    ]);
  });

  it("finds earlier copies by their tags when the ledger is gone, and duplicates nothing", async () => {
    const source = new MemoryStore();
    const target = new MemoryStore();
    await populate(source);
    await sync({ source, target, ledgerPath: null });
    const again = await sync({ source, target, ledgerPath: null });
    expect(again.counts).toMatchObject({ created: 0, points: 0, artifacts: 0 });
    const experiment = await target.getExperimentByName("team/a");
    expect((await target.listRuns([experiment?.experimentId ?? ""], "ALL")).length).toBe(3);
  });

  it("into experiments it creates, looks for no earlier copies and sends params with tags", async () => {
    const source = new MemoryStore();
    const target = new MemoryStore();
    const ids = await populate(source);
    const searches: string[] = [];
    const batches: Batch[] = [];
    const counted = new Proxy(target, {
      get(store, property, receiver) {
        if (property === "searchRuns") {
          return (query: SearchRunsRequest) => {
            searches.push(query.filter ?? "");
            return store.searchRuns(query);
          };
        }
        if (property === "logBatch") {
          return (runId: string, batch: Batch) => {
            batches.push(batch);
            return store.logBatch(runId, batch);
          };
        }
        const value = Reflect.get(store, property, receiver);
        return typeof value === "function" ? value.bind(store) : value;
      },
    });
    const report = await sync({ source, target: counted });
    expect(report.counts).toMatchObject({ created: 3, failed: 0, points: 4 });
    expect(searches).toEqual([]);
    const parentBatches = batches.filter((b) => Object.keys(b.params ?? {}).length > 0);
    expect(parentBatches).toHaveLength(1);
    expect(parentBatches[0]?.tags).toMatchObject({ team: "x" });
    // Every batch but the metrics' carries params or tags: one request each, not one per kind.
    const withoutMetrics = batches.filter((b) => (b.metrics ?? []).length === 0);
    expect(withoutMetrics).toHaveLength(3);
    expect((await copyOf(target, ids.parent)).data.tags.team).toBe("x");
  });

  it("looks for earlier copies in an experiment another client created meanwhile", async () => {
    const source = new MemoryStore();
    const target = new MemoryStore();
    await populate(source);
    await sync({ source, target, ledgerPath: null });
    // The experiment is not there when looked up, then the create finds it made by another.
    let hidden = true;
    const racing = new Proxy(target, {
      get(store, property, receiver) {
        if (property === "getExperimentByName") {
          return (name: string) =>
            hidden ? Promise.resolve(null) : store.getExperimentByName(name);
        }
        if (property === "createExperiment") {
          return (name: string) => {
            hidden = false;
            return store.createExperiment(name);
          };
        }
        const value = Reflect.get(store, property, receiver);
        return typeof value === "function" ? value.bind(store) : value;
      },
    });
    const again = await sync({ source, target: racing, ledgerPath: null });
    expect(again.counts).toMatchObject({ created: 0, points: 0, artifacts: 0 });
    const experiment = await target.getExperimentByName("team/a");
    expect((await target.listRuns([experiment?.experimentId ?? ""], "ALL")).length).toBe(3);
  });

  it("a dry run plans without writing", async () => {
    const source = new MemoryStore();
    const target = new MemoryStore();
    await populate(source);
    const plan = await sync({ source, target, dryRun: true });
    expect(plan.experimentsCreated).toEqual(["team/a"]);
    expect(plan.counts).toMatchObject({ created: 3, points: 4, artifacts: 1, bytes: 7 });
    expect(await target.getExperimentByName("team/a")).toBeNull();
  });

  it("reports a param the target holds with another value and copies the rest", async () => {
    const source = new MemoryStore();
    const target = new MemoryStore();
    const ids = await populate(source);
    await source.logBatch(ids.parent, { params: { other: "1" } });
    await sync({ source, target, runIds: [ids.child] });
    // A copy of the parent made earlier by someone else, with another value for `lr`.
    const experimentId = (await target.getExperimentByName("team/a"))?.experimentId ?? "";
    const stale = await target.createRun({
      experimentId,
      runName: "parent",
      tags: { [SOURCE_TAGS.runId]: ids.parent, [SOURCE_TAGS.tree]: source.uri },
    });
    await target.logBatch(stale.info.runId, { params: { lr: "0.2" } });
    const report = await sync({ source, target, runIds: [ids.parent] });
    expect(report.issues).toEqual([
      expect.objectContaining({ sourceRunId: ids.parent, what: "param lr" }),
    ]);
    const copy = await target.getRun(stale.info.runId);
    expect(copy.data.params).toEqual({ lr: "0.2", other: "1" });
    expect((await target.getMetricHistory(stale.info.runId, "loss")).length).toBe(3);
  });

  it("selects by experiment, filter and run, and prefixes experiment names", async () => {
    const source = new MemoryStore();
    const target = new MemoryStore();
    const ids = await populate(source);
    const report = await sync({
      source,
      target,
      filter: "params.lr = '0.1'",
      experimentPrefix: "laptop/",
    });
    expect(report.runs.map((r) => r.sourceRunId)).toEqual([ids.parent]);
    expect(await target.getExperimentByName("laptop/team/a")).not.toBeNull();
    await expect(sync({ source, target, experiments: ["nope"] })).rejects.toThrow(/nope/);
  });
});

describe("sync of the model registry", () => {
  it("copies models and versions with sources pointing at the copied runs, once", async () => {
    const source = new MemoryStore();
    const target = new MemoryStore();
    const ids = await populate(source);
    const registry = source.registry;
    await registry.createRegisteredModel("iris", { description: "flowers", tags: { team: "x" } });
    await registry.createModelVersion({
      name: "iris",
      source: `runs:/${ids.parent}/model`,
      tags: { q: "good" },
    });
    await registry.createModelVersion({ name: "iris", source: `runs:/${ids.child}/model` });
    await registry.transitionModelVersionStage("iris", "2", "Staging", false);
    await registry.setRegisteredModelAlias("iris", "champion", "1");
    await registry.createModelVersion({ name: "iris", source: "file:///home/me/model" });

    const first = await sync({ source, target });
    expect(first.registry).toEqual({ models: 1, versions: 2 });
    expect(first.issues).toEqual([
      expect.objectContaining({
        what: "model iris version 3",
        message: expect.stringMatching(/local path/),
      }),
    ]);
    const model = await target.registry.getRegisteredModel("iris");
    expect(model).toMatchObject({
      description: "flowers",
      tags: { team: "x" },
      aliases: { champion: "1" },
    });
    const parentCopy = (await copyOf(target, ids.parent)).info.runId;
    const v1 = await target.registry.getModelVersion("iris", "1");
    expect(v1).toMatchObject({ source: `runs:/${parentCopy}/model`, runId: parentCopy });
    expect(v1.tags.q).toBe("good");
    expect((await target.registry.getModelVersion("iris", "2")).currentStage).toBe("Staging");

    const second = await sync({ source, target });
    expect(second.registry).toEqual({ models: 0, versions: 0 });
    const { versions } = await target.registry.searchModelVersions({ filter: "name = 'iris'" });
    expect(versions).toHaveLength(2);
  });

  it("leaves the registry alone when only part of the tree is synced", async () => {
    const source = new MemoryStore();
    const target = new MemoryStore();
    const ids = await populate(source);
    await source.registry.createRegisteredModel("m");
    const report = await sync({ source, target, runIds: [ids.parent] });
    expect(report.registry).toEqual({ models: 0, versions: 0 });
    await expect(target.registry.getRegisteredModel("m")).rejects.toThrow();
  });
});

describe("sync from a tree", () => {
  it("recognises its copies after the tree was copied elsewhere and the ledger deleted", async () => {
    const { cp, rm: remove } = await import("node:fs/promises");
    const { FileStore } = await import("../../src/store/file/index.ts");
    const dir = await mkdtemp(join(tmpdir(), "mlruns-sync-tree-"));
    dirs.push(dir);
    const root = join(dir, "laptop", "mlruns");
    const source = new FileStore(root);
    await populate(source);
    const target = new MemoryStore();
    const first = await sync({ source, target });
    expect(first.counts.created).toBe(3);
    // rsync'ed to a cluster: another path, and the ledger left behind.
    const copy = join(dir, "cluster", "mlruns");
    await cp(root, copy, { recursive: true });
    await remove(join(copy, ".mlruns-sync.json"));
    const again = await sync({ source: new FileStore(copy), target });
    expect(again.counts).toMatchObject({ created: 0, points: 0, artifacts: 0 });
  });
});

describe("sync of runs still being written", () => {
  it("copies what a run holds when it is stamped, not when it was listed", async () => {
    const { FileStore } = await import("../../src/store/file/index.ts");
    const dir = await mkdtemp(join(tmpdir(), "mlruns-sync-race-"));
    dirs.push(dir);
    const source = new FileStore(join(dir, "mlruns"));
    const experimentId = await source.createExperiment("live");
    const parent = await source.createRun({ experimentId, runName: "parent" });
    const child = await source.createRun({
      experimentId,
      runName: "child",
      tags: { "mlflow.parentRunId": parent.info.runId },
    });
    // The training process writes the child while the sync copies the parent: after the runs
    // were listed, before the child is looked at.
    const target = new MemoryStore();
    const createRun = target.createRun.bind(target);
    let written = false;
    target.createRun = async (options) => {
      if (!written) {
        written = true;
        await source.logBatch(child.info.runId, {
          metrics: [{ key: "loss", value: 0.5, timestamp: T, step: 1 }],
        });
        await source.updateRun(child.info.runId, { status: "FINISHED", endTime: T + 1 });
      }
      return createRun(options);
    };
    await sync({ source, target });
    await sync({ source, target });
    const copy = await copyOf(target, child.info.runId, "live");
    expect(copy.info.status).toBe("FINISHED");
    expect(await target.getMetricHistory(copy.info.runId, "loss")).toHaveLength(1);
  });
});

describe("sync under another experiment prefix", () => {
  it("fills the new experiments, with the ledger as without it", async () => {
    const { FileStore } = await import("../../src/store/file/index.ts");
    const dir = await mkdtemp(join(tmpdir(), "mlruns-sync-prefix-"));
    dirs.push(dir);
    const source = new FileStore(join(dir, "mlruns"));
    await populate(source);
    const target = new MemoryStore();
    const runsIn = async (name: string) => {
      const experiment = await target.getExperimentByName(name);
      return (await target.listRuns([experiment?.experimentId ?? ""], "ALL")).length;
    };
    expect((await sync({ source, target, experimentPrefix: "a/" })).counts.created).toBe(3);
    const withLedger = await sync({ source, target, experimentPrefix: "b/" });
    expect(withLedger.counts).toMatchObject({ created: 3, updated: 0, points: 4 });
    const withoutLedger = await sync({
      source,
      target,
      experimentPrefix: "c/",
      ledgerPath: null,
    });
    expect(withoutLedger.counts).toMatchObject({ created: 3, updated: 0, points: 4 });
    expect([await runsIn("a/team/a"), await runsIn("b/team/a"), await runsIn("c/team/a")]).toEqual([
      3, 3, 3,
    ]);
    // Each prefix is remembered apart: going back to one changes nothing.
    for (const experimentPrefix of ["a/", "b/"]) {
      const again = await sync({ source, target, experimentPrefix });
      expect(again.counts).toMatchObject({ created: 0, updated: 0, unchanged: 3 });
    }
  });
});

describe("the ledger", () => {
  const spoilers: [string, (ledger: Record<string, unknown>) => unknown][] = [
    ["targets null", (ledger) => ({ ...ledger, targets: null })],
    ["targets a list", (ledger) => ({ ...ledger, targets: [] })],
    ["a whole file of null", () => null],
    [
      "runs null",
      (ledger) => ({
        ...ledger,
        targets: Object.fromEntries(
          Object.keys(ledger.targets as object).map((target) => [target, { runs: null }]),
        ),
      }),
    ],
    [
      "entries of the wrong shape",
      (ledger) => {
        const targets = ledger.targets as Record<string, { runs: Record<string, unknown> }>;
        for (const { runs } of Object.values(targets)) {
          const [a, b, c] = Object.keys(runs);
          runs[a as string] = { ...(runs[a as string] as object), metrics: null };
          runs[b as string] = { ...(runs[b as string] as object), targetRunId: 7 };
          runs[c as string] = null;
        }
        return ledger;
      },
    ],
  ];

  it.each(spoilers)("is rebuilt when it has %s", async (_what, spoil) => {
    const { readFile } = await import("node:fs/promises");
    const { FileStore } = await import("../../src/store/file/index.ts");
    const dir = await mkdtemp(join(tmpdir(), "mlruns-sync-ledger-"));
    dirs.push(dir);
    const source = new FileStore(join(dir, "mlruns"));
    await populate(source);
    const target = new MemoryStore();
    expect((await sync({ source, target })).counts.created).toBe(3);
    const file = join(dir, "mlruns", ".mlruns-sync.json");
    await writeFile(file, JSON.stringify(spoil(JSON.parse(await readFile(file, "utf8")))));
    const again = await sync({ source, target });
    expect(again.counts).toMatchObject({ created: 0, failed: 0, points: 0, artifacts: 0 });
    expect(again.issues).toEqual([]);
    const third = await sync({ source, target });
    expect(third.counts).toMatchObject({ created: 0, updated: 0, unchanged: 3 });
  });
});

describe("watchSync refuses what it cannot watch with the project's error", () => {
  const target = new MemoryStore();

  it("a source without a local tree", async () => {
    const error = await watchSync({ source: new MemoryStore(), target }).catch((e) => e);
    expect(isMlflowError(error, "INVALID_PARAMETER_VALUE")).toBe(true);
    expect(error.message).toMatch(/needs a local tree as the source, not memory:/);
    expect(error.hint).toMatch(/mlruns sync --watch/);
  });

  it.each([
    ["debounceMs", -1],
    ["debounceMs", 1.5],
    ["maxRetryMs", Number.NaN],
  ])("a pause %s of %s", async (name, value) => {
    const dir = await mkdtemp(join(tmpdir(), "mlruns-watch-"));
    dirs.push(dir);
    const source = new FileStore(dir);
    const error = await watchSync({ source, target, [name]: value }).catch((e) => e);
    expect(isMlflowError(error, "INVALID_PARAMETER_VALUE")).toBe(true);
    expect(error.message).toContain(`${name} must be a whole number of milliseconds`);
  });
});

describe("sync asks the source what it offers, not its URI", () => {
  /** A store whose URI names no file, but which keeps a local tree for side files. */
  class RootedMemoryStore extends MemoryStore {
    readonly root: string;
    constructor(root: string) {
      super();
      this.root = root;
    }
  }

  it("a source with a local tree keeps the ledger and the tree id there, and is locked", async () => {
    const root = await mkdtemp(join(tmpdir(), "mlruns-rooted-"));
    dirs.push(root);
    const source = new RootedMemoryStore(root);
    await populate(source);
    const target = new MemoryStore();
    const first = await sync({ source, target });
    expect(first.counts.created).toBe(3);
    const files = await readdir(root);
    expect(files).toContain(LEDGER_FILE);
    expect(files).toContain(TREE_ID_FILE);
    const tree = (await readFile(join(root, TREE_ID_FILE), "utf8")).trim();
    const copy = first.runs.find((r) => r.runName === "parent")?.targetRunId ?? "";
    expect((await target.getRun(copy)).data.tags[SOURCE_TAGS.tree]).toBe(tree);
    // The ledger is what makes the second pass skip: read from the root.
    const again = await sync({ source, target });
    expect(again.counts).toMatchObject({ created: 0, updated: 0, unchanged: 3 });
    // A second sync of the same tree is refused while one holds the lock.
    let second: Promise<unknown> | undefined;
    const onProgress = () => {
      second ??= sync({ source, target }).catch((error: unknown) => error);
    };
    await sync({ source, target, onProgress });
    const error = await second;
    expect(isMlflowError(error, "TEMPORARILY_UNAVAILABLE")).toBe(true);
    expect((error as Error).message).toMatch(/syncing this tree/);
  });
});
