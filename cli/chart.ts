/**
 * Line charts in the terminal: braille dots (2×4 per character) or block columns (▁…█).
 * Pure: series of points in, lines of text out. Each series is first reduced to what one
 * column of dots can show (its lowest and highest value, and where the line enters and leaves
 * the column), so a million points cost one pass and the drawing costs the chart's size.
 * Non-finite values are left out.
 */
import { formatNumber } from "./output.ts";

export interface Point {
  x: number;
  y: number;
}

export interface ChartOptions {
  /** Plot columns, in characters. */
  width?: number;
  /** Plot rows, in characters. */
  height?: number;
  /** `blocks` draws one series only. */
  style?: "braille" | "blocks";
  /** Labels of the x axis (numbers by default); `span` is the range shown. */
  formatX?: (x: number, span: number) => string;
  /** Colours a run of characters drawn by series `index` (none by default). */
  paint?: (index: number, text: string) => string;
}

/** One column of a series, reduced. */
interface Column {
  min: number;
  max: number;
  /** The value at the column's smallest and largest x (the line enters and leaves there). */
  entry: number;
  exit: number;
  entryX: number;
  exitX: number;
}

const BRAILLE_BASE = 0x2800;
/** Bit of the dot at [column][row] inside one braille cell. */
const DOT = [
  [0x01, 0x02, 0x04, 0x40],
  [0x08, 0x10, 0x20, 0x80],
];
const BLOCKS = [" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"];

type Range = [number, number];

function extent(series: readonly (readonly Point[])[], of: "x" | "y"): Range {
  let lo = Infinity;
  let hi = -Infinity;
  for (const points of series) {
    for (const p of points) {
      if (p[of] < lo) lo = p[of];
      if (p[of] > hi) hi = p[of];
    }
  }
  return [lo, hi];
}

/** A y range with room when every value is the same. */
function padded([lo, hi]: Range): Range {
  if (lo !== hi) return [lo, hi];
  const pad = lo === 0 ? 1 : Math.abs(lo) * 0.05;
  return [lo - pad, hi + pad];
}

/** The points of one series bucketed into `count` columns over the x range. */
function columns(points: readonly Point[], count: number, xr: Range): (Column | undefined)[] {
  const out = new Array<Column | undefined>(count);
  const span = xr[1] - xr[0] || 1;
  for (const { x, y } of points) {
    const i = Math.round(((x - xr[0]) / span) * (count - 1));
    const c = out[i];
    if (c === undefined) {
      out[i] = { min: y, max: y, entry: y, exit: y, entryX: x, exitX: x };
      continue;
    }
    if (y < c.min) c.min = y;
    if (y > c.max) c.max = y;
    if (x < c.entryX) {
      c.entry = y;
      c.entryX = x;
    }
    if (x >= c.exitX) {
      c.exit = y;
      c.exitX = x;
    }
  }
  return out;
}

/** The dots of one series: a bit mask per character cell, `w` × `h` cells. */
function brailleCells(points: readonly Point[], w: number, h: number, xr: Range, yr: Range) {
  const cols = w * 2;
  const rows = h * 4;
  const cells = new Uint8Array(w * h);
  const set = (px: number, py: number) => {
    if (px < 0 || py < 0 || px >= cols || py >= rows) return;
    const cell = Math.floor(py / 4) * w + Math.floor(px / 2);
    cells[cell] = (cells[cell] ?? 0) | (DOT[px % 2]?.[py % 4] ?? 0);
  };
  const toRow = (y: number) => Math.round((1 - (y - yr[0]) / (yr[1] - yr[0])) * (rows - 1));
  const line = (x0: number, y0: number, x1: number, y1: number) => {
    // Bresenham, so the line has no gaps.
    const dx = Math.abs(x1 - x0);
    const dy = -Math.abs(y1 - y0);
    const sx = x0 < x1 ? 1 : -1;
    const sy = y0 < y1 ? 1 : -1;
    let err = dx + dy;
    for (;;) {
      set(x0, y0);
      if (x0 === x1 && y0 === y1) break;
      const e2 = 2 * err;
      if (e2 >= dy) {
        err += dy;
        x0 += sx;
      }
      if (e2 <= dx) {
        err += dx;
        y0 += sy;
      }
    }
  };
  let previous: [number, number] | undefined;
  columns(points, cols, xr).forEach((c, px) => {
    if (c === undefined) return;
    if (previous) line(previous[0], previous[1], px, toRow(c.entry));
    line(px, toRow(c.min), px, toRow(c.max));
    previous = [px, toRow(c.exit)];
  });
  return cells;
}

