/** The experiments: search, run counts, last activity; open one, or several together. */
import { useState } from "preact/hooks";
import { type ExperimentRow, ui } from "../api.ts";
import { formatAgo, formatTime } from "../format.ts";
import { useLoad, useThrottle } from "../hooks.ts";
import { useLive } from "../live.ts";
import { href, setParams } from "../route.ts";
import { ErrorBox, Loading } from "./common.tsx";

export function ExperimentsPage({ params }: { params: URLSearchParams }) {
  const query = params.get("q") ?? "";
  const deleted = params.get("deleted") === "1";
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const { data, error, loading, reload } = useLoad(
    () =>
      ui.get<{ experiments: ExperimentRow[] }>("experiments", {
        view: deleted ? "ALL" : "ACTIVE_ONLY",
      }),
    [deleted],
  );
  const refresh = useThrottle(reload, 1000);
  useLive((change) => {
    if (change.experimentList || change.experiments.length > 0) refresh();
  });
  const needle = query.toLowerCase();
  const rows = (data?.experiments ?? []).filter(
    (e) => e.name.toLowerCase().includes(needle) || e.id === query,
  );
  const toggle = (id: string) => {
    const next = new Set(chosen);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setChosen(next);
  };
  return (
    <div class="page">
      <div class="toolbar">
        <h1>Experiments</h1>
        <label class="search">
          <span class="sr-only">Search experiments</span>
          <input
            type="search"
            data-search
            placeholder="Search experiments by name or id"
            value={query}
            onInput={(e) => setParams({ q: e.currentTarget.value })}
          />
        </label>
        <label class="check">
          <input
            type="checkbox"
            checked={deleted}
            onChange={(e) => setParams({ deleted: e.currentTarget.checked ? "1" : undefined })}
          />
          Show deleted
        </label>
        <a
          class={`button${chosen.size === 0 ? " disabled" : ""}`}
          aria-disabled={chosen.size === 0}
          href={chosen.size ? href("/runs", { e: [...chosen].join(",") }) : undefined}
        >
          Open {chosen.size || ""} together
        </a>
      </div>
      <ErrorBox error={error} />
      <Loading when={loading && !data} />
      {data && (
        <table class="grid experiments">
          <thead>
            <tr>
              <th scope="col" class="narrow">
                <span class="sr-only">Choose</span>
              </th>
              <th scope="col">Name</th>
              <th scope="col" class="num">
                Runs
              </th>
              <th scope="col" class="num">
                Running
              </th>
              <th scope="col">Last activity</th>
              <th scope="col">Created</th>
              <th scope="col">Id</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((e) => (
              <tr key={e.id} class={e.deleted ? "deleted" : undefined}>
                <td>
                  <input
                    type="checkbox"
                    aria-label={`Choose ${e.name}`}
                    checked={chosen.has(e.id)}
                    onChange={() => toggle(e.id)}
                  />
                </td>
                <td>
                  <a href={href("/runs", { e: e.id, d: e.deleted ? "1" : undefined })}>{e.name}</a>
                  {e.deleted && <span class="badge">deleted</span>}
                </td>
                <td class="num">{e.runs}</td>
                <td class="num">{e.running || ""}</td>
                <td title={formatTime(e.lastActivity)}>{formatAgo(e.lastActivity)}</td>
                <td>{formatTime(e.created)}</td>
                <td class="mono muted">{e.id}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {data && rows.length === 0 && <p class="muted">No experiment matches “{query}”.</p>}
    </div>
  );
}
