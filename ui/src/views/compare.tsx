/**
 * Runs side by side: params (only those that differ, unless all=1), metrics with deltas against
 * the first run, their charts overlaid, parallel coordinates of the params against a chosen
 * metric (pm), and a scatter of any two columns (sx, sy: p:<param> or m:<metric>).
 */
import { type MlflowRun, mlflow, tagsOf, toNumber } from "../api.ts";
import { colorOf, formatNumber } from "../format.ts";
import { useLoad } from "../hooks.ts";
import { useWatch } from "../live.ts";
import { href, setParams } from "../route.ts";
import { ChartsView } from "./charts-view.tsx";
import { ErrorBox, Loading, Section } from "./common.tsx";
import { type Axis, ParallelCoordinates, Scatter } from "./plots.tsx";

interface Compared {
  id: string;
  experimentId: string;
  name: string;
  params: Record<string, string>;
  metrics: Record<string, number>;
}

function compared(run: MlflowRun): Compared {
  const metrics: Record<string, number> = {};
  for (const m of run.data.metrics ?? []) metrics[m.key] = toNumber(m.value);
  return {
    id: run.info.run_id,
    experimentId: run.info.experiment_id,
    name: run.info.run_name || run.info.run_id,
    params: tagsOf(run.data.params),
    metrics,
  };
}

const union = (records: Record<string, unknown>[]) =>
  [...new Set(records.flatMap((r) => Object.keys(r)))].sort();

/** A param's values as numbers when every present one is a number. */
function axisValues(values: (string | undefined)[]): (string | number | null)[] {
  const present = values.filter((v): v is string => v !== undefined);
  const numeric =
    present.length > 0 && present.every((v) => v.trim() !== "" && Number.isFinite(Number(v)));
  return values.map((v) => (v === undefined ? null : numeric ? Number(v) : v));
}

