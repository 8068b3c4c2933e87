/**
 * FileStore.searchRuns through the search index: every change made behind the store's back
 * (another process, MLflow, rsync, an editor) is seen by the next search, both while the tree
 * is watched (inotify) and when runs are only checked by their stamps (`watch: false`); the
 * index file is a cache that is rebuilt when missing, torn or of another version.
 */
import {
  appendFileSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import type { Run } from "../src/entities.ts";
import { searchRuns } from "../src/search/index.ts";
import { FileStore, type FileStoreOptions } from "../src/store/file/index.ts";
import { Layout } from "../src/store/file/layout.ts";
import { RunReader } from "../src/store/file/runs.ts";
import { isCurrent, RACY_MS, readEntry } from "../src/store/file/summaries.ts";
import { INDEX_FILE } from "../src/tree-files.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Lets coarse file timestamps (one kernel tick) move on between setup and a change. */
const tick = () => sleep(25);

let dir: string;
let root: string;
let stores: FileStore[];
let experimentId: string;
let ids: string[];

function open(options: FileStoreOptions["searchIndex"] = {}): FileStore {
  const store = new FileStore(root, {
    searchIndex: { racyMs: 0, ...options },
    onProblem: () => {},
  });
  stores.push(store);
  return store;
}

async function seed(): Promise<void> {
  const store = new FileStore(root, { searchIndex: { file: null, watch: false } });
  experimentId = await store.createExperiment("indexed");
  ids = [];
  for (let i = 0; i < 6; i++) {
    const run = await store.createRun({ experimentId, runName: `r${i}`, startTime: 1000 + i });
    await store.logBatch(run.info.runId, {
      params: { lr: `0.${i}`, opt: i % 2 ? "adam" : "sgd" },
      tags: { team: i % 2 ? "cv" : "nlp" },
      metrics: [
        { key: "acc", value: i / 10, timestamp: 1, step: 0 },
        { key: "acc", value: i / 10 + 0.01, timestamp: 2, step: 1 },
      ],
    });
    ids.push(run.info.runId);
  }
}

const runDir = (i: number) => join(root, experimentId, ids[i] as string);
const byId = (runs: Run[], i: number) => runs.find((r) => r.info.runId === ids[i]);

async function searchNow(store: FileStore, filter = "", viewType?: "ALL") {
  return (await store.searchRuns({ experimentIds: [experimentId], filter, viewType })).runs;
}
const search = searchNow;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "mlruns-index-"));
  root = join(dir, "mlruns");
  stores = [];
  await seed();
  await tick();
});

