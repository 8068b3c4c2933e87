/**
 * A long metric file is sampled from its summary (history-summary.ts): the same extremes as
 * sampling every point, and a summary that no longer describes the file is never trusted.
 */
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Metric } from "../src/entities.ts";
import { sampleHistory } from "../src/metric-sampling.ts";
import { cacheFileOf, SUMMARY_FROM_BYTES } from "../src/store/file/history-summary.ts";
import { FileStore } from "../src/store/file/index.ts";
import { tempFolder } from "./helpers/temp-folder.ts";

const dir = tempFolder("mlruns-history-summary-", { cache: true });

const POINTS = 160_000;
const T = 1_700_000_000_000;

/** Metric lines for steps [from, to), a gentle wave with a spike and a dip where asked. */
function lines(from: number, to: number, extremes: Record<number, number> = {}): string {
  let text = "";
  for (let step = from; step < to; step++) {
    const value = extremes[step] ?? Math.sin(step / 1000);
    text += `${T + step} ${value} ${step}\n`;
  }
  return text;
}

async function longRun(name: string, text: string) {
  const store = new FileStore(join(dir(), name));
  const { runId } = (await store.createRun({ experimentId: "0" })).info;
  const file = join(dir(), name, "0", runId, "metrics", "loss");
  writeFileSync(file, text);
  expect(text.length).toBeGreaterThan(SUMMARY_FROM_BYTES);
  return { store, runId, file };
}

const values = (points: readonly Metric[]) => points.map((p) => p.value);

// Each test reads files of 160,000 points a few times: seconds on a busy machine.
describe("sampling a long metric file from its summary", { timeout: 120_000 }, () => {
  it("keeps the ends, each spike and dip, and the step range, as sampling every point does", async () => {
    const spikes = { 1: 50, 77777: 99, 77778: -99, 159998: -42 };
    const { store, runId, file } = await longRun("spikes", lines(0, POINTS, spikes));
    const history = await store.getMetricHistory(runId, "loss");
    for (const options of [
      { maxPoints: 2500 },
      { maxPoints: 320 },
      { maxPoints: 3 },
      { maxPoints: 400, startStep: 77_700, endStep: 150_000 },
      { maxPoints: 1000, startStep: 77_000, endStep: 77_900 },
    ]) {
      const sampled = await store.getMetricHistorySampled([runId], "loss", options);
      const label = JSON.stringify(options);
      expect(sampled.length, label).toBeLessThanOrEqual(options.maxPoints);
      const whole = sampleHistory(history, options);
      expect(sampled[0]?.step, label).toBe(whole[0]?.step);
      expect(sampled.at(-1)?.step, label).toBe(whole.at(-1)?.step);
      const steps = sampled.map((m) => m.step);
      expect(steps, label).toEqual([...steps].sort((a, b) => a - b));
      if (options.maxPoints >= 4) {
        const from = options.startStep ?? 0;
        const to = options.endStep ?? POINTS;
        const inRange = Object.entries(spikes).filter(([s]) => +s >= from && +s <= to);
        expect(values(sampled), label).toEqual(
          expect.arrayContaining(inRange.map(([, value]) => value)),
        );
        expect(Math.min(...steps), label).toBeGreaterThanOrEqual(from);
        expect(Math.max(...steps), label).toBeLessThanOrEqual(to);
      }
      for (const point of sampled) {
        expect(point, label).toEqual({
          key: "loss",
          runId,
          step: point.step,
          timestamp: T + point.step,
          value: spikes[point.step as keyof typeof spikes] ?? Math.sin(point.step / 1000),
        });
      }
    }
    expect(existsSync(cacheFileOf(file))).toBe(true);
  });

  it("reads what was appended since, and never trusts a summary of another or damaged file", async () => {
    const { store, runId, file } = await longRun("changes", lines(0, POINTS));
    const sample = async () =>
      values(await store.getMetricHistorySampled([runId], "loss", { maxPoints: 500 }));
    expect(await sample()).not.toContain(77);
    appendFileSync(file, lines(POINTS, POINTS + 1000, { [POINTS + 500]: 77 }));
    expect(await sample()).toContain(77);

    // The same size, other values, another inode: the summary is built again.
    const replaced = `${file}.new`;
    writeFileSync(
      replaced,
      lines(0, POINTS + 1000, { 1234: 66 }).replace(`${T + 9} `, `${T + 8} `),
    );
    renameSync(replaced, file);
    const after = await sample();
    expect(after).toContain(66);
    expect(after).not.toContain(77);

    // A damaged summary is noticed by its digest and replaced.
    const cache = cacheFileOf(file);
    const bytes = readFileSync(cache);
    bytes[bytes.length - 100] = (bytes[bytes.length - 100] ?? 0) ^ 0xff;
    writeFileSync(cache, bytes);
    expect(await sample()).toEqual(after);
  });

  it("reads every form of line the codec reads, as it reads them, and rejects what it rejects", async () => {
    // Plain lines take a short way when the summary is built: each other form is a spike here,
    // so a value read otherwise than the codec reads it would show.
    const forms: Record<number, [string, number]> = {
      5000: ["inf {step}", Number.POSITIVE_INFINITY],
      25000: ["-Infinity {step}", Number.NEGATIVE_INFINITY],
      45000: ["+.5e2 {step}", 50],
      65000: ["-2.5E+2 {step}", -250],
      85000: ["7. {step}", 7],
      105000: ["12.5 {step} train 1a2b3c", 12.5], // a dataset's name and digest
      125000: ["-13.5 {step}\r", -13.5], // a Windows line end
    };
    let text = lines(0, POINTS);
    for (const [step, [form]] of Object.entries(forms)) {
      const line = `${T + +step} ${Math.sin(+step / 1000)} ${step}\n`;
      text = text.replace(line, `${T + +step} ${form.replace("{step}", step)}\n`);
    }
    text = text.replace(`${T + 1} ${Math.sin(1 / 1000)} 1\n`, `${T + 1} nan 1\n`);
    const { store, runId, file } = await longRun("forms", text);
    const sampled = await store.getMetricHistorySampled([runId], "loss", { maxPoints: 320 });
    expect(values(sampled)).toEqual(
      expect.arrayContaining(Object.values(forms).map(([, value]) => value)),
    );
    expect(values(sampled)).not.toContain(16);
    // Number() reads 0x10 as 16; the codec (Python's float()) rejects it.
    appendFileSync(file, `${T + POINTS} 0x10 ${POINTS}\n`);
    await expect(
      store.getMetricHistorySampled([runId], "loss", { maxPoints: 320 }),
    ).rejects.toThrow(/0x10/);
  });

  it("samples a file out of step order from its every point, and a malformed line throws", async () => {
    const text = lines(0, POINTS, { 500: 88 });
    const { store, runId, file } = await longRun("disorder", `${text}${T} -55 3\n`);
    const sampled = await store.getMetricHistorySampled([runId], "loss", { maxPoints: 200 });
    expect(values(sampled)).toEqual(expect.arrayContaining([88, -55]));
    const steps = sampled.map((m) => m.step);
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    appendFileSync(file, "not a line\n");
    await expect(
      store.getMetricHistorySampled([runId], "loss", { maxPoints: 200 }),
    ).rejects.toThrow(/loss/);
  });
});
