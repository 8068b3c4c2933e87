/**
 * Upload throughput into object stores: one large file (200 MB, `MLRUNS_BENCH_ARTIFACT_MB`) put
 * by our repository and by MLflow's own artifact repository for the same URI (boto3,
 * google-cloud-storage, azure-storage-blob), on the same emulator, one after the other: moto's S3,
 * gcp-storage-emulator and Azurite, each behind the tests' counting relay. Best of two each.
 */

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openRepository } from "../../src/artifacts/open.ts";
import {
  type Emulator,
  startAzurite,
  startGcsEmulator,
  startMoto,
} from "../../test/helpers/emulators.ts";
import { ensureMlflowEnvs, MLFLOW_ENV, REPO_ROOT, venvBin } from "../../test/helpers/mlflow-env.ts";
import type { Row } from "./report.ts";

const MB = Number(process.env.MLRUNS_BENCH_ARTIFACT_MB ?? 200);

function mlflowSeconds(uri: string, file: string, env: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      venvBin("cloud", "python"),
      [join(REPO_ROOT, "scripts", "bench", "artifacts_upload.py"), uri, file],
      { env: { ...process.env, ...MLFLOW_ENV, ...env }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) reject(new Error(`MLflow's upload failed:\n${err.slice(-2000)}`));
      else
        resolve((JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as { seconds: number }).seconds);
    });
  });
}

export async function artifactsBench(): Promise<Row[]> {
  await ensureMlflowEnvs(["emulators", "cloud", "azurite"]);
  const dir = await mkdtemp(join(tmpdir(), "mlruns-bench-artifacts-"));
  const file = join(dir, "weights.bin");
  await writeFile(file, randomBytes(MB * 1024 * 1024));
  const rows: Row[] = [];
  const starts: [string, () => Promise<Emulator>][] = [
    ["S3 (moto)", startMoto],
    ["GCS (gcp-storage-emulator)", startGcsEmulator],
    ["Azure Blob (Azurite)", startAzurite],
  ];
  try {
    for (const [name, start] of starts) {
      const emulator = await start();
      try {
        const env = { ...emulator.env, HOME: dir, XDG_CACHE_HOME: join(dir, "cache") };
        let ours = Number.POSITIVE_INFINITY;
        let theirs = Number.POSITIVE_INFINITY;
        for (let round = 0; round < 2; round++) {
          const repository = await openRepository(emulator.root(`bench/ours-${round}`), { env });
          const began = performance.now();
          await repository.put("weights.bin", { file });
          ours = Math.min(ours, (performance.now() - began) / 1000);
          theirs = Math.min(
            theirs,
            await mlflowSeconds(emulator.root(`bench/mlflow-${round}`), file, env),
          );
        }
        rows.push({
          what: `upload a ${MB} MB file to ${name}`,
          ours: `${(MB / ours).toFixed(0)} MB/s`,
          mlflow: `${(MB / theirs).toFixed(0)} MB/s`,
          ratio: `${(theirs / ours).toFixed(2)}x`,
        });
      } finally {
        await emulator.stop();
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return rows;
}
