/**
 * A grid of charts, one per metric, with the runs overlaid, and the controls they share: x axis
 * (step, wall time, relative time), log scale, smoothing and which metrics. The options live in
 * the URL: k (metrics), xa (axis), log, s (smoothing).
 */
import { useState } from "preact/hooks";
import type { XAxis } from "../chart-data.ts";
import { colorOf } from "../format.ts";
import { list, setParams } from "../route.ts";
import { Chart, type ChartRun } from "./chart.tsx";

const MAX_DEFAULT_CHARTS = 12;

export function ChartsView(props: {
  runs: ChartRun[];
  metricKeys: string[];
  params: URLSearchParams;
  caption?: string;
}) {
  const { params } = props;
  const { runs } = props;
  const axis = (
    ["step", "wall", "rel"].includes(params.get("xa") ?? "") ? params.get("xa") : "step"
  ) as XAxis;
  const log = params.get("log") === "1";
  const smoothing = Math.min(0.99, Math.max(0, Number(params.get("s") ?? 0) || 0));
  const chosen = list(params, "k");
  const metrics = chosen.length > 0 ? chosen : props.metricKeys.slice(0, MAX_DEFAULT_CHARTS);
  const options = { axis, log, smoothing };
  const [picking, setPicking] = useState(false);
  return (
    <div class="charts-view">
      <div class="toolbar chart-controls">
        <label>
          X axis{" "}
          <select
            value={axis}
            onChange={(e) =>
              setParams({
                xa: e.currentTarget.value === "step" ? undefined : e.currentTarget.value,
              })
            }
          >
            <option value="step">Step</option>
            <option value="wall">Wall time</option>
            <option value="rel">Relative time</option>
          </select>
        </label>
        <label class="check">
          <input
            type="checkbox"
            checked={log}
            onChange={(e) => setParams({ log: e.currentTarget.checked ? "1" : undefined })}
          />
          Log scale
        </label>
        <label>
          Smoothing{" "}
          <input
            type="range"
            min="0"
            max="0.99"
            step="0.01"
            value={smoothing}
            onInput={(e) =>
              setParams({
                s: Number(e.currentTarget.value) > 0 ? e.currentTarget.value : undefined,
              })
            }
          />
          <output>{smoothing.toFixed(2)}</output>
        </label>
        <button type="button" aria-expanded={picking} onClick={() => setPicking(!picking)}>
          Metrics ({metrics.length}/{props.metricKeys.length})
        </button>
      </div>
      {picking && (
        <fieldset class="card metric-picker">
          <legend>Metrics to chart</legend>
          {props.metricKeys.map((key) => (
            <label class="check" key={key}>
              <input
                type="checkbox"
                checked={metrics.includes(key)}
                onChange={(e) => {
                  const next = e.currentTarget.checked
                    ? [...metrics, key]
                    : metrics.filter((k) => k !== key);
                  setParams({ k: next.join(",") || undefined });
                }}
              />
              {key}
            </label>
          ))}
        </fieldset>
      )}
      {props.caption && <p class="muted">{props.caption}</p>}
      <ul class="legend" aria-label="Runs">
        {runs.map((run, i) => (
          <li key={run.id}>
            <span class="swatch" style={{ background: colorOf(i) }} />
            <a href={`#/run/${run.id}`}>{run.name || run.id}</a>
          </li>
        ))}
      </ul>
      {runs.length === 0 && <p class="muted">No runs to chart.</p>}
      <div class="chart-grid">
        {runs.length > 0 &&
          metrics.map((metric) => (
            <Chart key={metric} metric={metric} runs={runs} options={options} />
          ))}
      </div>
    </div>
  );
}