export function ComparePage({ runIds, params }: { runIds: string[]; params: URLSearchParams }) {
  const { data, error, loading } = useLoad(
    () =>
      Promise.all(
        runIds.map((id) =>
          mlflow.get<{ run: MlflowRun }>("runs/get", { run_id: id }).then((r) => compared(r.run)),
        ),
      ),
    [runIds.join(",")],
  );
  const all = params.get("all") === "1";
  useWatch([...new Set(data?.map((r) => r.experimentId) ?? [])]);
  if (runIds.length === 0)
    return (
      <div class="page">
        <p class="muted">Select runs in a runs table, then Compare.</p>
      </div>
    );
  if (!data) {
    return (
      <div class="page">
        <ErrorBox error={error} />
        <Loading when={loading} />
      </div>
    );
  }
  const paramKeys = union(data.map((r) => r.params));
  const metricKeys = union(data.map((r) => r.metrics));
  const differs = (key: string) => new Set(data.map((r) => r.params[key] ?? "\u0000none")).size > 1;
  const shownParams = all ? paramKeys : paramKeys.filter(differs);
  const chosenMetric =
    params.get("pm") && metricKeys.includes(params.get("pm") as string)
      ? (params.get("pm") as string)
      : metricKeys[0];
  const columnAxis = (spec: string): Axis => {
    const key = spec.slice(2);
    return spec.startsWith("m:")
      ? { label: key, values: data.map((r) => r.metrics[key] ?? null) }
      : { label: key, values: axisValues(data.map((r) => r.params[key])) };
  };
  const columns = [...paramKeys.map((k) => `p:${k}`), ...metricKeys.map((k) => `m:${k}`)];
  const sx =
    params.get("sx") && columns.includes(params.get("sx") as string)
      ? (params.get("sx") as string)
      : (columns.find((c) => c.startsWith("p:") && differs(c.slice(2))) ?? columns[0]);
  const sy =
    params.get("sy") && columns.includes(params.get("sy") as string)
      ? (params.get("sy") as string)
      : chosenMetric
        ? `m:${chosenMetric}`
        : columns[1];
  const parallel: Axis[] = [
    ...paramKeys
      .filter(differs)
      .map((k) => ({ label: k, values: axisValues(data.map((r) => r.params[k])) })),
    ...(chosenMetric
      ? [{ label: chosenMetric, values: data.map((r) => r.metrics[chosenMetric] ?? null) }]
      : []),
  ];
  const names = data.map((r) => r.name);
  const columnSelect = (label: string, value: string | undefined, key: string) => (
    <label>
      {label}{" "}
      <select value={value} onChange={(e) => setParams({ [key]: e.currentTarget.value })}>
        {columns.map((c) => (
          <option key={c} value={c}>
            {c.startsWith("p:") ? "param" : "metric"} {c.slice(2)}
          </option>
        ))}
      </select>
    </label>
  );
  return (
    <div class="page compare-page">
      <h1>Compare {data.length} runs</h1>
      <Section title="Params" id="compare-params">
        <label class="check">
          <input
            type="checkbox"
            checked={!all}
            onChange={(e) => setParams({ all: e.currentTarget.checked ? undefined : "1" })}
          />
          Only differing ({paramKeys.filter(differs).length} of {paramKeys.length})
        </label>
        <div class="scroll-x">
          <table class="grid compare">
            <thead>
              <tr>
                <th scope="col">Param</th>
                {data.map((r, i) => (
                  <th scope="col" key={r.id}>
                    <span class="swatch" style={{ background: colorOf(i) }} />{" "}
                    <a href={href(`/run/${r.id}`)}>{r.name}</a>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {shownParams.map((k) => (
                <tr key={k} class={differs(k) ? "differs" : undefined}>
                  <th scope="row">{k}</th>
                  {data.map((r) => (
                    <td key={r.id} class="mono">
                      {r.params[k] ?? ""}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Section>
      <Section title="Metrics" id="compare-metrics">
        <div class="scroll-x">
          <table class="grid compare">
            <thead>
              <tr>
                <th scope="col">Metric</th>
                {data.map((r) => (
                  <th scope="col" key={r.id}>
                    {r.name}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {metricKeys.map((k) => {
                const base = data[0]?.metrics[k];
                return (
                  <tr key={k}>
                    <th scope="row">{k}</th>
                    {data.map((r, i) => {
                      const v = r.metrics[k];
                      const delta =
                        i > 0 && v !== undefined && base !== undefined ? v - base : undefined;
                      return (
                        <td key={r.id} class="num">
                          {v === undefined ? "" : formatNumber(v)}
                          {delta !== undefined && delta !== 0 && Number.isFinite(delta) && (
                            <span class="delta">
                              {" "}
                              ({delta > 0 ? "+" : ""}
                              {formatNumber(delta)})
                            </span>
                          )}
                        </td>
                      );
                    })}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      </Section>
      <Section title="Parallel coordinates" id="compare-parallel">
        {metricKeys.length > 0 && (
          <label>
            Colour by{" "}
            <select value={chosenMetric} onChange={(e) => setParams({ pm: e.currentTarget.value })}>
              {metricKeys.map((k) => (
                <option key={k} value={k}>
                  {k}
                </option>
              ))}
            </select>
          </label>
        )}
        {parallel.length >= 2 ? (
          <ParallelCoordinates
            axes={parallel}
            names={names}
            label={`Differing params against ${chosenMetric ?? "no metric"}`}
          />
        ) : (
          <p class="muted">Needs at least one differing param and a metric.</p>
        )}
      </Section>
      <Section title="Scatter" id="compare-scatter">
        <div class="toolbar">
          {columnSelect("X", sx, "sx")}
          {columnSelect("Y", sy, "sy")}
        </div>
        {sx && sy && (
          <Scatter
            x={columnAxis(sx)}
            y={columnAxis(sy)}
            names={names}
            colors={data.map((_r, i) => colorOf(i))}
          />
        )}
      </Section>
      <ChartsView
        runs={data.map((r) => ({ id: r.id, name: r.name }))}
        metricKeys={metricKeys}
        params={params}
      />
    </div>
  );
}
