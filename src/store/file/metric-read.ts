/**
 * Reading the points of a metric file: every reader of histories goes through `readPoints`.
 * The common line, `<timestamp> <value> <step>\n` in plain decimals, is parsed from the bytes
 * without making a string (exact-decimal.ts gives the value `Number()` would); any other line,
 * valid or not, is decoded and left to the codec (metric-lines.ts), so both read the same
 * points and refuse the same lines.
 */
import { isUtf8 } from "node:buffer";
import { readSync } from "node:fs";
import type { Metric } from "../../entities.ts";
import { decimalToDouble } from "../../exact-decimal.ts";
import { parseMetricLine } from "./metric-lines.ts";

/**
 * Bytes read at a time: small, so the buffer is reused and nothing piles up for a full GC.
 */
const READ_BYTES = 1 << 16;
/** The buffer every read reuses: `readPoints` is synchronous and done with it before it returns. */
let readBuffer: Buffer | undefined;

// The fields of the line `plainLine` read last.
let timestamp = 0;
let value = 0;
let step = 0;

export const NOT_UTF8 = "not valid UTF-8 (MLflow cannot read it either)";

const SPACE = 0x20;
const NEWLINE = 0x0a;
const DIGIT = 0x30;
const MINUS = 0x2d;

/**
 * An integer of 1 to 15 digits, maybe negative, from byte `i` up to `stop` (a space or newline);
 * sets `integer` and returns where `stop` is, or -1 for anything else.
 */
let integer = 0;
function readInteger(b: Buffer, i: number, stop: number): number {
  const negative = b[i] === MINUS;
  let at = negative ? i + 1 : i;
  const from = at;
  let n = 0;
  for (let c = b[at] as number; (c - DIGIT) >>> 0 <= 9; c = b[++at] as number)
    n = n * 10 + c - DIGIT;
  if (at === from || at - from > 15 || b[at] !== stop) return -1;
  integer = negative ? -n : n;
  return at;
}

/**
 * The common line starting at byte `i` (all of it before byte `last`, a newline): sets
 * `timestamp`, `value`, `step` and returns where the next line starts, or -1 when the line is
 * anything else.
 */
function plainLine(b: Buffer, i: number): number {
  let at = readInteger(b, i, SPACE);
  if (at === -1) return -1;
  timestamp = integer;
  // The value: [-]digits[.digits][e[+-]digits], of at most 17 significant digits.
  at++;
  const negative = b[at] === MINUS;
  if (negative) at++;
  let hi = 0;
  let lo = 0;
  let loDigits = 0;
  let significant = 0;
  let digits = 0;
  let fraction = 0;
  let dot = false;
  let c = b[at] as number;
  for (; ; c = b[++at] as number) {
    if ((c - DIGIT) >>> 0 <= 9) {
      digits++;
      if (dot) fraction++;
      if (significant === 0 && c === DIGIT) continue;
      if (++significant <= 9) hi = hi * 10 + c - DIGIT;
      else {
        lo = lo * 10 + c - DIGIT;
        loDigits++;
      }
    } else if (c === 0x2e && !dot) dot = true;
    else break;
  }
  if (digits === 0 || significant > 17) return -1;
  let exponent = -fraction;
  if (c === 0x65 || c === 0x45) {
    // e or E, one sign or none, digits
    let from = at + 1;
    if (b[from] === 0x2b && b[++from] === MINUS) return -1;
    at = readInteger(b, from, SPACE);
    if (at === -1) return -1;
    exponent += integer;
  } else if (c !== SPACE) return -1;
  const parsed = decimalToDouble(hi, lo, loDigits, exponent);
  if (parsed === undefined) return -1;
  value = negative ? -parsed : parsed;
  at = readInteger(b, at + 1, NEWLINE);
  if (at === -1) return -1;
  step = integer;
  return at + 1;
}

/** The codec's point or message for one line's bytes (without the newline). */
export function parseLine(key: string, bytes: Buffer): Metric | string {
  if (!isUtf8(bytes)) return NOT_UTF8;
  return parseMetricLine(key, bytes.toString("utf8"));
}

/** Whether `each` said stop (false) at the last line `eachLine` gave it. */
let halted = false;

/**
 * Calls `each` for the lines of `bytes` from `from` to the newline at `last`, as `readPoints`
 * does; returns where the last line it gave ends (sets `halted` when `each` said stop). Every
 * line given to `plainLine` ends in a newline inside `bytes`: its scanners stop only at a
 * non-digit, and past the end of a buffer they would read `undefined` as a digit.
 */
function eachLine(
  bytes: Buffer,
  from: number,
  last: number,
  key: string,
  each: (point: Metric | string, bytes: number) => unknown,
): number {
  let at = from;
  halted = false;
  while (at <= last) {
    let next = plainLine(bytes, at);
    let point: Metric | string;
    if (next !== -1) point = { key, value, timestamp, step };
    else {
      next = bytes.indexOf(NEWLINE, at) + 1;
      point = parseLine(key, bytes.subarray(at, next - 1));
    }
    halted = each(point, next - at) === false;
    at = next;
    if (halted) break;
  }
  return at;
}

/**
 * Calls `each` for every whole line between byte `start` and `end` of the file, with its point
 * or why it holds none (the codec's message) and its length in bytes, newline included, until
 * `each` returns false; returns where the last line it was given ends. A last line without its
 * newline is left to the caller (last-line.ts). Reads 64 KiB at a time into one shared buffer,
 * and a buffer of its own for a line longer than that.
 */
export function readPoints(
  fd: number,
  start: number,
  end: number,
  key: string,
  each: (point: Metric | string, bytes: number) => unknown,
): number {
  readBuffer ??= Buffer.allocUnsafe(READ_BYTES);
  let buffer = readBuffer;
  let position = start;
  while (position < end) {
    const bytesRead = readSync(fd, buffer, 0, Math.min(buffer.length, end - position), position);
    const last = bytesRead === 0 ? -1 : buffer.lastIndexOf(NEWLINE, bytesRead - 1);
    if (last === -1) {
      // A full buffer without a newline holds the start of a longer line: read it whole.
      if (bytesRead === buffer.length && position + bytesRead < end) {
        buffer = Buffer.allocUnsafe(buffer.length * 2);
        continue;
      }
      break; // the rest is a last line without its newline
    }
    position += eachLine(buffer, 0, last, key, each);
    if (halted) break;
  }
  return position;
}

/** Calls `each` for every line of a whole file's `bytes`, a last one without its newline too. */
export function eachPoint(
  bytes: Buffer,
  key: string,
  each: (point: Metric | string, bytes: number) => unknown,
): void {
  const last = bytes.lastIndexOf(NEWLINE);
  eachLine(bytes, 0, last, key, each);
  if (!halted && last + 1 < bytes.length) {
    each(parseLine(key, bytes.subarray(last + 1)), bytes.length - last - 1);
  }
}
