/**
 * The writer of a run keeps its long histories' summaries as it logs (history-blocks.ts,
 * metric-files.ts): a first chart reads only the last lines of a history of a million points,
 * and samples it as a summary built from every line would. Whatever happens to the summary
 * (torn, damaged, stale, two writers), a reader never trusts what does not check.
 */
import * as fs from "node:fs";
import { join } from "node:path";
import { getTracker, type Metric } from "mlruns";
import { describe, expect, it, vi } from "vitest";
import { cacheFileOf, loadBlocks } from "../src/store/file/history-blocks.ts";
import { FileStore } from "../src/store/file/index.ts";
import { reads } from "./helpers/read-counter.ts";
import { tempFolder } from "./helpers/temp-folder.ts";

vi.mock("node:fs", async (original) =>
  (await import("./helpers/read-counter.ts")).countingReads(await original()),
);

const dir = tempFolder("mlruns-history-written-");

const T = 1_700_000_000_000;
const OPTIONS = [{ maxPoints: 1000 }, { maxPoints: 300, startStep: 400_000, endStep: 600_000 }];
const point = (step: number, value = Math.sin(step / 500) + (step === 777_777 ? 50 : 0)) => ({
  key: "loss",
  value,
  timestamp: T + step,
  step,
});

/** The samples of `key` the chart asks for, with the cache folder `cache`. */
async function samples(store: FileStore, runId: string, cache: string) {
  process.env.XDG_CACHE_HOME = cache;
  const all = [];
  for (const options of OPTIONS) {
    all.push(await store.getMetricHistorySampled([runId], "loss", options));
  }
  return all;
}

/** The blocks kept for `file` in the cache folder `cache` that check, and how many there are. */
function kept(file: string, cache: string) {
  process.env.XDG_CACHE_HOME = cache;
  const fd = fs.openSync(file, "r");
  try {
    const found = loadBlocks(cacheFileOf(file), fd);
    return { blocks: found?.blocks.count ?? 0, end: found?.blocks.end ?? 0 };
  } finally {
    fs.closeSync(fd);
  }
}

