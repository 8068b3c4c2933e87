/**
 * The runs of one or several experiments: the filter box, the table (or the charts of the
 * selected runs), the column picker and the way to compare. Every choice is in the URL:
 * e (experiments), f (filter), o (order), c (columns), sel (selection), x (unfolded parents),
 * d (deleted too), v (table or charts) and the chart options.
 */
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { fetchWindow, type MlflowExperiment, mlflow, type RunRow } from "../api.ts";
import { DEFAULT_ORDER } from "../columns.ts";
import { useLoad, useThrottle } from "../hooks.ts";
import { useLive } from "../live.ts";
import { href, list, navigate, setParams } from "../route.ts";
import { ChartsView } from "./charts-view.tsx";
import { ColumnPicker, type Keys } from "./column-picker.tsx";
import { FilterBox } from "./filter-box.tsx";
import { RunsTable, type TableQuery } from "./runs-table.tsx";

export function RunsPage({ params }: { params: URLSearchParams }) {
  const experimentIds = list(params, "e");
  const filter = params.get("f") ?? "";
  const orderBy = params.get("o");
  const columns = list(params, "c");
  const selected = useMemo(() => new Set(list(params, "sel")), [params.get("sel")]);
  const expanded = list(params, "x");
  const deleted = params.get("d") === "1";
  const view = params.get("v") === "charts" ? "charts" : "table";

  const [error, setError] = useState<Error | undefined>(undefined);
  const [counts, setCounts] = useState<{ total: number; matched: number } | undefined>(undefined);
  const [keys, setKeys] = useState<Keys | undefined>(undefined);
  const [picking, setPicking] = useState(false);
  const [refresh, setRefresh] = useState(0);
  const [topRuns, setTopRuns] = useState<RunRow[]>([]);

  // The names only (the experiments list's counts would cost a pass over every run).
  const experiments = useLoad(
    () =>
      Promise.all(
        experimentIds.map((id) =>
          mlflow
            .get<{ experiment: MlflowExperiment }>("experiments/get", { experiment_id: id })
            .then(
              (r) => r.experiment.name,
              () => id,
            ),
        ),
      ),
    [experimentIds.join(",")],
  );
  const names = experiments.data ?? experimentIds;

  const query: TableQuery = {
    experimentIds,
    filter,
    orderBy: [orderBy ?? DEFAULT_ORDER],
    viewType: deleted ? "ALL" : "ACTIVE_ONLY",
    columns,
    expanded,
  };
  // The keys of the matched runs, for the column picker and the charts: asked for only when
  // one of them is open, so they never hold up the first rows.
  const needKeys = picking || view === "charts";
  const keysQuery = JSON.stringify([experimentIds, filter, query.viewType]);
  useEffect(() => {
    if (!needKeys) return;
    let stale = false;
    fetchWindow({ ...query, offset: 0, limit: 0, keys: true }).then(
      (result) => !stale && result.keys && setKeys(result.keys),
      () => {},
    );
    return () => {
      stale = true;
    };
  }, [needKeys, keysQuery, refresh]);

  const bump = useThrottle(() => setRefresh((r) => r + 1), 500);
  useLive((change) => {
    if (change.all || change.experiments.some((id) => experimentIds.includes(id))) bump();
  });

  const select = (ids: string[], on: boolean) => {
    const next = new Set(selected);
    for (const id of ids) {
      if (on) next.add(id);
      else next.delete(id);
    }
    setParams({ sel: [...next].join(",") || undefined });
  };
  const expand = (id: string) => {
    const next = expanded.includes(id) ? expanded.filter((x) => x !== id) : [...expanded, id];
    setParams({ x: next.join(",") || undefined });
  };
  const compare = () => {
    if (selected.size > 0) navigate(href("/compare", { r: [...selected].join(",") }));
  };

  const compareKey = useRef(compare);
  compareKey.current = compare;
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const target = event.target as HTMLElement | null;
      if (event.key !== "c" || event.ctrlKey || event.metaKey || event.altKey) return;
      if (target && /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)) return;
      compareKey.current();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  const selectedNames = useRunNames(experimentIds, view === "charts" ? [...selected] : []);
  const chartRuns =
    selected.size > 0
      ? [...selected].map((id) => ({ id, name: selectedNames[id] ?? "" }))
      : topRuns.slice(0, 10).map((r) => ({ id: r.id, name: r.name }));

  return (
    <div class="page runs-page">
      <div class="toolbar">
        <h1>{names.join(", ") || "Runs"}</h1>
        <span class="muted" aria-live="polite" data-testid="run-count">
          {counts ? `${counts.matched.toLocaleString("en")} runs` : ""}
        </span>
      </div>
      <FilterBox
        value={filter}
        error={error}
        onApply={(f) => setParams({ f: f || undefined }, { replace: false })}
      />
      <div class="toolbar">
        <fieldset class="segmented">
          <legend class="sr-only">View</legend>
          <button
            type="button"
            aria-pressed={view === "table"}
            onClick={() => setParams({ v: undefined })}
          >
            Table
          </button>
          <button
            type="button"
            aria-pressed={view === "charts"}
            onClick={() => setParams({ v: "charts" })}
          >
            Charts
          </button>
        </fieldset>
        <button type="button" aria-expanded={picking} onClick={() => setPicking(!picking)}>
          Columns{columns.length ? ` (${columns.length})` : ""}
        </button>
        <label class="check">
          <input
            type="checkbox"
            checked={deleted}
            onChange={(e) => setParams({ d: e.currentTarget.checked ? "1" : undefined })}
          />
          Show deleted
        </label>
        <button type="button" disabled={selected.size === 0} onClick={compare}>
          Compare {selected.size || ""}
        </button>
        {selected.size > 0 && (
          <button type="button" class="link" onClick={() => setParams({ sel: undefined })}>
            Clear selection
          </button>
        )}
      </div>
      {picking && (
        <ColumnPicker
          keys={keys}
          columns={columns}
          onChange={(c) => setParams({ c: c.join(",") || undefined }, { replace: false })}
          onClose={() => setPicking(false)}
        />
      )}
      <div class={view === "table" ? undefined : "hidden-table"}>
        <RunsTable
          query={query}
          orderBy={orderBy ?? DEFAULT_ORDER}
          selected={selected}
          refresh={refresh}
          onSort={(o) => setParams({ o: o ?? undefined }, { replace: false })}
          onSelect={select}
          onExpand={expand}
          onResult={(r) => setCounts({ total: r.total, matched: r.matched })}
          onError={setError}
          onFirstRows={setTopRuns}
        />
      </div>
      {view === "charts" && (
        <ChartsView
          runs={chartRuns}
          metricKeys={keys?.metrics ?? []}
          params={params}
          caption={
            selected.size > 0
              ? "Selected runs"
              : "The first 10 runs of the table (select runs to choose)"
          }
        />
      )}
    </div>
  );
}

/**
 * The names of these runs, from the table's endpoint (the server's search index): one request
 * for the lot, where `runs/get` would read each run whole, every point of every metric.
 */
function useRunNames(experimentIds: string[], runIds: string[]): Record<string, string> {
  // Run ids are hex; anything else in the URL cannot be a run and would break the filter.
  const ids = runIds.filter((id) => /^[\w-]+$/.test(id)).slice(0, 1000);
  const names = useLoad(async () => {
    if (ids.length === 0) return {};
    const found = await fetchWindow({
      experimentIds,
      filter: `attributes.run_id IN (${ids.map((id) => `'${id}'`).join(", ")})`,
      viewType: "ALL",
      offset: 0,
      limit: ids.length,
      columns: [],
      expanded: ids, // a selected child shows under its selected parent only when unfolded
    });
    return Object.fromEntries(found.rows.map((row) => [row.id, row.name]));
  }, [experimentIds.join(","), ids.join(",")]);
  return names.data ?? {};
}
