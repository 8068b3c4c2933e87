/**
 * What "the server holds the same data as the tree" means, checked on dumps read by the real
 * MLflow client: every run of every active local experiment is on the server exactly once (found
 * by its source tag) with the same info, params, tags, metric histories, inputs and artifacts.
 * The server's own spellings are folded in: it sorts histories by time, stores ±inf as ±max
 * float and -0 as 0, and treats NaN as 0 when choosing the latest value.
 */
import { expect } from "vitest";
import { SOURCE_TAGS } from "../../src/sync/identity.ts";
import type { Dump, DumpNumber, RunDump } from "./dump.ts";

const MAX = 1.7976931348623157e308;

function fold(v: DumpNumber): DumpNumber {
  if (v === "Infinity" || v === MAX) return "Infinity";
  if (v === "-Infinity" || v === -MAX) return "-Infinity";
  return Object.is(v, -0) ? 0 : v;
}

function sortedHistory(points: [number, DumpNumber, number][]): string[] {
  return points.map(([t, v, s]) => JSON.stringify([t, s, fold(v)])).sort();
}

/** `tree` is the tree's id (its `.mlruns-tree-id`); `prefix` what sync put before names. */
export function expectServerHoldsTree(local: Dump, remote: Dump, tree: string, prefix = ""): void {
  const active = new Map(
    local.experiments
      .filter((e) => e.lifecycle_stage === "active")
      .map((e) => [e.experiment_id, e]),
  );
  const remoteExperiments = new Map(remote.experiments.map((e) => [e.experiment_id, e]));
  const copies = new Map<string, RunDump[]>();
  for (const run of remote.runs) {
    if (run.tags[SOURCE_TAGS.tree] !== tree) continue;
    const source = run.tags[SOURCE_TAGS.runId];
    if (source !== undefined) copies.set(source, [...(copies.get(source) ?? []), run]);
  }
  const localRuns = local.runs.filter((r) => active.has(r.info.experiment_id));
  expect(localRuns.length).toBeGreaterThan(0);
  const remoteIdOf = (localId: string) => copies.get(localId)?.[0]?.info.run_id;

  for (const run of localRuns) {
    const found = copies.get(run.info.run_id) ?? [];
    expect(found, `copies of ${run.info.run_name}`).toHaveLength(1);
    const copy = found[0] as RunDump;
    const where = `run ${run.info.run_name} (${run.info.run_id})`;
    const { run_id: _a, experiment_id: le, artifact_uri: _b, ...localInfo } = run.info;
    const { run_id: _c, experiment_id: re, artifact_uri: _d, ...remoteInfo } = copy.info;
    expect(remoteInfo, where).toEqual(localInfo);
    expect(remoteExperiments.get(re)?.name, where).toBe(`${prefix}${active.get(le)?.name}`);
    expect(copy.params, where).toEqual(run.params);

    const expectedTags = { ...run.tags };
    const parent = expectedTags["mlflow.parentRunId"];
    if (parent !== undefined) expectedTags["mlflow.parentRunId"] = remoteIdOf(parent) ?? "missing";
    const remoteTags = Object.fromEntries(
      Object.entries(copy.tags).filter(([key]) => !key.startsWith("mlruns.source.")),
    );
    expect(remoteTags, where).toEqual(expectedTags);

    expect(Object.keys(copy.metric_history).sort(), where).toEqual(
      Object.keys(run.metric_history).sort(),
    );
    for (const [key, points] of Object.entries(run.metric_history)) {
      expect(sortedHistory(copy.metric_history[key] ?? []), `${where} ${key}`).toEqual(
        sortedHistory(points),
      );
      if (points.some(([, v]) => v === "NaN")) continue;
      const latest = run.metrics[key];
      const remoteLatest = copy.metrics[key];
      expect(
        remoteLatest && { ...remoteLatest, value: fold(remoteLatest.value) },
        `${where} latest ${key}`,
      ).toEqual(latest && { ...latest, value: fold(latest.value) });
    }
    expect(copy.inputs, where).toEqual(run.inputs);
    expect(copy.artifacts, where).toEqual(run.artifacts);
  }
  const expectedCopies = new Set(localRuns.map((r) => r.info.run_id));
  const strays = [...copies.keys()].filter((id) => !expectedCopies.has(id));
  expect(strays, "runs on the server that the tree does not have").toEqual([]);
}