afterEach(async () => {
  for (const store of stores) await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe.each([
  ["watched (inotify)", { watch: true }],
  ["stamps only", { watch: false }],
  ["swept (long-lived, no watch left)", { watch: true, maxWatches: 0 }],
] as const)("changes behind the store's back, %s", (_name, options) => {
  let store: FileStore;
  const swept = "maxWatches" in options;
  /**
   * The stated bound: a change by another process is seen by the first search after two sweep
   * cycles have ended (at once when watched or checked by stamps).
   */
  const search = async (on: FileStore, filter = "", viewType?: "ALL") => {
    if (swept) {
      const after = on.searchIndexStats.sweeps + 2;
      while (on.searchIndexStats.sweeps < after) await sleep(2);
    }
    return searchNow(on, filter, viewType);
  };

  beforeEach(async () => {
    store = open(options);
    expect(await searchNow(store)).toHaveLength(6); // builds the index (and starts a sweep)
    await tick();
  });

  test("matches listRuns + searchRuns exactly", async () => {
    const all = await store.listRuns([experimentId], "ALL");
    for (const filter of ["", "metrics.acc > 0.2", "params.opt = 'adam'", "tags.team LIKE 'c%'"]) {
      const query = { filter, orderBy: ["metrics.acc DESC"], maxResults: 2 };
      const expected = searchRuns(
        all.filter((r) => r.info.lifecycleStage === "active"),
        query,
      );
      const got = await store.searchRuns({ experimentIds: [experimentId], ...query });
      expect(got).toEqual(expected);
    }
  });

  test("a metric line appended to an existing file", async () => {
    appendFileSync(join(runDir(0), "metrics", "acc"), "3 0.99 2\n");
    const runs = await search(store, "metrics.acc > 0.9");
    expect(runs.map((r) => r.info.runId)).toEqual([ids[0]]);
    expect(byId(runs, 0)?.data.metrics.acc?.value).toBe(0.99);
  });

  test("a new param file, and a new nested metric key", async () => {
    writeFileSync(join(runDir(1), "params", "extra"), "yes");
    expect((await search(store, "params.extra = 'yes'")).map((r) => r.info.runId)).toEqual([
      ids[1],
    ]);
    const nested = join(runDir(2), "metrics", "val");
    await import("node:fs/promises").then((fs) => fs.mkdir(nested));
    expect(await search(store, "metrics.`val/loss` < 1")).toHaveLength(0);
    await tick();
    writeFileSync(join(nested, "loss"), "5 0.5 0\n");
    expect((await search(store, "metrics.`val/loss` < 1")).map((r) => r.info.runId)).toEqual([
      ids[2],
    ]);
  });

  test("a tag edited in place (same length) and a tag removed", async () => {
    writeFileSync(join(runDir(3), "tags", "team"), "rl");
    expect((await search(store, "tags.team = 'rl'")).map((r) => r.info.runId)).toEqual([ids[3]]);
    rmSync(join(runDir(3), "tags", "team"));
    expect(await search(store, "tags.team = 'rl'")).toHaveLength(0);
  });

  test("meta.yaml rewritten in place (MLflow's delete_run) and a run folder removed", async () => {
    const meta = join(runDir(4), "meta.yaml");
    writeFileSync(meta, readFileSync(meta, "utf8").replace("'active'", "'deleted'"));
    expect(byId(await search(store), 4)).toBeUndefined();
    expect(byId(await search(store, "", "ALL"), 4)?.info.lifecycleStage).toBe("deleted");
    rmSync(runDir(5), { recursive: true });
    expect(byId(await search(store, "", "ALL"), 5)).toBeUndefined();
  });

  test("a run folder added by another process", async () => {
    const other = new FileStore(root, { searchIndex: { file: null, watch: false } });
    const run = await other.createRun({ experimentId, runName: "late" });
    expect(byId(await search(store), 0)).toBeDefined();
    expect((await search(store)).map((r) => r.info.runId)).toContain(run.info.runId);
  });

  test("the experiment moved to .trash and back", async () => {
    const active = join(root, experimentId);
    const trashed = join(root, ".trash", experimentId);
    renameSync(active, trashed);
    expect(await search(store, "", "ALL")).toHaveLength(6);
    appendFileSync(join(trashed, ids[0] as string, "metrics", "acc"), "3 0.98 2\n");
    expect(byId(await search(store, "", "ALL"), 0)?.data.metrics.acc?.value).toBe(0.98);
    renameSync(trashed, active);
    expect(byId(await search(store, "", "ALL"), 0)?.data.metrics.acc?.value).toBe(0.98);
  });

  test("an rsync -a of a newer copy (temp file + rename, mtimes set back)", async () => {
    const metrics = join(runDir(1), "metrics");
    const file = join(metrics, "acc");
    const before = statSync(file);
    const folder = statSync(metrics);
    writeFileSync(join(metrics, ".acc.XyZ"), "1 0.1 0\n2 0.71 1\n"); // same size
    renameSync(join(metrics, ".acc.XyZ"), file);
    utimesSync(file, before.atime, before.mtime);
    utimesSync(metrics, folder.atime, folder.mtime);
    expect(statSync(file).size).toBe(before.size);
    expect(byId(await search(store), 1)?.data.metrics.acc?.value).toBe(0.71);
  });

  test("a dataset input linked by another writer", async () => {
    const other = new FileStore(root, { searchIndex: { file: null, watch: false } });
    await other.logInputs(ids[0] as string, [
      {
        dataset: {
          name: "train",
          digest: "d1",
          sourceType: "local",
          source: "file:///data",
          schema: null,
          profile: null,
        },
        tags: {},
      },
    ]);
    expect((await search(store, "datasets.name = 'train'")).map((r) => r.info.runId)).toEqual([
      ids[0],
    ]);
  });

  test("writes through the same store are seen at once", async () => {
    await store.logBatch(ids[0] as string, {
      metrics: [{ key: "acc", value: 5, timestamp: 9, step: 9 }],
    });
    await store.updateRun(ids[1] as string, { status: "FAILED" });
    await store.deleteTag(ids[2] as string, "team");
    // No waiting for the sweep: the store's own writes invalidate their runs.
    expect(byId(await searchNow(store, "metrics.acc = 5"), 0)).toBeDefined();
    expect(byId(await searchNow(store, "attributes.status = 'FAILED'"), 1)).toBeDefined();
    expect(byId(await searchNow(store, "tags.team = 'nlp'"), 2)).toBeUndefined();
  });
});

describe("the index file", () => {
  const indexFile = () => join(root, INDEX_FILE);
  const savedRuns = () => JSON.parse(readFileSync(indexFile(), "utf8")).runs as unknown[][];
  const header = { format: "mlruns-search-index", version: 2, root: "/x", strings: [] };

  test("is written at the tree's root as a plain file, and a new process starts from it", async () => {
    const first = open({ watch: false });
    const expected = await search(first);
    await first.close();
    expect(statSync(indexFile()).isFile()).toBe(true);
    expect(savedRuns()).toHaveLength(6);
    // Changed while no process was looking: the stamp on disk no longer holds.
    appendFileSync(join(runDir(2), "metrics", "acc"), "3 0.97 2\n");
    const second = open({ watch: false });
    const runs = await search(second);
    expect(byId(runs, 2)?.data.metrics.acc?.value).toBe(0.97);
    expect(runs.filter((r) => r.info.runId !== ids[2])).toEqual(
      expected.filter((r) => r.info.runId !== ids[2]),
    );
  });

  test.each([
    ["deleted", () => rmSync(join(root, INDEX_FILE))],
    ["half-written", () => writeFileSync(join(root, INDEX_FILE), '{"format":"mlruns-search-ind')],
    [
      "of another version",
      () => writeFileSync(join(root, INDEX_FILE), JSON.stringify({ ...header, version: 99 })),
    ],
    [
      "garbage runs",
      () =>
        writeFileSync(join(root, INDEX_FILE), JSON.stringify({ ...header, runs: [1, ["x/y", 3]] })),
    ],
    [
      "runs null",
      () => writeFileSync(join(root, INDEX_FILE), JSON.stringify({ ...header, runs: null })),
    ],
    [
      "a string table that is not strings",
      () => {
        const saved = JSON.parse(readFileSync(join(root, INDEX_FILE), "utf8"));
        saved.strings = saved.strings.map(() => 1);
        writeFileSync(join(root, INDEX_FILE), JSON.stringify(saved));
      },
    ],
    ["null", () => writeFileSync(join(root, INDEX_FILE), "null")],
    [
      "summaries of the wrong shape under stamps that still hold",
      () => {
        const saved = JSON.parse(readFileSync(join(root, INDEX_FILE), "utf8"));
        // body: [runId, experimentId, runName, userId, status, start, end, uri, active,
        //        params, metrics, metricDatasets, tags, inputs]
        const spoilers = [
          (body: unknown[]) => {
            body[9] = null;
          },
          (body: unknown[]) => {
            (body[10] as unknown[])[1] = null;
          },
          (body: unknown[]) => {
            body[0] = 7;
          },
          (body: unknown[]) => {
            body[13] = [null];
          },
          (body: unknown[]) => {
            (body[12] as unknown[])[1] = 10_000;
          },
          (body: unknown[]) => {
            body[1] = -1;
          },
        ];
        (saved.runs as unknown[][]).forEach((row, i) => {
          spoilers[i % spoilers.length]?.(row[4] as unknown[]);
        });
        writeFileSync(join(root, INDEX_FILE), JSON.stringify(saved));
      },
    ],
  ])("is rebuilt when %s", async (_what, spoil) => {
    const first = open({ watch: false });
    const expected = await search(first);
    await first.close();
    spoil();
    const second = open({ watch: false });
    expect(await search(second)).toEqual(expected);
    await second.close();
    expect(savedRuns()).toHaveLength(6);
  });

  test("concurrent writers never tear it", async () => {
    const many = Array.from({ length: 6 }, () => open({ watch: false }));
    await Promise.all(many.map((s) => search(s)));
    await Promise.all(many.map((s) => s.close()));
    expect(savedRuns()).toHaveLength(6);
    const leftovers = (await import("node:fs")).readdirSync(root).filter((n) => n.endsWith(".tmp"));
    expect(leftovers).toEqual([]);
  });

  test("NaN, infinities and -0 survive the file", async () => {
    const store = open({ watch: false });
    await store.logBatch(ids[0] as string, {
      metrics: [
        { key: "nan", value: Number.NaN, timestamp: 1, step: 0 },
        { key: "inf", value: Number.NEGATIVE_INFINITY, timestamp: 1, step: 0 },
        { key: "zero", value: -0, timestamp: 1, step: 0 },
      ],
    });
    const expected = byId(await search(store), 0);
    await store.close();
    const again = byId(await search(open({ watch: false })), 0);
    expect(again).toEqual(expected);
    expect(Object.is(again?.data.metrics.zero?.value, -0)).toBe(true);
    expect(again?.data.metrics.nan?.value).toBeNaN();
  });

  test("a watched run is trusted without system calls, and the sweep proves the others within its bound", async () => {
    const watched = open({ watch: true });
    await search(watched);
    await search(watched);
    if (process.platform === "linux") expect(watched.searchIndexStats.watched).toBe(6);
    // Room for the experiment folder, two whole runs (4 folders each) and 3 folders more: the
    // third run is not wholly watched, so it gives its watches back instead of holding them.
    const capped = open({ watch: true, maxWatches: 12 });
    for (let i = 0; i < 2; i++) {
      await search(capped);
      const { watched, watches } = capped.searchIndexStats;
      expect(watched).toBe(process.platform === "linux" ? 2 : 0);
      expect(watches).toBe(process.platform === "linux" ? 1 + 4 * watched : 0);
    }
    // Another process appends to every run; the unwatched ones are seen within two sweeps.
    const changed = performance.now();
    for (let i = 0; i < 6; i++) appendFileSync(join(runDir(i), "metrics", "acc"), "3 0.96 9\n");
    const seen = async () =>
      (await search(capped)).every((run) => run.data.metrics.acc?.value === 0.96);
    const startSweeps = capped.searchIndexStats.sweeps;
    while (!(await seen())) {
      expect(capped.searchIndexStats.sweeps - startSweeps).toBeLessThanOrEqual(2);
      await sleep(5);
    }
    const { sweepMs } = capped.searchIndexStats;
    expect(sweepMs).toBeDefined();
    // Bounded by the sweep, never by the next reload.
    expect(performance.now() - changed).toBeLessThan(10_000);
  });

  test("a long-lived index answers from the index file at once, and the sweep proves it", async () => {
    const first = open({ watch: false });
    await search(first);
    await first.close();
    appendFileSync(join(runDir(3), "metrics", "acc"), "3 0.5 9\n");
    const served = open({ watch: true, maxWatches: 0 });
    const runs = await search(served);
    expect(runs).toHaveLength(6);
    // The first answer may predate the change (stated bound); the sweep brings it in.
    const startSweeps = served.searchIndexStats.sweeps;
    while (byId(await search(served), 3)?.data.metrics.acc?.value !== 0.5) {
      expect(served.searchIndexStats.sweeps - startSweeps).toBeLessThanOrEqual(2);
      await sleep(5);
    }
  });

  test("runs of an experiment the sweep found gone are back at once when it is restored", async () => {
    const served = open({ watch: true });
    await search(served);
    const active = join(root, experimentId);
    const trashed = join(root, ".trash", experimentId);
    renameSync(active, trashed);
    appendFileSync(join(trashed, ids[0] as string, "metrics", "acc"), "3 0.98 2\n");
    // The sweep re-checks the runs the append marked, under their old (now missing) folders.
    const after = served.searchIndexStats.sweeps + 2;
    while (served.searchIndexStats.sweeps < after) await sleep(2);
    renameSync(trashed, active);
    const runs = await search(served);
    expect(runs).toHaveLength(6);
    expect(byId(runs, 0)?.data.metrics.acc?.value).toBe(0.98);
  });

  test("the sweep reports the changes it finds to the change feed", async () => {
    const served = open({ watch: true, maxWatches: 0 });
    await search(served);
    const seen: string[] = [];
    const stop = served.onChange(({ runId }) => {
      if (runId) seen.push(runId);
    });
    appendFileSync(join(runDir(1), "metrics", "acc"), "3 0.5 9\n");
    const startSweeps = served.searchIndexStats.sweeps;
    while (!seen.includes(ids[1] as string)) {
      expect(served.searchIndexStats.sweeps - startSweeps).toBeLessThanOrEqual(2);
      await sleep(5);
    }
    stop();
  });
});

describe("a stamp taken in the millisecond its files changed", () => {
  test("is trusted when no racy window is asked for, and not within the default one", async () => {
    const run = runDir(0);
    const newest = Math.max(
      ...["meta.yaml", "metrics/acc"].map((p) => statSync(join(run, p)).ctimeMs),
    );
    // Date.now() drops the fraction of a millisecond that a file's times keep: a file changed
    // in this very millisecond has a time after now.
    const now = vi.spyOn(Date, "now").mockReturnValue(Math.floor(newest) - 1);
    const reader = new RunReader(new Layout(root));
    const trusted = await readEntry(reader, run, () => {}, undefined, 0);
    const untrusted = await readEntry(reader, run, () => {}, undefined, RACY_MS);
    now.mockRestore();
    expect(isCurrent(run, trusted)).toBe(true);
    expect(isCurrent(run, untrusted)).toBe(false);
  });
});
