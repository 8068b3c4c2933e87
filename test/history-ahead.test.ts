/**
 * `mlruns ui` over a tree another program wrote (no history summaries): the long histories of
 * the runs a page names (its table's rows) are summed up in the background, before any chart
 * asks, and stored as a chart's first read stores them; a chart after that reads only a few
 * blocks. Nothing is written in the tree, and nothing at all where the cache cannot be written.
 */
import * as fs from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { type RunningServer, startServer } from "../src/server/index.ts";
import { keptLines, until, WHOLE_LINES, writeForeignTree } from "./helpers/foreign-tree.ts";
import { reads } from "./helpers/read-counter.ts";
import { tempFolder } from "./helpers/temp-folder.ts";

vi.mock("node:fs", async (original) =>
  (await import("./helpers/read-counter.ts")).countingReads(await original()),
);

const dir = tempFolder("mlruns-history-ahead-");

/** Every file under `root` with its size and mtime. */
function snapshot(root: string): string[] {
  return (fs.readdirSync(root, { recursive: true }) as string[])
    .map((p) => {
      const s = fs.statSync(join(root, p));
      return `${p} ${s.size} ${s.mtimeMs}`;
    })
    .sort();
}

/** The runs a page shows, named as the page names them. */
async function watch(server: RunningServer, ids: string[]): Promise<void> {
  const query = ids.map((id) => `run_id=${id}`).join("&");
  const res = await fetch(`${server.url}/_mlruns/api/watch?${query}`);
  expect(res.status).toBe(200);
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
    const { root, ids, files } = await writeForeignTree(join(dir(), "table"), 2);
    const cache = join(dir(), "cache-table");
    process.env.XDG_CACHE_HOME = cache;
    const before = snapshot(root);
    const server = await startServer({ root, port: 0, ui: true, readOnly: true });
    try {
      await watch(server, ids);
      await until(() => files.every((file) => keptLines(file, cache) === WHOLE_LINES));
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

  it("reads and writes nothing where the cache folder cannot be written", async () => {
    const { root, ids } = await writeForeignTree(join(dir(), "no-cache"), 1);
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
