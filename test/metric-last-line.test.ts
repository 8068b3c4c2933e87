/**
 * A metric file's last line without its newline (last-line.ts), as every reader of a file's end
 * sees it: a young one is a line being written and no point in any of them; an old one is a
 * point a crash left, in all of them, as MLflow's FileStore reads it.
 */
import { readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Metric } from "../src/entities.ts";
import { SUMMARY_FROM_BYTES } from "../src/store/file/history-summary.ts";
import { FileStore } from "../src/store/file/index.ts";
import { tempFolder } from "./helpers/temp-folder.ts";

const dir = tempFolder("mlruns-last-line-", { cache: true });
const T = 1_700_000_000_000;

async function runWith(name: string, text: string) {
  const store = new FileStore(join(dir(), name));
  const { runId } = (await store.createRun({ experimentId: "0" })).info;
  const file = join(dir(), name, "0", runId, "metrics", "loss");
  writeFileSync(file, text);
  return { store, runId, file };
}

const ago = (file: string, ms: number) => {
  const then = new Date(Date.now() - ms);
  utimesSync(file, then, then);
};

/** What each reader of the file's end answers: values of the history, page, sample; latest. */
async function readers(store: FileStore, runId: string) {
  const values = (points: readonly Metric[]) => points.map((p) => p.value);
  return {
    history: values(await store.getMetricHistory(runId, "loss")),
    page: values((await store.getMetricHistoryPage(runId, "loss", { maxResults: 100 })).metrics),
    sampled: values(await store.getMetricHistorySampled([runId], "loss", { maxPoints: 100 })),
    latest: (await store.getRun(runId)).data.metrics.loss?.value,
  };
}

describe("a metric file's last line without its newline", { timeout: 60_000 }, () => {
  it("being written (changed just now) is in no reader: no half value such as `0.` read as 0", async () => {
    // `${T + 2} 0.75 2\n` seen half written.
    const { store, runId } = await runWith("young", `${T} 0.5 0\n${T + 1} 0.25 1\n${T + 2} 0.`);
    expect(await readers(store, runId)).toEqual({
      history: [0.5, 0.25],
      page: [0.5, 0.25],
      sampled: [0.5, 0.25],
      latest: 0.25,
    });
  });

  it("being written as the file's first line is no point and no broken file", async () => {
    const { store, runId } = await runWith("first", `${T} 0.`);
    expect(await store.getMetricHistory(runId, "loss")).toEqual([]);
    expect(await store.getMetricHistorySampled([runId], "loss", { maxPoints: 10 })).toEqual([]);
  });

  it("left by a crash (changed 3 s ago or more) is a point in every reader, as in MLflow's", async () => {
    // The crash cut only the newline.
    const { store, runId, file } = await runWith(
      "old",
      `${T} 0.5 0\n${T + 1} 0.25 1\n${T + 2} 0.75 2`,
    );
    ago(file, 3_000);
    expect(await readers(store, runId)).toEqual({
      history: [0.5, 0.25, 0.75],
      page: [0.5, 0.25, 0.75],
      sampled: [0.5, 0.25, 0.75],
      latest: 0.75,
    });
  });

  it("left by a crash at the end of a long file (sampled from its summary) is in the sample", async () => {
    let text = "";
    for (let step = 0; text.length <= SUMMARY_FROM_BYTES; step++) text += `${T + step} 1 ${step}\n`;
    const { store, runId, file } = await runWith("long", `${text}${T + 1e6} 9.5 1000000`);
    const sample = async () =>
      (await store.getMetricHistorySampled([runId], "loss", { maxPoints: 50 })).at(-1);
    expect((await sample())?.value).toBe(1);
    ago(file, 60_000);
    expect(await sample()).toMatchObject({ value: 9.5, step: 1_000_000 });
  });

  it("counted as a point by readers is ended by the next write, not joined to it", async () => {
    const { store, runId, file } = await runWith("writer", `${T} 0.5 0\n${T + 1} 0.4`);
    ago(file, 4_000);
    expect((await store.getRun(runId)).data.metrics.loss?.value).toBe(0.4);
    await store.logBatch(runId, {
      metrics: [{ key: "loss", value: 1, timestamp: T + 2, step: 2 }],
    });
    expect(readFileSync(file, "utf8")).toBe(`${T} 0.5 0\n${T + 1} 0.4\n${T + 2} 1.0 2\n`);
    expect((await store.getMetricHistory(runId, "loss")).map((m) => m.value)).toEqual([
      0.5, 0.4, 1,
    ]);
  });
});
