/**
 * `mlruns server` over a tree whose experiment keeps its artifacts in a bucket, for each of S3
 * (moto), GCS (gcp-storage-emulator) and Azure Blob Storage (Azurite). The server, the built CLI
 * in its own process, holds the bucket's credentials; MLflow's Python client has none, so it can
 * only log, register and download through the server's artifact proxy. The files land in the
 * bucket, not in the tree, and come back byte-identical.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { openRepository } from "../../src/artifacts/open.ts";
import { readAll } from "../../src/artifacts/repository.ts";
import { FileStore } from "../../src/store/file/index.ts";
import { loggedModelsOf } from "../../src/store/store.ts";
import {
  type Emulator,
  runCloudPython,
  startAzurite,
  startGcsEmulator,
  startMoto,
} from "../helpers/emulators.ts";
import { REPO_ROOT } from "../helpers/mlflow-env.ts";

const SCRIPT = join(REPO_ROOT, "test", "cloud", "server_client.py");
const sha = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex");
const quiet = { onProblem: () => {} };

/** `mlruns server <root>` on a free port, with the bucket's credentials in its environment. */
async function serve(root: string, env: Record<string, string>) {
  const child: ChildProcess = spawn(
    process.execPath,
    [join(REPO_ROOT, "dist", "cli", "mlruns.js"), "server", root, "--port", "0", "--json"],
    { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let stdout = "";
    child.stdout?.on("data", (c: Buffer) => {
      stdout += c.toString();
      try {
        resolve((JSON.parse(stdout) as { url: string }).url);
      } catch {
        // Not all of it yet.
      }
    });
    child.once("exit", (code) => reject(new Error(`mlruns server exited ${code}: ${stderr}`)));
  });
  return {
    url,
    stderr: () => stderr,
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

interface Session {
  run_id: string;
  experiment_id: string;
  run_artifact_uri: string;
  experiment_location: string;
  model_id: string;
  model_artifact_location: string;
  download_uri: string;
  listed: string[];
  run_files: Record<string, string>;
  model_files: string[];
  prediction: number[];
}

/** MLflow's Python client with no cloud credentials (and no cloud variables) at all. */
async function pythonSession(url: string, experiment: string, work: string): Promise<Session> {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^(AWS_|MLFLOW_S3_|GOOGLE_|STORAGE_EMULATOR|AZURE_|CLOUDSDK_)/.test(k),
    ),
  );
  const out = await runCloudPython([SCRIPT, experiment, work], {
    ...clean,
    MLFLOW_TRACKING_URI: url,
    MLFLOW_DISABLE_TELEMETRY: "true",
    PYTHONWARNINGS: "ignore",
    // No shared credential files either.
    AWS_SHARED_CREDENTIALS_FILE: join(work, "none"),
    AWS_CONFIG_FILE: join(work, "none"),
    CLOUDSDK_CONFIG: join(work, "none"),
  });
  return JSON.parse(out.trim().split("\n").at(-1) ?? "") as Session;
}

const emulators: [string, () => Promise<Emulator>][] = [
  ["S3 (moto)", startMoto],
  ["GCS (gcp-storage-emulator)", startGcsEmulator],
  ["Azure Blob Storage (Azurite)", startAzurite],
];

describe.each(emulators)("mlruns server over a tree whose experiment is in %s", (_name, start) => {
  let emulator: Emulator;
  let scratch: string;
  let root: string;
  let server: Awaited<ReturnType<typeof serve>>;

  beforeAll(async () => {
    emulator = await start();
    scratch = await mkdtemp(join(tmpdir(), "mlruns-cloud-server-"));
    root = join(scratch, "mlruns");
    const store = new FileStore(root, quiet);
    await store.createExperiment("bucketed", { artifactLocation: emulator.root("served") });
    server = await serve(root, emulator.env);
  });
  afterAll(async () => {
    await server?.stop();
    await emulator?.stop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  test("MLflow's client without credentials logs, registers and downloads through the proxy; the files are in the bucket", async () => {
    const session = await pythonSession(server.url, "bucketed", join(scratch, "work"));
    const { run_id: runId, experiment_id: experimentId, model_id: modelId } = session;

    // The client is shown proxy URIs only.
    expect(session.experiment_location).toBe(`mlflow-artifacts:/${experimentId}`);
    expect(session.run_artifact_uri).toBe(`mlflow-artifacts:/${experimentId}/${runId}/artifacts`);
    expect(session.model_artifact_location).toBe(
      `mlflow-artifacts:/${experimentId}/models/${modelId}/artifacts`,
    );
    expect(session.download_uri).toBe(session.model_artifact_location);
    const expected = {
      "notes.txt": sha("a file"),
      "outputs/sub/conf.json": sha('{"a": 1}'),
      "text/hello.txt": sha("hello bucket"),
    };
    expect(session.listed).toEqual(["notes.txt", "outputs", "text"]);
    expect(session.run_files).toEqual(expected);
    expect(session.model_files).toContain("MLmodel");
    expect(session.model_files).toContain("python_model.pkl");
    expect(session.prediction).toEqual([2, 3]);

    // The tree keeps the bucket's URIs and no artifact files; the bucket holds them.
    const tree = new FileStore(root, quiet);
    const run = await tree.getRun(runId);
    const runUri = `${emulator.root("served")}/${runId}/artifacts`;
    expect(run.info.artifactUri).toBe(runUri);
    expect(existsSync(join(root, experimentId, runId, "artifacts", "notes.txt"))).toBe(false);
    const bucket = await openRepository(runUri, { env: emulator.env });
    for (const [path, digest] of Object.entries(expected)) {
      expect(sha(await readAll(bucket, path))).toBe(digest);
    }
    const model = await loggedModelsOf(tree).getLoggedModel(modelId);
    const modelUri = `${emulator.root("served")}/models/${modelId}/artifacts`;
    expect(model.artifactLocation).toBe(modelUri);
    const modelBucket = await openRepository(modelUri, { env: emulator.env });
    expect((await modelBucket.list()).map((f) => f.path)).toContain("MLmodel");
    expect(server.stderr()).not.toMatch(/INTERNAL_ERROR|Error:/);
  });
});
