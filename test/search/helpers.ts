import type { Experiment, Run } from "../../src/entities.ts";

let counter = 0;

/** A run with defaults; metrics are given as latest values. */
export function makeRun(
  over: {
    id?: string;
    name?: string;
    start?: number;
    end?: number | null;
    status?: Run["info"]["status"];
    user?: string;
    metrics?: Record<string, number>;
    params?: Record<string, string>;
    tags?: Record<string, string>;
    datasets?: { name: string; digest: string; context?: string }[];
  } = {},
): Run {
  counter++;
  const id = over.id ?? `run${String(counter).padStart(4, "0")}`;
  return {
    info: {
      runId: id,
      experimentId: "1",
      runName: over.name ?? id,
      userId: over.user ?? "alice",
      status: over.status ?? "FINISHED",
      startTime: over.start ?? 1000,
      endTime: over.end === undefined ? 2000 : over.end,
      artifactUri: `file:///tmp/mlruns/1/${id}/artifacts`,
      lifecycleStage: "active",
    },
    data: {
      params: over.params ?? {},
      tags: over.tags ?? {},
      metrics: Object.fromEntries(
        Object.entries(over.metrics ?? {}).map(([key, value]) => [
          key,
          { key, value, timestamp: 0, step: 0 },
        ]),
      ),
    },
    inputs: (over.datasets ?? []).map((d) => ({
      dataset: {
        name: d.name,
        digest: d.digest,
        sourceType: "local",
        source: "x",
        schema: null,
        profile: null,
      },
      tags: (d.context === undefined ? {} : { "mlflow.data.context": d.context }) as Record<
        string,
        string
      >,
    })),
  };
}

export function makeExperiment(over: Partial<Experiment> & { experimentId: string }): Experiment {
  return {
    name: `exp-${over.experimentId}`,
    artifactLocation: "file:///tmp",
    lifecycleStage: "active",
    creationTime: 0,
    lastUpdateTime: 0,
    tags: {},
    ...over,
  };
}

/** The caret column of an error message's last line. */
export function caretColumn(message: string): number {
  const last = message.split("\n").at(-1) ?? "";
  return last.indexOf("^");
}
