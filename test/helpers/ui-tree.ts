/**
 * A tree with known runs for the web UI's tests and screenshots: an experiment "vision/resnet"
 * with a sweep (a parent run and 6 children over the learning rate and depth), 3 more runs
 * (one FAILED, one deleted), metrics with 200 steps, a description in markdown, a dataset, and
 * artifacts of every previewed kind; a second experiment "nlp/bert" with 2 runs; a registered
 * model with two versions, an alias and a stage. Values are derived from the run's index, so the
 * tests know what the page must show.
 */
import { deflateSync } from "node:zlib";
import { FileStore, getTracker } from "mlruns";

export const SWEEP = [
  { lr: 0.1, depth: 18 },
  { lr: 0.03, depth: 18 },
  { lr: 0.01, depth: 18 },
  { lr: 0.1, depth: 50 },
  { lr: 0.03, depth: 50 },
  { lr: 0.01, depth: 50 },
];
export const STEPS = 200;
/** What a training script would record (the test runner's own file name otherwise). */
const SOURCE = { "mlflow.source.name": "train.py" };

/** The loss curve of sweep child i: decreasing, with a spike at step 120 for child 0. */
export function lossAt(i: number, step: number): number {
  const base = 2.5 * Math.exp(-step / (40 + 15 * i)) + 0.05 * (i + 1);
  return i === 0 && step === 120 ? base + 5 : base;
}
export const accuracyOf = (i: number) => Number((0.7 + 0.04 * i).toFixed(2));

export interface UiTree {
  root: string;
  experimentId: string;
  otherExperimentId: string;
  parentId: string;
  childIds: string[];
  failedId: string;
  deletedId: string;
  /** The run with artifacts, description and dataset ("baseline"). */
  baselineId: string;
}

/** A 2×2 PNG (red, green / blue, white), made here so no binary file is checked in. */
export function tinyPng(): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf: Buffer) => {
    let c = 0xffffffff;
    for (const b of buf) c = (crcTable[(c ^ b) & 0xff] as number) ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(body));
    return Buffer.concat([length, body, sum]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(2, 0);
  header.writeUInt32BE(2, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const pixels = Buffer.from([0, 255, 0, 0, 0, 255, 0, 0, 0, 0, 255, 255, 255, 255]);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(pixels)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

export async function writeUiTree(root: string): Promise<UiTree> {
  const store = new FileStore(root);
  const tracker = await getTracker({ trackingUri: root, experimentName: "vision/resnet" });
  const experimentId = tracker.experimentId;
  const t0 = Date.UTC(2026, 0, 15, 9, 0, 0);

  const baseline = await tracker.startRun("baseline", {
    tags: { team: "vision", ...SOURCE },
    description:
      "# Baseline\n\nResNet-18 with **default** settings. See [the paper](https://arxiv.org/abs/1512.03385).\n\n<script>alert(1)</script>",
  });
  await baseline.logParams({ lr: 0.05, depth: 18, optimizer: "sgd" });
  for (let step = 0; step < STEPS; step++) {
    baseline.logMetrics(
      { loss: 2 * Math.exp(-step / 60) + 0.2, accuracy: 0.5 + step / 800 },
      { step, timestamp: t0 + step * 1000 },
    );
  }
  await baseline.logText("epoch 1 done\nepoch 2 done\n", "logs/train.log");
  await baseline.logDict({ layers: [64, 128], dropout: 0.1 }, "config.json");
  await baseline.logDict({ model: "resnet18", batch_size: 32 }, "config.yaml");
  await baseline.logText(
    "class,precision,recall\ncat,0.91,0.88\ndog,0.87,0.9\n",
    "eval/metrics.csv",
  );
  await baseline.logModel({
    artifactPath: "model",
    model: { weights: [0.1, 0.2] },
    registeredModelName: "resnet-classifier",
  });
  await baseline.logInputs([
    {
      dataset: {
        name: "imagenet-mini",
        digest: "a1b2c3d4",
        sourceType: "local",
        source: "/data/imagenet-mini",
        schema: null,
        profile: null,
      },
      tags: { "mlflow.data.context": "training" },
    },
  ]);
  const pngFile = `${root}/../tiny.png`;
  const { writeFile, rm } = await import("node:fs/promises");
  await writeFile(pngFile, tinyPng());
  await baseline.logArtifact(pngFile, "images");
  await rm(pngFile);
  await baseline.end();

  const parent = await tracker.startRun("sweep", { tags: { team: "vision", ...SOURCE } });
  const childIds: string[] = [];
  for (const [i, { lr, depth }] of SWEEP.entries()) {
    const child = await tracker.startRun(`lr-${lr}-d${depth}`, {
      parentRunId: parent.id,
      tags: { team: "vision", ...SOURCE },
    });
    await child.logParams({ lr, depth, optimizer: "adam" });
    for (let step = 0; step < STEPS; step++) {
      child.logMetric("loss", lossAt(i, step), {
        step,
        timestamp: t0 + 3_600_000 + i * 600_000 + step * 2000,
      });
    }
    child.logMetric("accuracy", accuracyOf(i), {
      step: STEPS - 1,
      timestamp: t0 + 3_600_000 + i * 600_000 + STEPS * 2000,
    });
    await child.end();
    childIds.push(child.id);
  }
  await parent.end();

  const failed = await tracker.startRun("diverged", { tags: { team: "vision", ...SOURCE } });
  await failed.logParams({ lr: 1, depth: 18 });
  failed.logMetric("loss", Number.NaN, { step: 3 });
  await failed.end("FAILED");

  const deleted = await tracker.startRun("scratch");
  await deleted.end();
  await tracker.deleteRun(deleted.id);

  const registry = tracker.registry;
  const second = await tracker.registerModel({
    modelUri: `runs:/${childIds[5]}/model`,
    name: "resnet-classifier",
  });
  await registry.setRegisteredModelAlias("resnet-classifier", "champion", second.version);
  await registry.transitionModelVersionStage("resnet-classifier", "1", "Staging");
  await registry.setRegisteredModelTag("resnet-classifier", "task", "classification");

  const nlp = await getTracker({ trackingUri: root, experimentName: "nlp/bert" });
  for (const name of ["bert-base", "bert-large"]) {
    await nlp.withRun(name, { tags: SOURCE }, async (run) => {
      await run.logParam("size", name.split("-")[1] as string);
      run.logMetric("f1", name === "bert-base" ? 0.81 : 0.86, { step: 1 });
    });
  }
  await store.flush();
  return {
    root,
    experimentId,
    otherExperimentId: nlp.experimentId,
    parentId: parent.id,
    childIds,
    failedId: failed.id,
    deletedId: deleted.id,
    baselineId: baseline.id,
  };
}
