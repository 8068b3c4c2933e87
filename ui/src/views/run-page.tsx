/**
 * One run: its info, description, params, tags, datasets and latest metrics with a sparkline;
 * its charts; its artifacts. The tab (t) and the chosen artifact (a) are in the URL.
 */
import { useEffect, useState } from "preact/hooks";
import { type MlflowRun, mlflow, tagsOf, toNumber } from "../api.ts";
import { downsample, fetchHistories } from "../chart-data.ts";
import { formatDuration, formatNumber, formatTime } from "../format.ts";
import { useLoad, useThrottle } from "../hooks.ts";
import { useLive, useShown, useWatch } from "../live.ts";
import { renderMarkdown } from "../markdown.ts";
import { href, setParams } from "../route.ts";
import { Artifacts } from "./artifacts.tsx";
import { ChartsView } from "./charts-view.tsx";
import { ErrorBox, Loading, Section, Status } from "./common.tsx";

function Sparkline({ runId, metric }: { runId: string; metric: string }) {
  const [points, setPoints] = useState<number[] | null>(null);
  useEffect(() => {
    fetchHistories([runId], metric, null).then(
      (histories) =>
        setPoints(
          downsample(histories.get(runId) ?? [], 60)
            .map((p) => p.value)
            .filter(Number.isFinite),
        ),
      () => setPoints([]),
    );
  }, [runId, metric]);
  if (!points || points.length < 2) return <span class="sparkline" />;
  const min = Math.min(...points);
  const max = Math.max(...points);
  const span = max - min || 1;
  const d = points
    .map(
      (v, i) =>
        `${i === 0 ? "M" : "L"}${((i / (points.length - 1)) * 100).toFixed(1)},${(18 - ((v - min) / span) * 16).toFixed(1)}`,
    )
    .join("");
  return (
    <svg
      class="sparkline"
      viewBox="0 0 100 20"
      preserveAspectRatio="none"
      role="img"
      aria-label={`${metric} from ${formatNumber(points[0] as number)} to ${formatNumber(points[points.length - 1] as number)}`}
    >
      <path
        d={d}
        fill="none"
        stroke="currentColor"
        stroke-width="1.2"
        vector-effect="non-scaling-stroke"
      />
    </svg>
  );
}

