/**
 * `mlruns ui` over a tree another program wrote (no history summaries): the long histories of
 * the runs a page names (its table's rows) are summed up in the background, before any chart
 * asks, and stored as a chart's first read stores them; a chart after that reads only a few
 * blocks. Nothing is written in the tree, and nothing at all where the cache cannot be written.
 */
import * as fs from "node:fs";
import { join } from "node:path";
import { FileStore } from "mlruns";
import { describe, expect, it, vi } from "vitest";
import { pyFloatRepr } from "../src/py-format.ts";
import { type RunningServer, startServer } from "../src/server/index.ts";
import { cacheFileOf, loadBlocks } from "../src/store/file/history-blocks.ts";
import { tempFolder } from "./helpers/temp-folder.ts";

/** Bytes read with readSync since the test began counting (every history read goes that way). */
const reads = { bytes: 0 };
vi.mock("node:fs", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:fs")>();
  const readSync = ((...args: Parameters<typeof real.readSync>) => {
    const n = real.readSync(...args);
    reads.bytes += n;
    return n;
  }) as typeof real.readSync;
  return { ...real, readSync, default: { ...real, readSync } };
});

const dir = tempFolder("mlruns-history-ahead-");
const POINTS = 150_000; // about 6 MB a file: past the size summaries start at

/**
 * A tree of `runs` runs whose `loss` MLflow's Python wrote (plain lines), searched once by an
 * earlier session (its index file holds their latest points), with no summaries in the cache
 * folder the test uses: what the first chart of it reads cold.
 */
async function foreignTree(name: string, runs: number): Promise<{ root: string; ids: string[] }> {
  const root = join(dir(), name);
  process.env.XDG_CACHE_HOME = join(dir(), `${name}-earlier-session`);
  const store = new FileStore(root);
  const experimentId = await store.createExperiment("foreign");
  const ids: string[] = [];
  for (let r = 0; r < runs; r++) {
    const run = await store.createRun({ experimentId, runName: `long-${r}` });
    let text = "";
    for (let step = 0; step < POINTS; step++) {
      const value = Math.exp(-step / 40_000) + 0.01 * Math.sin(step) + (step === 99_999 ? 9 : r);
      text += `${1_700_000_000_000 + step * 7} ${pyFloatRepr(value)} ${step}\n`;
    }
    fs.writeFileSync(join(root, experimentId, run.info.runId, "metrics", "loss"), text);
    ids.push(run.info.runId);
  }
  // A run changed within the last moments is read again by the next search: let them settle.
  await new Promise((done) => setTimeout(done, 3500));
  await store.searchRuns({ experimentIds: [experimentId] });
  await store.close();
  return { root, ids };
}

const metricFile = (root: string, id: string) =>
  join(
    root,
    fs.readdirSync(root).find((e) => fs.existsSync(join(root, e, id))) ?? "",
    id,
    "metrics",
    "loss",
  );

/** Whole blocks of the summary kept for `file`, and how many lines they hold. */
function keptLines(file: string): number {
  const fd = fs.openSync(file, "r");
  try {
    const kept = loadBlocks(cacheFileOf(file), fd);
    return (kept?.blocks.count ?? 0) * 256;
  } finally {
    fs.closeSync(fd);
  }
}

/** Every file under `root` with its size and mtime. */
function snapshot(root: string): string[] {
  return (fs.readdirSync(root, { recursive: true }) as string[])
    .map((p) => {
      const s = fs.statSync(join(root, p));
      return `${p} ${s.size} ${s.mtimeMs}`;
    })
    .sort();
}

async function watch(server: RunningServer, ids: string[]): Promise<void> {
  const query = ids.map((id) => `run_id=${id}`).join("&");
  const res = await fetch(`${server.url}/_mlruns/api/watch?${query}`);
  expect(res.status).toBe(200);
}

async function until(check: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("not within the time allowed");
    await new Promise((done) => setTimeout(done, 50));
  }
}

async function chart(server: RunningServer, ids: string[]) {
  const query = ids.map((id) => `run_ids=${id}`).join("&");
  const url = `${server.url}/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval?${query}&metric_key=loss&max_results=500`;
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return ((await res.json()) as { metrics: unknown[] }).metrics;
}

describe("summaries built ahead", { timeout: 300_000 }, () => {
  it("appear for the runs a page names, before a chart asks; the chart then reads a few blocks and draws what a first read draws", async () => {
    const { root, ids } = await foreignTree("table", 2);
    process.env.XDG_CACHE_HOME = join(dir(), "cache-table");
    const files = ids.map((id) => metricFile(root, id));
    const before = snapshot(root);
    const server = await startServer({ root, port: 0, ui: true, readOnly: true });
    try {
      await watch(server, ids);
      const whole = Math.floor(POINTS / 256) * 256;
      await until(() => files.every((file) => keptLines(file) === whole));
      reads.bytes = 0;
      const drawn = await chart(server, ids);
      expect(reads.bytes).toBeLessThan(512 << 10);
      // As a chart's own first read of the whole files, in another cache folder, draws it.
      process.env.XDG_CACHE_HOME = join(dir(), "cache-first-read");
      const other = await startServer({ root, port: 0, ui: true });
      try {
        reads.bytes = 0;
        expect(await chart(other, ids)).toEqual(drawn);
        expect(reads.bytes).toBeGreaterThan(2 * fs.statSync(files[0] as string).size);
      } finally {
        await other.close();
      }
    } finally {
      await server.close();
    }
    // The summaries went to the cache folder; the tree is as it was (but the search index).
    const index = (line: string) => !line.startsWith(".mlruns");
    expect(snapshot(root).filter(index)).toEqual(before.filter(index));
  });

  it("writes nothing where the cache folder cannot be written", async () => {
    const { root, ids } = await foreignTree("no-cache", 1);
    const blocker = join(dir(), "not-a-folder");
    fs.writeFileSync(blocker, "");
    process.env.XDG_CACHE_HOME = join(blocker, "cache");
    const server = await startServer({ root, port: 0, ui: true });
    try {
      reads.bytes = 0;
      await watch(server, ids);
      await new Promise((done) => setTimeout(done, 2000));
      // The run was listed, its file not read.
      expect(reads.bytes).toBe(0);
    } finally {
      await server.close();
    }
    expect(fs.readFileSync(blocker, "utf8")).toBe("");
  });
});
