/** Metric files: duplicate points refused in bounded memory, wherever they come from. */
import { appendFileSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Metric } from "../src/entities.ts";
import { MetricFiles } from "../src/store/file/metric-files.ts";

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "mlruns-metric-files-"));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

const point = (i: number, value = i / 7): Metric => ({
  key: "m",
  value,
  timestamp: 1_000 + i,
  step: i,
});
const range = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => point(from + i));

function lines(file: string): string[] {
  return readFileSync(file, "utf8").split("\n").slice(0, -1);
}

describe("MetricFiles", () => {
  it("refuses points sent again below the file's latest, in a file of many stretches", async () => {
    const dir = await tempDir();
    const file = join(dir, "m");
    const files = new MetricFiles();
    // About 5 MiB: several stretches, so a point sent again is looked up in the right one.
    for (let from = 0; from < 200_000; from += 10_000) {
      expect(files.append(file, "m", dir, range(from, from + 10_000))).toBe(10_000);
    }
    expect(files.append(file, "m", dir, range(50_000, 50_100))).toBe(0);
    expect(files.append(file, "m", dir, [point(7), point(150_000), point(199_999)])).toBe(0);
    // New points below the latest are written, and only once.
    const late = [point(3, 0.5), point(3, 0.5), point(120_000, -1)];
    expect(files.append(file, "m", dir, late)).toBe(2);
    expect(files.append(file, "m", dir, late)).toBe(0);
    const written = lines(file);
    expect(written).toHaveLength(200_002);
    expect(new Set(written).size).toBe(200_002);
  });

  it("compares a batch's points with each other, above and below the file's latest", async () => {
    const dir = await tempDir();
    const file = join(dir, "m");
    const files = new MetricFiles();
    files.append(file, "m", dir, [point(10)]);
    // Above the latest: 11 twice; below: 5 twice; and 11 again after the batch went below.
    const batch = [point(11), point(11), point(5), point(5), point(11), point(12), point(5)];
    expect(files.append(file, "m", dir, batch)).toBe(3);
    expect(lines(file)).toEqual([point(10), point(11), point(5), point(12)].map(lineOf));
    // The same (timestamp, step) with another value is another point; -0.0 is 0.0.
    expect(files.append(file, "m", dir, [point(12, 1), point(12, 2), point(12, 1)])).toBe(2);
    expect(files.append(file, "m", dir, [point(13, 0), point(13, -0)])).toBe(1);
  });

  it("refuses what another writer appended meanwhile, also a line MLflow wrote", async () => {
    const dir = await tempDir();
    const file = join(dir, "m");
    const first = new MetricFiles();
    const second = new MetricFiles();
    first.append(file, "m", dir, range(0, 100));
    expect(second.append(file, "m", dir, range(50, 150))).toBe(50);
    expect(first.append(file, "m", dir, range(0, 200))).toBe(50);
    // Python's spelling of the same value (1e-07 as 1E-7, inf as Infinity) is the same point.
    appendFileSync(file, "5000 1E-7 300\n5001 Infinity 301\n");
    const again = [
      { key: "m", value: 1e-7, timestamp: 5000, step: 300 },
      { key: "m", value: Number.POSITIVE_INFINITY, timestamp: 5001, step: 301 },
    ];
    expect(first.append(file, "m", dir, again)).toBe(0);
    expect(new MetricFiles().append(file, "m", dir, [...again, ...range(0, 200)])).toBe(0);
    expect(lines(file)).toHaveLength(202);
  });

  it("keeps a torn last line apart from the next points, and still finds points after it", async () => {
    const dir = await tempDir();
    const file = join(dir, "m");
    const files = new MetricFiles();
    files.append(file, "m", dir, range(0, 10));
    appendFileSync(file, "1020 0.5"); // a writer killed mid-line, long ago
    const { utimesSync } = await import("node:fs");
    utimesSync(file, new Date(0), new Date(0));
    expect(new MetricFiles().append(file, "m", dir, range(5, 30))).toBe(20);
    expect(lines(file)[10]).toBe("1020 0.5");
    expect(new MetricFiles().append(file, "m", dir, range(0, 30))).toBe(0);
  });
});

function lineOf(metric: Metric): string {
  return `${metric.timestamp} ${String(metric.value)} ${metric.step}`;
}
