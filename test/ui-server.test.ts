/**
 * The web UI's server side without a browser: the runs window (folding, columns, min and max,
 * paging, our duration order, request checks) on a MemoryStore and a FileStore, and the change
 * feed a FileStore's watches drive, and its re-check of the runs a page shows.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, get, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileStore, MemoryStore, type TrackingStore } from "mlruns";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isMlflowError, type MlflowError } from "../src/errors.ts";
import { matchRuns } from "../src/search/index.ts";
import { Assets } from "../src/server/ui/assets.ts";
import { ChangeFeed } from "../src/server/ui/events.ts";
import { runsWindow, WindowCache, windowRequest } from "../src/server/ui/runs-window.ts";
import { makeRun } from "./search/helpers.ts";

async function sweep(
  store: TrackingStore,
): Promise<{ experimentId: string; parent: string; kids: string[] }> {
  const experimentId = await store.createExperiment("window");
  const parent = await store.createRun({ experimentId, runName: "parent", startTime: 1000 });
  const kids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const kid = await store.createRun({
      experimentId,
      runName: `kid-${i}`,
      startTime: 2000 + i,
      tags: { "mlflow.parentRunId": parent.info.runId },
    });
    await store.logBatch(kid.info.runId, {
      metrics: [5, -1, 2].map((v, step) => ({
        key: "loss",
        value: v + i,
        timestamp: 10 + step,
        step,
      })),
      params: { i: String(i) },
    });
    await store.updateRun(kid.info.runId, {
      status: "FINISHED",
      endTime: 2000 + i + (3 - i) * 100,
    });
    kids.push(kid.info.runId);
  }
  return { experimentId, parent: parent.info.runId, kids };
}

const stores: [string, () => Promise<{ store: TrackingStore; done: () => Promise<void> }>][] = [
  ["MemoryStore", async () => ({ store: new MemoryStore(), done: async () => {} })],
  [
    "FileStore",
    async () => {
      const dir = await mkdtemp(join(tmpdir(), "mlruns-window-"));
      return {
        store: new FileStore(join(dir, "mlruns")),
        done: () => rm(dir, { recursive: true, force: true }),
      };
    },
  ],
];

describe.each(stores)("the runs window on a %s", (_name, open) => {
  let store: TrackingStore;
  let done: () => Promise<void>;
  let tree: Awaited<ReturnType<typeof sweep>>;
  beforeAll(async () => {
    ({ store, done } = await open());
    tree = await sweep(store);
  });
  afterAll(() => done());

  it("folds children under their parent until it is expanded", async () => {
    const folded = await runsWindow(store, { experimentIds: [tree.experimentId] });
    expect(folded.rows.map((r) => [r.name, r.depth, r.children])).toEqual([["parent", 0, 3]]);
    expect(folded).toMatchObject({ total: 1, matched: 4 });
    const open = await runsWindow(store, {
      experimentIds: [tree.experimentId],
      expanded: [tree.parent],
    });
    expect(open.rows.map((r) => [r.name, r.depth])).toEqual([
      ["parent", 0],
      ["kid-2", 1],
      ["kid-1", 1],
      ["kid-0", 1],
    ]);
    expect(open.rows[1]?.parentId).toBe(tree.parent);
  });

  it("gives the chosen columns: params, the latest metric, its min and max", async () => {
    const { rows } = await runsWindow(store, {
      experimentIds: [tree.experimentId],
      filter: "params.i = '1'",
      columns: ["p:i", "m:loss", "m:loss:min", "m:loss:max", "t:mlflow.parentRunId", "p:absent"],
    });
    expect(rows.map((r) => r.cells)).toEqual([["1", 3, 0, 6, tree.parent, null]]);
  });

  it("pages with an offset and a limit, and lists every key on request", async () => {
    const page = await runsWindow(store, {
      experimentIds: [tree.experimentId],
      expanded: [tree.parent],
      offset: 2,
      limit: 1,
      keys: true,
    });
    expect(page).toMatchObject({ total: 4, offset: 2 });
    expect(page.rows.map((r) => r.name)).toEqual(["kid-1"]);
    expect(page.keys).toEqual({
      params: ["i"],
      metrics: ["loss"],
      tags: expect.arrayContaining(["mlflow.parentRunId"]),
    });
  });

  it("orders by duration, running runs last", async () => {
    const asc = await runsWindow(store, {
      experimentIds: [tree.experimentId],
      expanded: [tree.parent],
      filter: "params.i != 'x'",
      orderBy: ["duration ASC"],
    });
    expect(asc.rows.map((r) => r.name)).toEqual(["kid-2", "kid-1", "kid-0"]);
    const desc = await runsWindow(store, {
      experimentIds: [tree.experimentId],
      orderBy: ["duration DESC"],
      expanded: [tree.parent],
    });
    expect(desc.rows.map((r) => r.name)).toEqual(["parent", "kid-0", "kid-1", "kid-2"]);
  });

  it("refuses a bad filter with MLflow's caret message", async () => {
    await expect(
      runsWindow(store, { experimentIds: [tree.experimentId], filter: "metrics.loss >> 1" }),
    ).rejects.toThrow(/\n {13}\^$/);
  });
});

describe("the runs window over many runs", () => {
  // A store that matches runs in memory as a FileStore does (the search module's matchRuns,
  // with its `first`), over enough runs that the first screen orders only its head.
  const runs = Array.from({ length: 9000 }, (_, i) =>
    makeRun({
      id: `run-${String((i * 7919) % 9000).padStart(5, "0")}`,
      start: 1000 + ((i * 31) % 97),
      metrics: { m: (i * 13) % 101 },
    }),
  );
  const store = {
    matchRuns: async (query: { filter?: string; orderBy?: string[] }, first?: number) =>
      matchRuns(runs, query, first),
  } as unknown as TrackingStore;
  const orderBy = ["metrics.m DESC"];
  const whole = matchRuns(runs, { orderBy }).map((r) => r.info.runId);

  it.each([
    [0, 100],
    [900, 100],
    [950, 100],
    [4500, 1000],
  ])("gives rows %i to %i+ in the order a full sort gives", async (offset, limit) => {
    const window = await runsWindow(store, { experimentIds: ["1"], orderBy, offset, limit });
    expect(window.total).toBe(9000);
    expect(window.rows.map((r) => r.id)).toEqual(whole.slice(offset, offset + limit));
  });
});

describe("the runs window's request", () => {
  it("reads repeated and single parameters from the query string", () => {
    const request = windowRequest(
      new URLSearchParams(
        "experiment_id=1&experiment_id=2&filter=x&order_by=a&column=p:x&expanded=r&offset=5&limit=10&keys=1&view=ALL",
      ),
    );
    expect(request).toEqual({
      experimentIds: ["1", "2"],
      filter: "x",
      orderBy: ["a"],
      viewType: "ALL",
      offset: 5,
      limit: 10,
      columns: ["p:x"],
      expanded: ["r"],
      keys: true,
    });
  });

  it.each([
    ["", /experiment_id/],
    ["experiment_id=1&limit=5000", /'limit' must be an integer from 0 to 1000/],
    ["experiment_id=1&offset=-1", /'offset'/],
    ["experiment_id=1&view=SOME", /'view'/],
  ])("refuses %j", (query, message) => {
    expect(() => windowRequest(new URLSearchParams(query))).toThrow(message);
  });

  it("refuses an unknown column kind", async () => {
    await expect(
      runsWindow(new MemoryStore(), { experimentIds: ["0"], columns: ["x:y"] }),
    ).rejects.toThrow(/Unknown column 'x:y'/);
  });
});

describe("the window cache", () => {
  it("answers a repeated query from the first search until it ages or is cleared", async () => {
    const store = new MemoryStore();
    const experimentId = await store.createExperiment("cache");
    await store.createRun({ experimentId, runName: "a" });
    const cache = new WindowCache(60_000);
    const first = await runsWindow(store, { experimentIds: [experimentId] }, cache);
    await store.createRun({ experimentId, runName: "b" });
    expect((await runsWindow(store, { experimentIds: [experimentId] }, cache)).total).toBe(
      first.total,
    );
    expect(
      (await runsWindow(store, { experimentIds: [experimentId], filter: "" }, cache)).total,
    ).toBe(2);
    cache.clear();
    expect((await runsWindow(store, { experimentIds: [experimentId] }, cache)).total).toBe(2);
    expect(
      (await runsWindow(store, { experimentIds: [experimentId] }, new WindowCache(-1))).total,
    ).toBe(2);
  });

  it("counts an entry's age from its answer, so a search slower than the age is still shared", async () => {
    const cache = new WindowCache(50);
    let made = 0;
    const slow = () => new Promise<number>((done) => setTimeout(() => done(++made), 120)); // slower than 50 ms
    const first = cache.get("k", slow);
    expect(await cache.get("k", slow)).toBe(1); // asked while the first was being made
    expect(await first).toBe(1);
    expect(await cache.get("k", slow)).toBe(1); // just after the answer: still fresh
    await new Promise((done) => setTimeout(done, 80));
    expect(await cache.get("k", slow)).toBe(2); // aged
  });
});

describe("a FileStore's change feed (onChange)", () => {
  it("reports a metric appended to a watched run, and a run added to a watched experiment", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mlruns-feed-"));
    const root = join(dir, "mlruns");
    const writer = new FileStore(root);
    const experimentId = await writer.createExperiment("feed");
    const run = await writer.createRun({ experimentId });
    const reader = new FileStore(root, { searchIndex: { watch: true, file: null } });
    const seen: { experimentId: string; runId?: string }[] = [];
    const stop = reader.onChange((change) => seen.push(change));
    try {
      await reader.searchRuns({ experimentIds: [experimentId] });
      await writer.logBatch(run.info.runId, {
        metrics: [{ key: "m", value: 1, timestamp: 1, step: 0 }],
      });
      await expect.poll(() => seen.some((c) => c.runId === run.info.runId)).toBe(true);
      expect(seen.every((c) => c.experimentId === experimentId)).toBe(true);
      seen.length = 0;
      await writer.createRun({ experimentId });
      await expect.poll(() => seen.some((c) => c.runId === undefined)).toBe(true);
    } finally {
      stop();
      await reader.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("the UI's files", () => {
  it("a folder without index.html is the project's error, with what to do", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mlruns-ui-assets-"));
    try {
      const error = (() => {
        try {
          return new Assets(dir);
        } catch (caught) {
          return caught;
        }
      })();
      expect(isMlflowError(error, "INVALID_STATE")).toBe(true);
      expect((error as MlflowError).hint).toMatch(/npm run build/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("the change feed's re-check of the runs a page shows", () => {
  it("reports a change to a run no watch covers within 2 s, once a page shows it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mlruns-shown-"));
    const root = join(dir, "mlruns");
    const writer = new FileStore(root, { searchIndex: { racyMs: 0 } });
    const experimentId = await writer.createExperiment("shown");
    const { runId } = (await writer.createRun({ experimentId })).info;
    await writer.searchRuns({ experimentIds: [experimentId] });
    await writer.close(); // the index file now holds the run
    // No watch at all, and no search: no sweep either. Only the page's naming can prove it.
    const reader = new FileStore(root, { searchIndex: { watch: true, maxWatches: 0, racyMs: 0 } });
    const feed = new ChangeFeed(reader);
    const server = createServer((req, res) => feed.subscribe(req, res, "page-1"));
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    const events: string[] = [];
    const stream = await new Promise<IncomingMessage>((done) =>
      get(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, done),
    );
    stream.setEncoding("utf8");
    stream.on("data", (text: string) => events.push(text));
    try {
      await expect.poll(() => events.join("")).toContain("event: hello");
      expect(feed.show("page-2", [runId])).toBe(false); // no such stream
      expect(feed.show("page-1", [runId])).toBe(true);
      await new Promise((done) => setTimeout(done, 1200));
      expect(events.join("")).not.toContain("event: change"); // unchanged: nothing to say
      await new FileStore(root).logBatch(runId, {
        metrics: [{ key: "loss", value: 1, timestamp: Date.now(), step: 0 }],
      });
      await expect
        .poll(() => events.join(""), { timeout: 2000, interval: 50 })
        .toContain(`"runs":["${runId}"]`);
    } finally {
      stream.destroy();
      feed.close();
      server.close();
      await reader.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
