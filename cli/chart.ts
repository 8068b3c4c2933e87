/**
 * Line charts in the terminal: braille dots (2×4 per character) or block columns (▁…█).
 * Pure: points in, lines of text out. Non-finite values are left out of the chart.
 */
import { formatNumber } from "./output.ts";

export interface ChartOptions {
  /** Plot columns, in characters. */
  width?: number;
  /** Plot rows, in characters. */
  height?: number;
  style?: "braille" | "blocks";
}

export interface Point {
  x: number;
  y: number;
}

const BRAILLE_BASE = 0x2800;
/** Bit of the dot at [column][row] inside one braille cell. */
const DOT = [
  [0x01, 0x02, 0x04, 0x40],
  [0x08, 0x10, 0x20, 0x80],
];
const BLOCKS = [" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"];

function range(values: number[]): [number, number] {
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (lo === hi) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.05;
    lo -= pad;
    hi += pad;
  }
  return [lo, hi];
}

function braille(
  points: Point[],
  w: number,
  h: number,
  xr: [number, number],
  yr: [number, number],
) {
  const cols = w * 2;
  const rows = h * 4;
  const cells = Array.from({ length: h }, () => new Array<number>(w).fill(0));
  const set = (px: number, py: number) => {
    if (px < 0 || py < 0 || px >= cols || py >= rows) return;
    const row = cells[Math.floor(py / 4)] as number[];
    const col = Math.floor(px / 2);
    row[col] = (row[col] ?? 0) | (DOT[px % 2]?.[py % 4] ?? 0);
  };
  const toPx = (p: Point): [number, number] => [
    Math.round(((p.x - xr[0]) / (xr[1] - xr[0] || 1)) * (cols - 1)),
    Math.round((1 - (p.y - yr[0]) / (yr[1] - yr[0])) * (rows - 1)),
  ];
  let previous: [number, number] | undefined;
  for (const point of points) {
    const [x1, y1] = toPx(point);
    if (previous) {
      // Bresenham from the previous point, so the line has no gaps.
      let [x0, y0] = previous;
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
    } else set(x1, y1);
    previous = [x1, y1];
  }
  return cells.map((row) => row.map((bits) => String.fromCodePoint(BRAILLE_BASE + bits)).join(""));
}

function blocks(points: Point[], w: number, h: number, xr: [number, number], yr: [number, number]) {
  // The last value that falls in each column; columns without a point repeat the one before.
  const column = new Array<number | undefined>(w).fill(undefined);
  for (const p of points) {
    const i = Math.round(((p.x - xr[0]) / (xr[1] - xr[0] || 1)) * (w - 1));
    column[i] = p.y;
  }
  let last: number | undefined;
  const heights = column.map((y) => {
    if (y !== undefined) last = y;
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
export function chart(input: readonly Point[], options: ChartOptions = {}): string[] {
  const points = input.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  if (points.length === 0) return ["(no finite values to chart)"];
  const w = Math.max(10, options.width ?? 60);
  const h = Math.max(2, options.height ?? 10);
  const xr = range(points.map((p) => p.x));
  if (points.every((p) => p.x === points[0]?.x)) xr[0] = xr[1] = points[0]?.x ?? 0;
  const yr = range(points.map((p) => p.y));
  const body =
    options.style === "blocks" ? blocks(points, w, h, xr, yr) : braille(points, w, h, xr, yr);
  const top = formatNumber(yr[1]);
  const bottom = formatNumber(yr[0]);
  const labelWidth = Math.max(top.length, bottom.length);
  const lines = body.map((row, i) => {
    const label = i === 0 ? top : i === body.length - 1 ? bottom : "";
    return `${label.padStart(labelWidth)} ┤${row}`;
  });
  const xLo = formatNumber(Math.min(...points.map((p) => p.x)));
  const xHi = formatNumber(Math.max(...points.map((p) => p.x)));
  lines.push(`${" ".repeat(labelWidth)} └${"─".repeat(w)}`);
  lines.push(`${" ".repeat(labelWidth + 2)}${xLo}${xHi.padStart(Math.max(1, w - xLo.length))}`);
  return lines;
}
