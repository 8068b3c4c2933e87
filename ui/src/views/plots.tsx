/**
 * Two canvas plots for the compare page: parallel coordinates (one axis per param, the chosen
 * metric last; each run a line coloured by that metric) and a scatter of any two columns.
 * Params that are not numbers are spread evenly on their axis, in sorted order.
 */
import { useEffect, useRef } from "preact/hooks";
import { formatNumber } from "../format.ts";
import { useWidth } from "../hooks.ts";

export interface Axis {
  label: string;
  /** One value per run; null when the run lacks it. */
  values: (string | number | null)[];
}

interface Scale {
  at: (value: string | number | null) => number | null;
  ticks: { at: number; label: string }[];
}

/** Maps values to 0..1: numbers linearly, anything else by its rank among the distinct values. */
function scaleOf(values: (string | number | null)[]): Scale {
  const present = values.filter((v): v is string | number => v !== null);
  const numbers = present.map((v) => (typeof v === "number" ? v : Number(v)));
  if (present.length > 0 && numbers.every(Number.isFinite)) {
    const min = Math.min(...numbers);
    const max = Math.max(...numbers);
    const span = max - min || 1;
    const ticks =
      min === max
        ? [{ at: 0.5, label: formatNumber(min) }]
        : [0, 0.5, 1].map((t) => ({ at: t, label: formatNumber(min + t * span) }));
    return { at: (v) => (v === null ? null : min === max ? 0.5 : (Number(v) - min) / span), ticks };
  }
  const distinct = [...new Set(present.map(String))].sort();
  const step = distinct.length > 1 ? 1 / (distinct.length - 1) : 0;
  const position = new Map(distinct.map((v, i) => [v, distinct.length > 1 ? i * step : 0.5]));
  return {
    at: (v) => (v === null ? null : (position.get(String(v)) ?? null)),
    ticks: distinct.slice(0, 12).map((v) => ({ at: position.get(v) as number, label: v })),
  };
}

function useCanvas(
  draw: (ctx: CanvasRenderingContext2D, width: number, height: number) => void,
  height: number,
  deps: unknown[],
) {
  const [box, width] = useWidth<HTMLDivElement>();
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const el = canvas.current;
    if (!el || width === 0) return;
    const ratio = window.devicePixelRatio || 1;
    el.width = width * ratio;
    el.height = height * ratio;
    el.style.width = `${width}px`;
    el.style.height = `${height}px`;
    const ctx = el.getContext("2d");
    if (!ctx) return;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    draw(ctx, width, height);
  }, [width, ...deps]);
  return { box, canvas };
}

const css = (name: string) =>
  getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";

/** Blue (low) to orange (high). */
function heat(t: number): string {
  const hue = 220 - 190 * Math.max(0, Math.min(1, t));
  return `hsl(${hue} 75% 50%)`;
}

export function ParallelCoordinates(props: { axes: Axis[]; names: string[]; label: string }) {
  const { axes } = props;
  const height = 300;
  const { box, canvas } = useCanvas(
    (ctx, width) => {
      if (axes.length < 2) return;
      const left = 60;
      const right = width - 60;
      const top = 30;
      const bottom = height - 30;
      const x = (i: number) => left + ((right - left) * i) / (axes.length - 1);
      const scales = axes.map((a) => scaleOf(a.values));
      const colorScale = scales[scales.length - 1] as Scale;
      const last = axes[axes.length - 1] as Axis;
      ctx.lineWidth = 1.5;
      props.names.forEach((_name, run) => {
        const t = colorScale.at(last.values[run] ?? null);
        ctx.strokeStyle = t === null ? css("--muted") : heat(t);
        ctx.beginPath();
        let drawing = false;
        axes.forEach((axis, i) => {
          const at = (scales[i] as Scale).at(axis.values[run] ?? null);
          if (at === null) {
            drawing = false;
            return;
          }
          const y = bottom - at * (bottom - top);
          if (drawing) ctx.lineTo(x(i), y);
          else ctx.moveTo(x(i), y);
          drawing = true;
        });
        ctx.stroke();
      });
      ctx.fillStyle = css("--fg");
      ctx.strokeStyle = css("--muted");
      ctx.font = "12px system-ui, sans-serif";
      ctx.textAlign = "center";
      axes.forEach((axis, i) => {
        ctx.beginPath();
        ctx.moveTo(x(i), top);
        ctx.lineTo(x(i), bottom);
        ctx.stroke();
        ctx.fillText(axis.label, x(i), top - 12);
        for (const tick of (scales[i] as Scale).ticks) {
          ctx.fillText(tick.label.slice(0, 14), x(i), bottom - tick.at * (bottom - top) + 4);
        }
      });
    },
    height,
    [JSON.stringify(axes)],
  );
  return (
    <div ref={box} class="plot">
      <canvas ref={canvas} role="img" aria-label={props.label} data-plot="parallel" />
    </div>
  );
}

export function Scatter(props: { x: Axis; y: Axis; names: string[]; colors: string[] }) {
  const height = 300;
  const { box, canvas } = useCanvas(
    (ctx, width) => {
      const left = 70;
      const bottom = height - 40;
      const top = 16;
      const right = width - 20;
      // A margin inside the axes, so points at the extremes are not cut by them.
      const pad = (scale: Scale): Scale => ({
        at: (v) => {
          const t = scale.at(v);
          return t === null ? null : 0.05 + 0.9 * t;
        },
        ticks: scale.ticks.map((t) => ({ ...t, at: 0.05 + 0.9 * t.at })),
      });
      const sx = pad(scaleOf(props.x.values));
      const sy = pad(scaleOf(props.y.values));
      ctx.strokeStyle = css("--muted");
      ctx.fillStyle = css("--fg");
      ctx.font = "12px system-ui, sans-serif";
      ctx.beginPath();
      ctx.moveTo(left, top);
      ctx.lineTo(left, bottom);
      ctx.lineTo(right, bottom);
      ctx.stroke();
      ctx.textAlign = "center";
      for (const t of sx.ticks)
        ctx.fillText(t.label.slice(0, 14), left + t.at * (right - left), bottom + 16);
      ctx.fillText(props.x.label, (left + right) / 2, height - 6);
      ctx.textAlign = "right";
      for (const t of sy.ticks)
        ctx.fillText(t.label.slice(0, 10), left - 6, bottom - t.at * (bottom - top) + 4);
      props.names.forEach((_n, run) => {
        const a = sx.at(props.x.values[run] ?? null);
        const b = sy.at(props.y.values[run] ?? null);
        if (a === null || b === null) return;
        ctx.fillStyle = props.colors[run] ?? "#888";
        ctx.beginPath();
        ctx.arc(left + a * (right - left), bottom - b * (bottom - top), 5, 0, 2 * Math.PI);
        ctx.fill();
      });
    },
    height,
    [JSON.stringify([props.x, props.y, props.colors])],
  );
  return (
    <div ref={box} class="plot">
      <canvas
        ref={canvas}
        role="img"
        aria-label={`${props.y.label} against ${props.x.label}`}
        data-plot="scatter"
      />
    </div>
  );
}