function KeyValues({ entries, empty }: { entries: [string, string][]; empty: string }) {
  if (entries.length === 0) return <p class="muted">{empty}</p>;
  return (
    <table class="plain kv">
      <tbody>
        {entries.map(([k, v]) => (
          <tr key={k}>
            <th scope="row">{k}</th>
            <td class="mono">{v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function RunPage({ runId, params }: { runId: string; params: URLSearchParams }) {
  const tab = params.get("t") ?? "overview";
  const { data, error, loading, reload } = useLoad(
    () => mlflow.get<{ run: MlflowRun }>("runs/get", { run_id: runId }),
    [runId],
  );
  const refresh = useThrottle(reload, 1000);
  useLive((change) => {
    if (change.all || change.runs.includes(runId)) refresh();
  });
  const [showSystem, setShowSystem] = useState(false);
  useWatch(data ? [data.run.info.experiment_id] : []);
  useShown([runId]);
  if (!data) {
    return (
      <div class="page">
        <ErrorBox error={error} />
        <Loading when={loading} />
      </div>
    );
  }
  const { info, data: values, inputs } = data.run;
  const tags = tagsOf(values.tags);
  const start = toNumber(info.start_time);
  const end = info.end_time === undefined ? null : toNumber(info.end_time);
  const description = tags["mlflow.note.content"];
  const parent = tags["mlflow.parentRunId"];
  const metrics = [...(values.metrics ?? [])].sort((a, b) => a.key.localeCompare(b.key));
  const params_ = (values.params ?? []).map((p) => [p.key, p.value] as [string, string]).sort();
  const userTags = Object.entries(tags).filter(([k]) => !k.startsWith("mlflow."));
  const systemTags = Object.entries(tags).filter(([k]) => k.startsWith("mlflow."));
  const tabs = [
    ["overview", "Overview"],
    ["charts", "Charts"],
    ["artifacts", "Artifacts"],
  ];
  return (
    <div class="page run-page">
      <nav class="crumbs" aria-label="Breadcrumbs">
        <a href={href("/runs", { e: info.experiment_id })}>Experiment {info.experiment_id}</a>
        {parent && (
          <>
            {" › "}
            <a href={href(`/run/${parent}`)}>parent run</a>
          </>
        )}
      </nav>
      <div class="toolbar">
        <h1>{info.run_name || info.run_id}</h1>
        <Status status={info.status} />
        {info.lifecycle_stage === "deleted" && <span class="badge">deleted</span>}
      </div>
      <div class="tabs" role="tablist">
        {tabs.map(([id, label]) => (
          <button
            type="button"
            role="tab"
            key={id}
            aria-selected={tab === id}
            onClick={() =>
              setParams({ t: id === "overview" ? undefined : id, a: undefined }, { replace: false })
            }
          >
            {label}
          </button>
        ))}
      </div>
      {tab === "overview" && (
        <div class="run-grid">
          <Section title="Run" id="run-info">
            <table class="plain kv">
              <tbody>
                <tr>
                  <th scope="row">Run id</th>
                  <td class="mono">{info.run_id}</td>
                </tr>
                <tr>
                  <th scope="row">Status</th>
                  <td>{info.status}</td>
                </tr>
                <tr>
                  <th scope="row">Started</th>
                  <td>{formatTime(start)}</td>
                </tr>
                <tr>
                  <th scope="row">Ended</th>
                  <td>{formatTime(end)}</td>
                </tr>
                <tr>
                  <th scope="row">Duration</th>
                  <td>{formatDuration(end === null ? null : end - start)}</td>
                </tr>
                <tr>
                  <th scope="row">User</th>
                  <td>{info.user_id}</td>
                </tr>
                <tr>
                  <th scope="row">Source</th>
                  <td class="mono">{tags["mlflow.source.name"] ?? ""}</td>
                </tr>
                {tags["mlflow.source.git.commit"] && (
                  <tr>
                    <th scope="row">Git commit</th>
                    <td class="mono">{tags["mlflow.source.git.commit"]}</td>
                  </tr>
                )}
                <tr>
                  <th scope="row">Artifacts</th>
                  <td class="mono">{info.artifact_uri}</td>
                </tr>
              </tbody>
            </table>
          </Section>
          <Section title="Description" id="run-description">
            {description ? (
              <div
                class="markdown"
                dangerouslySetInnerHTML={{ __html: renderMarkdown(description) }}
              />
            ) : (
              <p class="muted">No description.</p>
            )}
          </Section>
          <Section title={`Metrics (${metrics.length})`} id="run-metrics">
            {metrics.length === 0 ? (
              <p class="muted">No metrics.</p>
            ) : (
              <table class="plain kv metrics">
                <tbody>
                  {metrics.map((m) => (
                    <tr key={m.key}>
                      <th scope="row">
                        <a href={href(`/run/${runId}`, { t: "charts", k: m.key })}>{m.key}</a>
                      </th>
                      <td class="num">{formatNumber(toNumber(m.value))}</td>
                      <td class="muted">step {String(m.step)}</td>
                      <td>
                        <Sparkline runId={runId} metric={m.key} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Section>
          <Section title={`Params (${params_.length})`} id="run-params">
            <KeyValues entries={params_} empty="No params." />
          </Section>
          <Section title={`Tags (${userTags.length})`} id="run-tags">
            <KeyValues entries={userTags} empty="No tags." />
            <button
              type="button"
              class="link"
              aria-expanded={showSystem}
              onClick={() => setShowSystem(!showSystem)}
            >
              {showSystem ? "Hide" : "Show"} {systemTags.length} system tags
            </button>
            {showSystem && <KeyValues entries={systemTags} empty="" />}
          </Section>
          <Section title="Datasets" id="run-datasets">
            {(inputs?.dataset_inputs ?? []).length === 0 ? (
              <p class="muted">No datasets.</p>
            ) : (
              <table class="plain">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Digest</th>
                    <th scope="col">Source</th>
                    <th scope="col">Context</th>
                  </tr>
                </thead>
                <tbody>
                  {(inputs?.dataset_inputs ?? []).map((d) => (
                    <tr key={`${d.dataset.name}-${d.dataset.digest}`}>
                      <td>{d.dataset.name}</td>
                      <td class="mono">{d.dataset.digest}</td>
                      <td class="mono">
                        {d.dataset.source_type} {d.dataset.source}
                      </td>
                      <td>{tagsOf(d.tags)["mlflow.data.context"] ?? ""}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Section>
        </div>
      )}
      {tab === "charts" && (
        <ChartsView
          runs={[{ id: runId, name: info.run_name ?? "" }]}
          metricKeys={metrics.map((m) => m.key)}
          params={params}
        />
      )}
      {tab === "artifacts" && <Artifacts runId={runId} chosen={params.get("a")} />}
    </div>
  );
}