function braille(
  series: readonly (readonly Point[])[],
  w: number,
  h: number,
  xr: Range,
  yr: Range,
  paint: ChartOptions["paint"],
): string[] {
  const layers = series.map((points) => brailleCells(points, w, h, xr, yr));
  const lines: string[] = [];
  for (let row = 0; row < h; row++) {
    let text = "";
    let run = "";
    let runOwner = -1;
    for (let col = 0; col < w; col++) {
      const cell = row * w + col;
      let bits = 0;
      let owner = -1;
      let most = 0;
      layers.forEach((layer, index) => {
        const own = layer[cell] ?? 0;
        bits |= own;
        const count = popcount(own);
        if (count > 0 && count >= most) {
          most = count;
          owner = index;
        }
      });
      const char = String.fromCodePoint(BRAILLE_BASE + bits);
      if (owner !== runOwner) {
        text += runOwner >= 0 && paint ? paint(runOwner, run) : run;
        run = "";
        runOwner = owner;
      }
      run += char;
    }
    lines.push(text + (runOwner >= 0 && paint ? paint(runOwner, run) : run));
  }
  return lines;
}

function popcount(bits: number): number {
  let n = 0;
  for (let b = bits; b > 0; b >>= 1) n += b & 1;
  return n;
}

function blocks(points: readonly Point[], w: number, h: number, xr: Range, yr: Range) {
  // The value where the line leaves each column; columns without a point repeat the one before.
  let last: number | undefined;
  const heights = columns(points, w, xr).map((c) => {
    if (c !== undefined) last = c.exit;
    if (last === undefined) return 0;
    return Math.max(1, Math.round(((last - yr[0]) / (yr[1] - yr[0])) * h * 8));
  });
  const lines: string[] = [];
  for (let row = h - 1; row >= 0; row--) {
    lines.push(
      heights.map((eighths) => BLOCKS[Math.max(0, Math.min(8, eighths - row * 8))] ?? " ").join(""),
    );
  }
  return lines;
}

/** The chart with a y axis (max at the top, min at the bottom) and the x range below. */
export function chart(input: readonly (readonly Point[])[], options: ChartOptions = {}): string[] {
  const series = input.map((points) =>
    points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)),
  );
  if (series.every((points) => points.length === 0)) return ["(no finite values to chart)"];
  const w = Math.max(10, options.width ?? 60);
  const h = Math.max(2, options.height ?? 10);
  const xr = extent(series, "x");
  const yr = padded(extent(series, "y"));
  const body =
    options.style === "blocks"
      ? blocks(series[0] ?? [], w, h, xr, yr)
      : braille(series, w, h, xr, yr, options.paint);
  const top = formatNumber(yr[1]);
  const bottom = formatNumber(yr[0]);
  const labelWidth = Math.max(top.length, bottom.length);
  const lines = body.map((row, i) => {
    const label = i === 0 ? top : i === body.length - 1 ? bottom : "";
    return `${label.padStart(labelWidth)} ┤${row}`;
  });
  const formatX = options.formatX ?? ((x: number) => formatNumber(x));
  const xLo = formatX(xr[0], xr[1] - xr[0]);
  const xHi = formatX(xr[1], xr[1] - xr[0]);
  lines.push(`${" ".repeat(labelWidth)} └${"─".repeat(w)}`);
  lines.push(`${" ".repeat(labelWidth + 2)}${xLo}${xHi.padStart(Math.max(1, w - xLo.length))}`);
  return lines;
}
