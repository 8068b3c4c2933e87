/**
 * One metric of many runs on one uPlot canvas: drag to zoom (on steps, the zoomed range is
 * fetched again at full detail), double-click to reset, hover for every run's value, smoothing
 * with the raw curve drawn faintly behind, log scale, and live updates while runs train.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import { alignedData, fetchHistories, type Point, valueNear, type XAxis } from "../chart-data.ts";
import { colorOf, formatDuration, formatNumber, formatTime } from "../format.ts";
import { useThrottle, useWidth } from "../hooks.ts";
import { useLive, useShown } from "../live.ts";

export interface ChartRun {
  id: string;
  name: string;
}

export interface ChartOptions {
  axis: XAxis;
  log: boolean;
  smoothing: number;
}

const HEIGHT = 240;
const FEW_POINTS = 30;

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";
}

export function Chart(props: { metric: string; runs: ChartRun[]; options: ChartOptions }) {
  const { metric, runs, options } = props;
  const [box, width] = useWidth<HTMLDivElement>();
  const canvasHost = useRef<HTMLDivElement>(null);
  const tip = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const [histories, setHistories] = useState<Map<string, Point[]> | null>(null);
  const [zoom, setZoom] = useState<{ min: number; max: number } | null>(null);
  const [error, setError] = useState<string | undefined>(undefined);
  const [tick, setTick] = useState(0);
  const asked = useRef(0);
  // Names may come after the first draw: the tooltip reads the latest, the plot stays.
  const latestRuns = useRef(runs);
  latestRuns.current = runs;
  const ids = runs.map((r) => r.id);
  const idsKey = ids.join(",");
  const stepZoom = options.axis === "step" ? zoom : null;

  useEffect(() => {
    if (ids.length === 0) return;
    let stale = false;
    asked.current = performance.now();
    fetchHistories(ids, metric, stepZoom).then(
      (h) => {
        if (stale) return;
        setError(undefined);
        setHistories(h);
      },
      (e: Error) => !stale && setError(e.message),
    );
    return () => {
      stale = true;
    };
  }, [idsKey, metric, stepZoom?.min, stepZoom?.max, tick]);

  const refetch = useThrottle(() => setTick((t) => t + 1), 500);
  useShown(ids);
  useLive((change) => {
    if (change.all || change.runs.some((id) => ids.includes(id))) refetch();
  });

  useEffect(() => {
    const host = canvasHost.current;
    if (!host || !histories || width === 0) return;
    const data = alignedData(ids, histories, options);
    const smoothing = options.smoothing > 0;
    const series: uPlot.Series[] = [{}];
    runs.forEach((run, i) => {
      const color = colorOf(i);
      // A run with a few points shows them as dots (one point makes no line).
      const few = (histories.get(run.id)?.length ?? 0) <= FEW_POINTS;
      const points = { show: few, size: 6, fill: color, stroke: color };
      series.push({
        label: run.name || run.id,
        stroke: smoothing ? `${color}40` : color,
        width: smoothing ? 1 : 1.5,
        spanGaps: true,
        points: smoothing ? { show: false } : points,
      });
      if (smoothing) {
        series.push({
          label: run.name || run.id,
          stroke: color,
          width: 1.5,
          spanGaps: true,
          points,
        });
      }
    });
    const axisColor = cssVar("--muted");
    const gridColor = cssVar("--grid");
    const xValues =
      options.axis === "rel"
        ? (_u: uPlot, splits: number[]) => splits.map((s) => formatDuration(s * 1000))
        : undefined;
    const opts: uPlot.Options = {
      width,
      height: HEIGHT,
      series,
      legend: { show: false },
      scales: {
        x: { time: options.axis === "wall" },
        y: options.log ? { distr: 3 } : {},
      },
      axes: [
        {
          stroke: axisColor,
          grid: { stroke: gridColor },
          ticks: { stroke: gridColor },
          ...(xValues ? { values: xValues } : {}),
        },
        { stroke: axisColor, grid: { stroke: gridColor }, ticks: { stroke: gridColor }, size: 60 },
      ],
      cursor: { drag: { x: true, y: false, setScale: false }, points: { show: false } },
      hooks: {
        draw: [
          () => {
            if (asked.current) {
              box.current?.setAttribute(
                "data-draw-ms",
                (performance.now() - asked.current).toFixed(1),
              );
              asked.current = 0;
            }
            box.current?.setAttribute("data-drawn", String(Date.now()));
          },
        ],
        setSelect: [
          (u) => {
            if (u.select.width < 4) return;
            const min = u.posToVal(u.select.left, "x");
            const max = u.posToVal(u.select.left + u.select.width, "x");
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            setZoom({ min, max });
          },
        ],
        setCursor: [(u) => showTip(u, tip.current, latestRuns.current, smoothing, options.axis)],
      },
    };
    plot.current?.destroy();
    const u = new uPlot(opts, data, host);
    plot.current = u;
    if (zoom) u.setScale("x", zoom);
    const reset = () => setZoom(null);
    u.over.addEventListener("dblclick", reset);
    return () => {
      u.over.removeEventListener("dblclick", reset);
    };
  }, [histories, width, options.axis, options.log, options.smoothing, zoom]);

  useEffect(() => () => plot.current?.destroy(), []);
  // A new x axis means another zoom.
  useEffect(() => setZoom(null), [options.axis]);

  const empty = histories && [...histories.values()].every((p) => p.length === 0);
  return (
    <figure class="chart card" ref={box} data-metric={metric} aria-label={`Chart of ${metric}`}>
      <figcaption>
        <strong>{metric}</strong>
        {zoom && (
          <button type="button" class="link" onClick={() => setZoom(null)}>
            Reset zoom
          </button>
        )}
      </figcaption>
      {error && <p class="error">{error}</p>}
      {empty && <p class="muted">No points.</p>}
      <div class="chart-canvas" ref={canvasHost} />
      <div class="chart-tip" ref={tip} hidden />
    </figure>
  );
}

function showTip(
  u: uPlot,
  tip: HTMLDivElement | null,
  runs: ChartRun[],
  smoothing: boolean,
  axis: XAxis,
): void {
  if (!tip) return;
  const idx = u.cursor.idx;
  if (idx === null || idx === undefined || u.cursor.left === undefined || u.cursor.left < 0) {
    tip.hidden = true;
    return;
  }
  const x = u.data[0][idx] as number;
  const rows = runs
    .map((run, i) => {
      const column = u.data[1 + (smoothing ? 2 * i + 1 : i)] ?? [];
      return { name: run.name || run.id, color: colorOf(i), value: valueNear(column, idx) };
    })
    .filter((r) => r.value !== null)
    .sort((a, b) => (b.value as number) - (a.value as number));
  const head =
    axis === "step"
      ? `step ${x}`
      : axis === "wall"
        ? formatTime(x * 1000)
        : formatDuration(x * 1000);
  tip.replaceChildren();
  const title = document.createElement("div");
  title.className = "muted";
  title.textContent = head;
  tip.append(title);
  for (const row of rows.slice(0, 20)) {
    const line = document.createElement("div");
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = row.color;
    const name = document.createElement("span");
    name.textContent = ` ${row.name} `;
    const value = document.createElement("b");
    value.textContent = formatNumber(row.value as number);
    line.append(swatch, name, value);
    tip.append(line);
  }
  if (rows.length > 20) {
    const more = document.createElement("div");
    more.className = "muted";
    more.textContent = `and ${rows.length - 20} more`;
    tip.append(more);
  }
  tip.hidden = false;
  const left = (u.cursor.left ?? 0) + 16;
  tip.style.left = `${Math.min(left, u.width - 200)}px`;
  tip.style.top = `${(u.cursor.top ?? 0) + 30}px`;
}
