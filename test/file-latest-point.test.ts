/**
 * FileStore's getRun finds each metric's latest point without reading whole histories where
 * something proves the answer (latest-point.ts), and the answer is always the one a read of
 * every line gives: MLflow's max by (step, timestamp, value). Bytes read are measured as the
 * kernel counts them for this process (/proc/self/io `rchar`).
 */
import { execFileSync, spawn } from "node:child_process";
import { appendFileSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { mkdtemp, utimes } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Metric } from "../src/entities.ts";
import { latestPoint } from "../src/metric-latest.ts";
import { FileStore } from "../src/store/file/index.ts";
import { tempFolder } from "./helpers/temp-folder.ts";

const dir = tempFolder("mlruns-latest-point-", { cache: true });

const T = 1_700_000_000_000;
const MILLION = 1_000_000;

/** Bytes this process has read so far, by the kernel's count. */
function bytesRead(): number {
  const io = readFileSync("/proc/self/io", "utf8");
  return Number(/^rchar: (\d+)$/m.exec(io)?.[1]);
}

/** `count` metric lines, step i at T + i, value `valueAt(i)` (written as Python would). */
function lines(count: number, valueAt: (i: number) => string): string {
  const chunks: string[] = [];
  for (let i = 0; i < count; i++) chunks.push(`${T + i} ${valueAt(i)} ${i}\n`);
  return chunks.join("");
}

async function newRun(): Promise<{
  store: FileStore;
  runId: string;
  file: (key: string) => string;
}> {
  const root = join(await mkdtemp(join(dir(), "tree-")), "mlruns");
  const store = new FileStore(root, { onProblem: () => {} });
  const { runId } = (await store.createRun({ experimentId: "0" })).info;
  return { store, runId, file: (key) => join(root, "0", runId, "metrics", key) };
}

/** getRun's latest point of `key`, and how many bytes the call read. */
async function measuredLatest(store: FileStore, runId: string, key: string) {
  const before = bytesRead();
  const run = await store.getRun(runId);
  return { latest: run.data.metrics[key], read: bytesRead() - before };
}

/** The latest point by reading every line. */
async function expected(store: FileStore, runId: string, key: string): Promise<Metric> {
  return latestPoint(await store.getMetricHistory(runId, key)) as Metric;
}

/** Appends `text` to `path` from another process. */
function appendElsewhere(path: string, text: string): void {
  execFileSync(process.execPath, [
    "-e",
    "require('node:fs').appendFileSync(process.argv[1], process.argv[2])",
    path,
    text,
  ]);
}