// Logging a million points and reading them back: seconds, more on a busy machine.
describe("a summary kept by the writer", { timeout: 300_000 }, () => {
  let store: FileStore;
  let runId: string;
  let file: string;
  const writerCache = () => join(dir(), "writer-cache");

  it("lets a first chart of a million points logged through the tracker read only their last lines", async () => {
    process.env.XDG_CACHE_HOME = writerCache();
    store = new FileStore(join(dir(), "tree"));
    const tracker = await getTracker({ store });
    const run = await tracker.startRun("long");
    for (let step = 0; step < 1_000_100; step++) {
      const { value, timestamp } = point(step);
      run.logMetric("loss", value, { step, timestamp });
    }
    await run.end();
    runId = run.id;
    file = join(dir(), "tree", "0", runId, "metrics", "loss");
    const size = fs.statSync(file).size;
    expect(size).toBeGreaterThan(30 << 20);

    reads.bytes = 0;
    const first = await samples(store, runId, writerCache());
    // The blocks stood in for the lines: only the lines after them and a few blocks were read.
    expect(reads.bytes).toBeLessThan(512 << 10);
    expect(first[0]?.map((m) => m.value)).toContain(point(777_777).value);
    // As a reader that built the summary from every line samples it.
    reads.bytes = 0;
    expect(first).toEqual(await samples(store, runId, join(dir(), "reader-cache")));
    expect(reads.bytes).toBeGreaterThan(size);
  });

  it("keeps it through another writer's points and a batch partly logged before", async () => {
    const other = new FileStore(join(dir(), "tree"));
    const batch = (from: number, to: number): Metric[] =>
      Array.from({ length: to - from }, (_, i) => point(from + i, (from + i) % 7));
    process.env.XDG_CACHE_HOME = writerCache();
    for (let from = 1_000_100; from < 1_020_100; from += 1000) {
      await store.logBatch(runId, { metrics: batch(from, from + 500) });
      await other.logBatch(runId, { metrics: batch(from + 500, from + 1000) });
    }
    // A batch partly logged already: only its new points are written.
    await other.logBatch(runId, { metrics: [...batch(1_020_100, 1_030_000), point(5)] });
    const { end } = kept(file, writerCache());
    expect(fs.statSync(file).size - end).toBeLessThan(64 << 10);
    expect(await samples(store, runId, writerCache())).toEqual(
      await samples(store, runId, join(dir(), "reader-cache-2")),
    );
  });

  it("is read up to its first record that does not check, or not at all when the file changed", async () => {
    const cache = join(dir(), "damaged-cache");
    const cacheFile = () => {
      process.env.XDG_CACHE_HOME = cache;
      return cacheFileOf(file);
    };
    const fresh = async () => samples(store, runId, join(dir(), `fresh-${Math.random()}`));
    const copyWriters = () => {
      fs.mkdirSync(join(cache, "mlruns", "history"), { recursive: true });
      process.env.XDG_CACHE_HOME = writerCache();
      fs.copyFileSync(cacheFileOf(file), cacheFile());
    };
    const whole = kept(file, writerCache()).blocks;
    // A crash in the middle of adding records: the last one torn.
    copyWriters();
    fs.truncateSync(cacheFile(), fs.statSync(cacheFile()).size - 100);
    expect(kept(file, cache).blocks).toBe(whole - 1);
    expect(await samples(store, runId, cache)).toEqual(await fresh());
    expect(kept(file, cache).blocks).toBeGreaterThanOrEqual(whole);

    // A record damaged in the middle: the ones from it are read again and stored anew.
    copyWriters();
    const bytes = fs.readFileSync(cacheFile());
    bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 0x10;
    fs.writeFileSync(cacheFile(), bytes);
    expect(kept(file, cache).blocks).toBeLessThan(whole / 2 + 1);
    expect(await samples(store, runId, cache)).toEqual(await fresh());
    expect(kept(file, cache).blocks).toBeGreaterThanOrEqual(whole);

    /** Turns the value of the first whole line after byte `at` into a spike (`sign` a dip). */
    const rewrite = (at: number, sign: "" | "-") => {
      const fd = fs.openSync(file, "r+");
      const text = Buffer.alloc(4096);
      fs.readSync(fd, text, 0, text.length, at);
      const from = text.indexOf("\n") + 1;
      const [timestamp, value = "", step] = text
        .toString("latin1", from, text.indexOf("\n", from))
        .split(" ");
      const spike = sign + "9".repeat(value.length - sign.length);
      fs.writeSync(fd, `${timestamp} ${spike} ${step}`, at + from, "latin1");
      fs.closeSync(fd);
      return Number(spike);
    };
    // The metric file rewritten in place (same inode and size): a value at its start, or in
    // the last block kept, turned into a spike. No record is trusted.
    for (const at of [0, kept(file, writerCache()).end - 2000]) {
      copyWriters();
      const spike = rewrite(at, "");
      expect(kept(file, cache).blocks).toBe(0);
      const after = await samples(store, runId, cache);
      expect(after[0]?.map((m) => m.value)).toContain(spike);
      expect(after).toEqual(await fresh());
      expect(kept(file, cache).blocks).toBeGreaterThanOrEqual(whole);
    }
    // Nor the summary this process read last, its cache file unchanged.
    const spike = rewrite(300, "-");
    const after = await samples(store, runId, cache);
    expect(after[0]?.map((m) => m.value)).toContain(spike);
    expect(after).toEqual(await fresh());
  });

  it("goes on being kept after a reader rebuilt it, and stops where it cannot follow the file", async () => {
    process.env.XDG_CACHE_HOME = writerCache();
    fs.rmSync(cacheFileOf(file));
    // A reader builds it from every line while the writer goes on logging.
    await samples(store, runId, writerCache());
    const before = kept(file, writerCache()).end;
    const step = 1_100_000;
    const batch = Array.from({ length: 20_000 }, (_, i) => point(step + i));
    await store.logBatch(runId, { metrics: batch });
    const after = kept(file, writerCache()).end;
    expect(after).toBeGreaterThan(before);
    expect(fs.statSync(file).size - after).toBeLessThan(64 << 10);

    // A line torn by a crash long ago, ended by the next write: the writer stops keeping the
    // summary, a reader keeps it from there.
    const torn = (await store.createRun({ experimentId: "0" })).info.runId;
    const tornFile = join(dir(), "tree", "0", torn, "metrics", "loss");
    const log = (from: number, to: number) =>
      store.logBatch(torn, {
        metrics: Array.from({ length: to - from }, (_, i) => point(from + i)),
      });
    for (let from = 0; from < 150_000; from += 1000) await log(from, from + 1000);
    expect(fs.statSync(tornFile).size).toBeGreaterThan(5 << 20);
    const past = new Date(Date.now() - 60_000);
    // Cut after its step's first digits (1500001 was being written, say): still in order.
    fs.appendFileSync(tornFile, `${T + 150_000} 0.5 150000`);
    fs.utimesSync(tornFile, past, past);
    for (let from = 150_001; from < 170_001; from += 1000) await log(from, from + 1000);
    expect(kept(tornFile, writerCache()).end).toBeLessThan(
      fs.statSync(tornFile).size - (400 << 10),
    );
    const sample = async (cache: string) => {
      process.env.XDG_CACHE_HOME = cache;
      return store.getMetricHistorySampled([torn], "loss", { maxPoints: 500 });
    };
    expect(await sample(writerCache())).toEqual(await sample(join(dir(), "reader-cache-3")));
    expect(kept(tornFile, writerCache()).end).toBe(
      kept(tornFile, join(dir(), "reader-cache-3")).end,
    );
  });
});
