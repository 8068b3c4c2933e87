/** Side-by-side comparison of runs: which params differ, and how metrics moved between runs. */
import type { Run } from "../entities.ts";

export interface ParamComparison {
  key: string;
  /** One value per run, in the order the runs were given; undefined where a run lacks it. */
  values: (string | undefined)[];
  differs: boolean;
}

export interface MetricComparison {
  key: string;
  /** The latest value per run; undefined where a run lacks the metric. */
  values: (number | undefined)[];
  /** Each run's value minus the first run's value (the baseline). */
  deltas: (number | undefined)[];
  differs: boolean;
}

export interface RunComparison {
  runs: { runId: string; runName: string }[];
  params: ParamComparison[];
  metrics: MetricComparison[];
}

const sameValue = (a: unknown, b: unknown) => Object.is(a, b) || a === b;

function allKeys(records: Record<string, unknown>[]): string[] {
  return [...new Set(records.flatMap((r) => Object.keys(r)))].sort();
}

export function compareRuns(runs: Run[]): RunComparison {
  const params = allKeys(runs.map((r) => r.data.params)).map((key): ParamComparison => {
    const values = runs.map((r) => r.data.params[key]);
    return { key, values, differs: values.some((v) => !sameValue(v, values[0])) };
  });
  const metrics = allKeys(runs.map((r) => r.data.metrics)).map((key): MetricComparison => {
    const values = runs.map((r) => r.data.metrics[key]?.value);
    const base = values[0];
    const deltas = values.map((v) =>
      v === undefined || base === undefined ? undefined : v - base,
    );
    return { key, values, deltas, differs: values.some((v) => !sameValue(v, base)) };
  });
  return {
    runs: runs.map((r) => ({ runId: r.info.runId, runName: r.info.runName })),
    params,
    metrics,
  };
}
