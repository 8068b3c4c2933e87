/**
 * The demo: trains logistic regression (written here, no ML library) on a deterministic
 * two-moons-like dataset, sweeping learning rate and L2 strength. Each setting is one run in
 * ./mlruns with params, per-epoch metrics, tags, the model as JSON and a metrics CSV. Ends with a
 * table of the runs, best marked. Uses only the public API of the package.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getTracker } from "mlruns";

type Sample = { x: number[]; y: number };

/** Mulberry32: a small seeded PRNG, so every run of the demo sees the same data. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Two noisy interleaved half-circles, with quadratic features so a linear model can fit. */
function makeDataset(n: number, seed: number): Sample[] {
  const rand = random(seed);
  const samples: Sample[] = [];
  for (let i = 0; i < n; i++) {
    const y = i % 2;
    const angle = Math.PI * rand();
    const a = y === 0 ? Math.cos(angle) : 1 - Math.cos(angle);
    const b = (y === 0 ? Math.sin(angle) : 0.5 - Math.sin(angle)) + (rand() - 0.5) * 0.4;
    samples.push({ x: [a, b, a * a, b * b, a * b], y });
  }
  return samples;
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

function predict(w: number[], bias: number, x: number[]): number {
  return sigmoid(x.reduce((sum, xi, i) => sum + xi * (w[i] ?? 0), bias));
}

function evaluate(w: number[], bias: number, data: Sample[]) {
  let loss = 0;
  let correct = 0;
  for (const { x, y } of data) {
    const p = Math.min(Math.max(predict(w, bias, x), 1e-12), 1 - 1e-12);
    loss -= y * Math.log(p) + (1 - y) * Math.log(1 - p);
    if ((p >= 0.5 ? 1 : 0) === y) correct++;
  }
  return { loss: loss / data.length, accuracy: correct / data.length };
}

const data = makeDataset(600, 42);
const train = data.slice(0, 480);
const valid = data.slice(480);
const epochs = 30;
const sweep = [
  { learningRate: 0.05, l2: 0 },
  { learningRate: 0.2, l2: 0 },
  { learningRate: 0.2, l2: 0.01 },
  { learningRate: 0.8, l2: 0.001 },
];

const tracker = await getTracker({ experimentName: "demo/logistic-regression" });
// One tag value per invocation, so the table shows this sweep even when ./mlruns holds older ones.
const sweepId = new Date().toISOString();
const scratch = await mkdtemp(join(tmpdir(), "mlruns-demo-"));

for (const { learningRate, l2 } of sweep) {
  const name = `lr-${learningRate}-l2-${l2}`;
  await tracker.withRun(
    name,
    { tags: { model: "logistic-regression", sweep: sweepId } },
    async (run) => {
      await run.logParams({ learning_rate: learningRate, l2, epochs, features: 5, seed: 42 });
      await run.logInputs([
        {
          dataset: {
            name: "moons-600",
            digest: "seed42n600",
            sourceType: "code",
            source: JSON.stringify({ generator: "makeDataset", n: 600, seed: 42 }),
            schema: null,
            profile: JSON.stringify({ num_rows: 600 }),
          },
          tags: { "mlflow.data.context": "training" },
        },
      ]);
      const w = new Array<number>(5).fill(0);
      let bias = 0;
      const rows = ["epoch,train_loss,train_accuracy,val_loss,val_accuracy"];
      let last = { loss: Number.NaN, accuracy: 0 };
      for (let epoch = 0; epoch < epochs; epoch++) {
        for (const { x, y } of train) {
          const error = predict(w, bias, x) - y;
          for (let i = 0; i < w.length; i++) {
            w[i] = (w[i] ?? 0) - learningRate * (error * (x[i] ?? 0) + l2 * (w[i] ?? 0));
          }
          bias -= learningRate * error;
        }
        const fit = evaluate(w, bias, train);
        last = evaluate(w, bias, valid);
        run.logMetrics(
          {
            train_loss: fit.loss,
            train_accuracy: fit.accuracy,
            val_loss: last.loss,
            val_accuracy: last.accuracy,
          },
          { step: epoch },
        );
        rows.push([epoch, fit.loss, fit.accuracy, last.loss, last.accuracy].join(","));
      }
      await run.logDict({ type: "logistic-regression", weights: w, bias }, "model/model.json");
      const csv = join(scratch, "metrics.csv");
      await writeFile(csv, `${rows.join("\n")}\n`);
      await run.logArtifact(csv);
      await run.setTag("final_val_accuracy", last.accuracy.toFixed(4));
    },
  );
}
await rm(scratch, { recursive: true, force: true });

const { runs } = await tracker.searchRuns({
  filter: `tags.sweep = '${sweepId}'`,
  orderBy: ["metrics.val_accuracy DESC", "metrics.val_loss ASC"],
  maxResults: sweep.length,
});
const best = runs[0]?.info.runId;
console.log(`Experiment ${tracker.experimentId} in ${tracker.store.uri}\n`);
console.log("   run id                            name                  val_accuracy  val_loss");
for (const run of runs) {
  const mark = run.info.runId === best ? "*" : " ";
  const accuracy = (run.metrics.val_accuracy ?? Number.NaN).toFixed(4).padStart(12);
  const loss = (run.metrics.val_loss ?? Number.NaN).toFixed(4).padStart(9);
  console.log(` ${mark} ${run.info.runId}  ${run.info.runName.padEnd(20)}  ${accuracy}  ${loss}`);
}
console.log(`\n* best run: highest val_accuracy, then lowest val_loss (sweep ${sweepId}).`);
