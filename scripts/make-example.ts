/**
 * Writes mlruns.example/: a small tree made by this project through its public API, which the
 * compat tests check the real MLflow reads and migrates. Run with `npm run example`.
 *
 * A committed tree must not carry this machine's paths, so after writing, the absolute
 * `file://` artifact URIs are replaced by paths relative to the repository root, which MLflow
 * (and mlruns) resolve against the working directory: run `mlflow ui --backend-store-uri
 * mlruns.example` or `npx mlruns runs list --tracking-uri mlruns.example` from the repo root.
 * Every run has params, metrics and artifacts, so no folder is empty (git keeps none).
 */
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { getTracker } from "mlruns";

const target = resolve(process.argv[2] ?? "mlruns.example");
const scratch = await mkdtemp(join(tmpdir(), "mlruns-example-"));
const root = join(scratch, "mlruns.example");
const T = Date.UTC(2026, 0, 1);
// The script's own path would be this machine's absolute path.
const source = { "mlflow.source.name": "scripts/make-example.ts", "mlflow.user": "mlruns" };

const tracker = await getTracker({ trackingUri: root, experimentName: "example/quadratic-fit" });
for (const [i, lr] of [0.01, 0.05, 0.2].entries()) {
  await tracker.withRun(
    `lr-${lr}`,
    {
      tags: { ...source, purpose: "example" },
      description: "Fits y = 3x² - 2 by gradient descent.",
    },
    async (run) => {
      await run.logParams({ learning_rate: lr, epochs: 8, optimizer: "sgd" });
      let [a, b] = [0, 0];
      for (let epoch = 0; epoch < 8; epoch++) {
        let loss = 0;
        for (let x = -1; x <= 1; x += 0.25) {
          const error = a * x * x + b - (3 * x * x - 2);
          loss += error * error;
          a -= lr * error * x * x;
          b -= lr * error;
        }
        run.logMetrics(
          { loss: loss / 9, a, b },
          { step: epoch, timestamp: T + i * 60_000 + epoch * 1000 },
        );
      }
      await run.logDict({ a, b }, "model/coefficients.json");
      await run.logText(`learning rate ${lr}\n`, "notes.txt");
    },
  );
}
const scrapped = await getTracker({ trackingUri: root, experimentName: "example/scrapped" });
await scrapped.withRun("abandoned", { tags: source }, async (run) => {
  await run.logParam("reason", "kept to show a deleted experiment in .trash");
  run.logMetric("loss", 1, { timestamp: T });
  await run.logText("-", "empty.txt");
});
await scrapped.deleteExperiment(scrapped.experimentId);

async function relativize(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await relativize(path);
    else if (entry.name === "meta.yaml") {
      const text = await readFile(path, "utf8");
      await writeFile(path, text.replaceAll(pathToFileURL(root).href, "mlruns.example"));
    }
  }
}
await relativize(root);
await rm(target, { recursive: true, force: true });
await cp(root, target, { recursive: true });
await rm(scratch, { recursive: true, force: true });
console.log(`wrote ${target}`);