describe("getRun's latest metrics", () => {
  it("of a 1M-point metric in step order read from its summary, not the whole file (NaN and ties at the last step across blocks)", async () => {
    const { store, runId, file } = await newRun();
    // 300 lines share the greatest (step, timestamp), more than a summary block holds: the
    // largest value among them is in the middle, a NaN before it, and MLflow's max keeps it.
    const tie = Array.from({ length: 300 }, (_, i) =>
      i === 100 ? "nan" : i === 150 ? "99.5" : String(i / 1000),
    );
    const text =
      lines(MILLION - 300, (i) => String(Math.sin(i / 1000))) +
      tie.map((value) => `${T + MILLION} ${value} ${MILLION}\n`).join("");
    writeFileSync(file("loss"), text);
    // A chart of it keeps its summary (what the UI does first); this process has no fold yet.
    await store.getMetricHistorySampled([runId], "loss", { maxPoints: 100 });

    const { latest, read } = await measuredLatest(store, runId, "loss");
    expect(latest).toEqual({ key: "loss", value: 99.5, timestamp: T + MILLION, step: MILLION });
    expect(latest).toEqual(await expected(store, runId, "loss"));
    expect(read).toBeLessThan(text.length / 20);
  }, 120_000);

  it("of a 1M-point metric out of order, after another process appended, reads only what was appended", async () => {
    const { store, runId, file } = await newRun();
    // The greatest step is in the middle: no summary can stand in, the first read is whole.
    const text = lines(MILLION, (i) => (i === 400_000 ? "0.25" : String(i / 3))).replace(
      `${T + 400_000} 0.25 400000\n`,
      `${T + 400_000} 0.25 ${2 * MILLION}\n`,
    );
    writeFileSync(file("m"), text);
    const first = await measuredLatest(store, runId, "m");
    expect(first.latest).toEqual({
      key: "m",
      value: 0.25,
      timestamp: T + 400_000,
      step: 2 * MILLION,
    });
    expect(first.latest).toEqual(await expected(store, runId, "m"));

    const cases: [string, Metric][] = [
      // A lower step, then the same (step, timestamp) with a larger value: that one is latest.
      [
        `${T + 9} 7 5\n${T + 400_000} 0.5 ${2 * MILLION}\n`,
        { key: "m", value: 0.5, timestamp: T + 400_000, step: 2 * MILLION },
      ],
      // NaN at that (step, timestamp) neither replaces it nor is replaced.
      [
        `${T + 400_000} nan ${2 * MILLION}\n${T + 400_000} 0.4 ${2 * MILLION}\n`,
        { key: "m", value: 0.5, timestamp: T + 400_000, step: 2 * MILLION },
      ],
      // A later timestamp at that step wins whatever its value.
      [
        `${T + 400_001} -1 ${2 * MILLION}\n`,
        { key: "m", value: -1, timestamp: T + 400_001, step: 2 * MILLION },
      ],
    ];
    for (const [appended, latest] of cases) {
      appendElsewhere(file("m"), appended);
      const next = await measuredLatest(store, runId, "m");
      expect(next.latest).toEqual(latest);
      expect(next.read).toBeLessThan(text.length / 20);
    }
    expect((await store.getRun(runId)).data.metrics.m).toEqual(await expected(store, runId, "m"));
  }, 120_000);

  it("of a file rewritten in place or replaced reads it again", async () => {
    const { store, runId, file } = await newRun();
    const path = file("m");
    const text = lines(20_000, (i) => String(i));
    writeFileSync(path, text);
    expect((await store.getRun(runId)).data.metrics.m?.step).toBe(19_999);
    // Same inode, longer, the same first 4 KiB, but the last line before the old end changed.
    const withoutLast = text.slice(0, text.lastIndexOf("\n", text.length - 2) + 1);
    writeFileSync(path, `${withoutLast}${T} 1 5\n${T} 2.5 3\n${T} 2.5 4\n`);
    let latest = (await store.getRun(runId)).data.metrics.m;
    expect(latest).toEqual(await expected(store, runId, "m"));
    expect(latest?.step).toBe(19_998);
    // A new file in its place (a copy tool's rename).
    writeFileSync(`${path}.new`, `${text}${T} 3.5 30000\n`);
    renameSync(`${path}.new`, path);
    latest = (await store.getRun(runId)).data.metrics.m;
    expect(latest).toEqual({ key: "m", value: 3.5, timestamp: T, step: 30_000 });
  });

  it("skip a last line still being written, and read one a crash left", async () => {
    const { store, runId, file } = await newRun();
    const path = file("m");
    writeFileSync(
      path,
      lines(20_000, (i) => String(i)),
    );
    const before = { key: "m", value: 19_999, timestamp: T + 19_999, step: 19_999 };
    expect((await store.getRun(runId)).data.metrics.m).toEqual(before);
    // Half of `${T} 7.5 600000\n`, seen while it is written: parsed, it would be step 60000.
    appendFileSync(path, `${T} 7.5 60000`);
    expect((await store.getRun(runId)).data.metrics.m).toEqual(before);
    // Half of a line that would not parse at all.
    writeFileSync(path, `${lines(20_000, (i) => String(i))}${T} 7.`);
    expect((await store.getRun(runId)).data.metrics.m).toEqual(before);
    // Finished: the point is there.
    appendFileSync(path, "5 600000\n");
    expect((await store.getRun(runId)).data.metrics.m).toEqual({
      key: "m",
      value: 7.5,
      timestamp: T,
      step: 600_000,
    });
    // A last line left unfinished long ago is a crash's leftover, read as MLflow reads it.
    appendFileSync(path, `${T} 8.5 700000`);
    const longAgo = new Date(Date.now() - 60_000);
    await utimes(path, longAgo, longAgo);
    expect((await store.getRun(runId)).data.metrics.m?.value).toBe(8.5);
  });

  it("while another process appends are always a point logged, never behind an earlier answer, and exact once it stops", async () => {
    const { store, runId, file } = await newRun();
    const path = file("m");
    writeFileSync(
      path,
      lines(300_000, (i) => String(i / 2)),
    );
    // Batches of 250 lines (about 8 KiB, across page boundaries) in single writes for 1.5 s.
    const writer = spawn(process.execPath, [
      "-e",
      `const fs = require("node:fs");
       const fd = fs.openSync(process.argv[1], "a");
       const stop = Date.now() + 1500;
       let i = 300000;
       while (Date.now() < stop) {
         let text = "";
         for (let k = 0; k < 250; k++, i++) text += (${T} + i) + " " + i / 2 + " " + i + "\\n";
         fs.writeSync(fd, text);
       }`,
      path,
    ]);
    const exited = new Promise((resolve) => writer.on("exit", resolve));
    let running = true;
    void exited.then(() => {
      running = false;
    });
    let last = -1;
    let reads = 0;
    while (running) {
      const latest = (await store.getRun(runId)).data.metrics.m as Metric;
      expect(latest.value).toBe(latest.step / 2);
      expect(latest.timestamp).toBe(T + latest.step);
      expect(latest.step).toBeGreaterThanOrEqual(last);
      last = latest.step;
      reads++;
    }
    expect(reads).toBeGreaterThan(1);
    expect((await store.getRun(runId)).data.metrics.m).toEqual(await expected(store, runId, "m"));
  }, 60_000);

  it("come from the search index's summary when its stamp proves it current, and see another process's change", async () => {
    const root = join(await mkdtemp(join(dir(), "tree-")), "mlruns");
    const store = new FileStore(root, { searchIndex: { racyMs: 0, file: null } });
    const { runId } = (await store.createRun({ experimentId: "0" })).info;
    // 40 tags of 7,000 characters: what reading the run would read.
    const tags = Object.fromEntries(
      Array.from({ length: 40 }, (_, i) => [`t${i}`, "x".repeat(7000)]),
    );
    await store.logBatch(runId, {
      tags: { ...tags, note: "long" },
      metrics: [{ key: "m", value: 1, timestamp: T, step: 1 }],
    });
    await store.searchRuns({ experimentIds: ["0"] });
    const held = await measuredLatest(store, runId, "m");
    expect(held.latest?.value).toBe(1);
    expect(held.read).toBeLessThan((40 * 7000) / 4);
    // Another process changes the run: its stamp no longer holds, the run is read again.
    const other = new FileStore(root);
    await other.logBatch(runId, {
      tags: { note: "short" },
      metrics: [{ key: "m", value: 2, timestamp: T, step: 2 }],
    });
    const run = await store.getRun(runId);
    expect(run.data.tags.note).toBe("short");
    expect(run.data.metrics.m?.value).toBe(2);
    // What getRun hands out is a copy: changing it changes nothing held.
    run.data.tags.note = "changed";
    await store.searchRuns({ experimentIds: ["0"] });
    expect((await store.getRun(runId)).data.tags.note).toBe("short");
  });
});
