/**
 * The one reader of metric lines (metric-read.ts): the common line is parsed from the bytes, with
 * the value `Number()` gives its text (exact-decimal.ts); every other line, valid or not, gets the
 * codec's point or message (metric-lines.ts), so each reader reads what it read before.
 */
import { closeSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { decimalToDouble } from "../src/exact-decimal.ts";
import { pyFloatRepr } from "../src/py-format.ts";
import { parseMetricLine } from "../src/store/file/metric-lines.ts";
import { readPoints } from "../src/store/file/metric-read.ts";
import { tempFolder } from "./helpers/temp-folder.ts";

const dir = tempFolder("mlruns-metric-read-");

/** A deterministic stream of numbers in [0, 1) (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every line through `readPoints`, as it hands them out. */
function readAll(lines: string[]): { points: ReturnType<typeof parseMetricLine>[]; bytes: number } {
  const path = join(dir(), "metric");
  const text = `${lines.join("\n")}\n`;
  writeFileSync(path, text);
  const points: ReturnType<typeof parseMetricLine>[] = [];
  let bytes = 0;
  const fd = openSync(path, "r");
  try {
    const end = readPoints(fd, 0, Buffer.byteLength(text), "k", (point, size) => {
      points.push(point);
      bytes += size;
    });
    expect(end).toBe(Buffer.byteLength(text));
  } finally {
    closeSync(fd);
  }
  return { points, bytes };
}

describe("readPoints", () => {
  it("reads every double Python's repr writes as exactly that double", () => {
    const next = random(1);
    const words = new Uint32Array(2);
    const bits = new Float64Array(words.buffer);
    const values: number[] = [];
    for (let i = 0; i < 100_000; i++) {
      words[0] = next() * 2 ** 32;
      words[1] = next() * 2 ** 32;
      const any = bits[0] as number;
      // Any bit pattern (huge, tiny, subnormal, NaN), and values a loss or a rate takes.
      values.push(i % 2 === 0 ? any : (next() - 0.3) * 10 ** Math.floor(next() * 24 - 12));
    }
    const lines = values.map((v, i) => `${1_700_000_000_000 + i} ${pyFloatRepr(v)} ${i}`);
    const { points } = readAll(lines);
    expect(points).toHaveLength(values.length);
    points.forEach((point, i) => {
      expect(typeof point === "string" ? point : Object.is(point.value, values[i])).toBe(true);
    });
  });

  it("gives the double Number() gives for decimals of up to 17 digits, and the neighbours of halfway points", () => {
    const next = random(2);
    const digits = (n: number) => Array.from({ length: n }, () => Math.floor(next() * 10)).join("");
    const texts = ["9007199254740993", "9007199254740993.0", "0.1", "5e-324", "1e22", "1e23"];
    for (let i = 0; i < 100_000; i++) {
      const sign = next() < 0.2 ? "-" : "";
      const kind = i % 3;
      if (kind === 0) texts.push(`${sign}${digits(1 + Math.floor(next() * 3))}.${digits(14)}`);
      else if (kind === 1)
        texts.push(`${sign}${digits(1)}.${digits(16)}e-${Math.floor(next() * 9)}`);
      else texts.push(`${sign}0.${"0".repeat(Math.floor(next() * 5))}${digits(17)}`);
    }
    const { points } = readAll(texts.map((t, i) => `${i} ${t} ${i}`));
    points.forEach((point, i) => {
      expect(typeof point === "string" ? point : point.value).toBe(Number(texts[i]));
    });
  });

  it("leaves halfway cases and values out of its range to Number()", () => {
    // 2^53 + 1 is halfway between two doubles; a product past 10^22 is not exact.
    expect(decimalToDouble(900719925, 4740993, 7, 0)).toBeUndefined();
    expect(decimalToDouble(1, 0, 0, 23)).toBeUndefined();
    expect(decimalToDouble(1, 0, 0, -23)).toBeUndefined();
    expect(decimalToDouble(123456789, 12345678, 8, -16)).toBe(Number("1.2345678912345678"));
  });

  it("gives Number()'s double for decimals a hair either side of the midpoint of two doubles", () => {
    // The hard cases for a fast path: 15 to 17 digits just below, at and above the exact midpoint
    // between a double and the next one, computed exactly with BigInt.
    const next = random(3);
    const float = new Float64Array(1);
    const word = new BigUint64Array(float.buffer);
    let answered = 0;
    for (let i = 0; i < 20_000; i++) {
      float[0] = (next() + 1e-4) * 10 ** Math.floor(next() * 30 - 15);
      const x = float[0] as number;
      const bits = word[0] as bigint;
      const mantissa = (bits & ((1n << 52n) - 1n)) | (1n << 52n);
      const e2 = Number((bits >> 52n) & 0x7ffn) - 1076; // midpoint = (2m + 1) * 2^e2
      const num = (2n * mantissa + 1n) << BigInt(Math.max(e2, 0));
      const den = 1n << BigInt(Math.max(-e2, 0));
      for (const digits of [15, 16, 17]) {
        let k = Math.floor(Math.log10(x)) - digits + 1; // midpoint ~ q * 10^k, q of `digits` digits
        const scaled = (at: number) =>
          at >= 0 ? num / (den * 10n ** BigInt(at)) : (num * 10n ** BigInt(-at)) / den;
        while (scaled(k) >= 10n ** BigInt(digits)) k++;
        while (scaled(k) < 10n ** BigInt(digits - 1)) k--;
        for (const q of [scaled(k) - 1n, scaled(k), scaled(k) + 1n]) {
          const text = q.toString();
          if (text.length !== digits) continue;
          const hi = Number(text.slice(0, 9));
          const got = decimalToDouble(hi, Number(text.slice(9) || 0), digits - 9, k);
          if (got === undefined) continue;
          answered++;
          expect(got, `${text}e${k}`).toBe(Number(`${text}e${k}`));
        }
      }
    }
    expect(answered).toBeGreaterThan(50_000);
  });

  it("reads any other line as the codec does: the same point, or the same message", () => {
    const lines = [
      "1 2.5",
      "1 2.5 3 train abc123",
      "+1 2.5 3",
      "1 +2.5 3",
      "1 2.5 3\r",
      "1  2.5 3",
      "1 nan 3",
      "1 -Infinity 3",
      "1 1e+-5 3",
      "1 1e-+5 3",
      "1 1e 3",
      "1 . 3",
      "1 5. 3",
      "1 .5 3",
      "1 1..2 3",
      "1 1_0 3",
      "1 0.1 3 é",
      "12345678901234567 1.5 -3",
      "1 1.5 -",
      "",
      "x 1 2",
      "1 1.50000000000000000001 2",
      "1 1e0005 2",
      "1 -0.0 2",
    ];
    const { points, bytes } = readAll(lines);
    expect(bytes).toBe(Buffer.byteLength(`${lines.join("\n")}\n`));
    expect(points).toEqual(lines.map((line) => parseMetricLine("k", line)));
    expect(Object.is((points.at(-1) as { value: number }).value, -0)).toBe(true);
  });

  it("refuses a line that is not UTF-8, as MLflow does", () => {
    const path = join(dir(), "latin1");
    writeFileSync(
      path,
      Buffer.concat([Buffer.from("1 2 3\n1 2 3 caf"), Buffer.from([0xe9, 0x0a])]),
    );
    const points: unknown[] = [];
    const fd = openSync(path, "r");
    try {
      readPoints(fd, 0, 17, "k", (point) => points.push(point));
    } finally {
      closeSync(fd);
    }
    expect(points).toEqual([
      { key: "k", timestamp: 1, value: 2, step: 3 },
      "not valid UTF-8 (MLflow cannot read it either)",
    ]);
  });
});
