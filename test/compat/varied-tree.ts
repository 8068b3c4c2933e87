/**
 * A tree with everything MLflow's format allows and everything that is easy to get wrong:
 * YAML 1.1 traps, unicode, `/` in keys, NaN and infinities, ties for the latest value, nested
 * runs, datasets, artifacts in folders, deleted runs and experiments, renames.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TrackingStore } from "../../src/store/store.ts";

const T = 1_767_225_600_000;
const TRAPS = [
  "yes",
  "no",
  "on",
  "off",
  "null",
  "~",
  "12:30",
  "0123",
  "1_000",
  "2024-01-01",
  "1e3",
  ".inf",
  "true",
  "'quoted'",
  'say "hi"',
  "a: b",
  "- item",
  "#hash",
  "multi\nline",
  "tab\there",
  "trailing ",
  " leading",
  "é 中 😀",
  "back\\slash",
];

export async function writeVariedTree(store: TrackingStore): Promise<void> {
  const files = await mkdtemp(join(tmpdir(), "mlruns-varied-"));
  try {
    await writeFile(join(files, "model.json"), JSON.stringify({ w: [1, 2, 3] }));
    await mkdir(join(files, "plots", "deep"), { recursive: true });
    await writeFile(join(files, "plots", "a.txt"), "a");
    await writeFile(join(files, "plots", "deep", "b.bin"), new Uint8Array([0, 1, 2, 255]));

    const team = await store.createExperiment("team/vision-a", {
      tags: { owner: "ml-team", "note/é": "ünïcode" },
    });
    const traps = await store.createExperiment("yes", { tags: { "12:30": "0123" } });
    const doomed = await store.createExperiment("to-delete");
    await store.renameExperiment(traps, "2024-01-01");

    const parent = await store.createRun({
      experimentId: team,
      runName: "parent",
      startTime: T,
      tags: { "mlflow.user": "alice" },
    });
    const child = await store.createRun({
      experimentId: team,
      runName: "child",
      startTime: T + 1,
      tags: { "mlflow.parentRunId": parent.info.runId },
    });
    await store.logBatch(parent.info.runId, {
      params: {
        lr: "0.01",
        "optimizer/name": "adam",
        paramètre: "café",
        layers: "[64, 32]",
        flag: "True",
        none: "None",
      },
      tags: { team: "vision", "nested/tag": "x", "mlflow.note.content": "# Notes\nline two" },
      metrics: [
        { key: "loss", value: 0.9, timestamp: T + 10, step: 0 },
        { key: "loss", value: 0.5, timestamp: T + 20, step: 1 },
        { key: "loss", value: 0.25, timestamp: T + 30, step: 2 },
        { key: "train/acc", value: 5, timestamp: T + 10, step: 0 },
        { key: "weird", value: Number.NaN, timestamp: T + 10, step: 0 },
        { key: "weird", value: Number.POSITIVE_INFINITY, timestamp: T + 11, step: 1 },
        { key: "weird", value: Number.NEGATIVE_INFINITY, timestamp: T + 12, step: -1 },
        { key: "tiny", value: 1e-7, timestamp: T, step: 0 },
        { key: "huge", value: 1e22, timestamp: T, step: 0 },
        { key: "neg0", value: -0, timestamp: T, step: 0 },
        { key: "ties", value: 5, timestamp: T, step: 2 },
        { key: "ties", value: 7, timestamp: T, step: 2 },
        { key: "ties", value: 9, timestamp: T - 1, step: 2 },
        { key: "métrique", value: 2.5e-3, timestamp: T, step: 0 },
      ],
    });
    await store.logInputs(parent.info.runId, [
      {
        dataset: {
          name: "iris",
          digest: "abc123",
          sourceType: "local",
          source: JSON.stringify({ uri: "data/iris.csv" }),
          schema: JSON.stringify({ mlflow_colspec: [{ name: "x", type: "double" }] }),
          profile: JSON.stringify({ num_rows: 150 }),
        },
        tags: { "mlflow.data.context": "training" },
      },
      {
        dataset: {
          name: "iris-eval",
          digest: "def456",
          sourceType: "code",
          source: "{}",
          schema: null,
          profile: null,
        },
        tags: { "mlflow.data.context": "eval" },
      },
    ]);
    await store.logArtifact(parent.info.runId, join(files, "model.json"), "model");
    await store.logArtifact(parent.info.runId, join(files, "plots"));
    await store.logArtifact(parent.info.runId, join(files, "model.json"));
    await store.updateRun(parent.info.runId, { status: "FINISHED", endTime: T + 100 });
    await store.logBatch(child.info.runId, {
      metrics: [{ key: "loss", value: 1, timestamp: T + 5, step: 0 }],
      params: { lr: "0.02" },
      tags: {},
    });
    await store.logArtifact(child.info.runId, join(files, "model.json"));
    await store.updateRun(child.info.runId, { status: "FAILED", endTime: T + 50 });

    for (const [i, trap] of TRAPS.entries()) {
      const run = await store.createRun({
        experimentId: traps,
        runName: trap.replace(/\n/g, " "),
        startTime: T + i,
      });
      await store.logBatch(run.info.runId, {
        params: { [`p${i}`]: trap },
        tags: { [`t${i}`]: trap },
        metrics: [{ key: "m", value: i, timestamp: T + i, step: i }],
      });
      await store.logArtifact(run.info.runId, join(files, "model.json"));
      if (i % 5 === 0)
        await store.updateRun(run.info.runId, { status: "KILLED", endTime: T + i + 1 });
    }

    const gone = await store.createRun({
      experimentId: team,
      runName: "deleted-run",
      startTime: T + 2,
    });
    await store.logBatch(gone.info.runId, {
      params: { x: "1" },
      metrics: [{ key: "m", value: 1, timestamp: T, step: 0 }],
    });
    await store.logArtifact(gone.info.runId, join(files, "model.json"));
    await store.deleteRun(gone.info.runId);

    const lost = await store.createRun({
      experimentId: doomed,
      runName: "in-deleted-experiment",
      startTime: T + 3,
    });
    await store.logBatch(lost.info.runId, {
      params: { y: "2" },
      metrics: [{ key: "m", value: 2, timestamp: T, step: 0 }],
    });
    await store.logArtifact(lost.info.runId, join(files, "model.json"));
    await store.deleteExperiment(doomed);

    const plain = await store.createRun({
      experimentId: "0",
      runName: "default-run",
      startTime: T + 4,
    });
    await store.logBatch(plain.info.runId, {
      params: { only: "param" },
      metrics: [{ key: "m", value: 0, timestamp: T, step: 0 }],
    });
    await store.logArtifact(plain.info.runId, join(files, "model.json"));
  } finally {
    await rm(files, { recursive: true, force: true });
  }
}
