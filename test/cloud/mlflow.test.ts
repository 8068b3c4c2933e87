/**
 * Artifacts where teams keep them, against real parts: for each of S3 (moto), GCS
 * (gcp-storage-emulator) and Azure Blob Storage (Azurite), a real `mlflow server
 * --no-serve-artifacts` whose artifact root is a bucket of that emulator. We log through the
 * RestStore and sync a tree (with a 200 MB file) straight into the bucket, MLflow's own Python
 * client downloads every file byte-identical, a sync killed in the middle of the large upload
 * shows nothing half-written and resumes without sending everything again, pull brings the files
 * back, and bad credentials give a clear error and write nothing.
 */
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { isMlflowError } from "../../src/errors.ts";
import { getTracker } from "../../src/index.ts";
import { FileStore } from "../../src/store/file/index.ts";
import { RestStore } from "../../src/store/rest/index.ts";
import { sync } from "../../src/sync/index.ts";
import {
  cloudPython,
  type Emulator,
  relay,
  runCloudPython,
  startAzurite,
  startGcsEmulator,
  startMoto,
} from "../helpers/emulators.ts";
import { REPO_ROOT } from "../helpers/mlflow-env.ts";
import { type MlflowServer, startMlflowServer } from "../helpers/mlflow-server.ts";

const BIG = 200 * 1024 * 1024;
const SCRIPT = join(REPO_ROOT, "test", "cloud", "mlflow_artifacts.py");
const quiet = { onProblem: () => {} };

let scratch: string;
let bigFile: string;
let bigSha: string;

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
const sha = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex");

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "mlruns-cloud-"));
  bigFile = join(scratch, "weights.bin");
  // Random, so that no store can compress or deduplicate it away.
  const chunk = 16 * 1024 * 1024;
  const parts: Buffer[] = [];
  for (let done = 0; done < BIG; done += chunk)
    parts.push(randomBytes(Math.min(chunk, BIG - done)));
  await writeFile(bigFile, Buffer.concat(parts));
  bigSha = await sha256File(bigFile);
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** MLflow's Python client, with the bucket's credentials in its environment. */
async function mlflowClient(
  server: MlflowServer | string,
  env: Record<string, string>,
  args: string[],
): Promise<unknown> {
  const out = await runCloudPython([SCRIPT, ...args], {
    ...process.env,
    ...env,
    MLFLOW_TRACKING_URI: typeof server === "string" ? server : server.url,
    MLFLOW_ALLOW_FILE_STORE: "true",
    MLFLOW_DISABLE_TELEMETRY: "true",
    PYTHONWARNINGS: "ignore",
  });
  return JSON.parse(out);
}

/** A tree with one run: params, metrics, small artifacts and the 200 MB file. */
async function writeTree(root: string): Promise<string> {
  const store = new FileStore(root, quiet);
  const experimentId = await store.createExperiment("cloud-sync");
  const run = await store.createRun({ experimentId, runName: "big" });
  const runId = run.info.runId;
  await store.logBatch(runId, {
    params: { lr: "0.01" },
    metrics: [{ key: "loss", value: 0.5, timestamp: 1, step: 0 }],
  });
  const local = join(root, "..", "outputs");
  await mkdir(join(local, "nested dir"), { recursive: true });
  await writeFile(join(local, "notes.txt"), "small and plain");
  await writeFile(join(local, "nested dir", "conf.json"), '{"a": 1}');
  await store.logArtifact(runId, local);
  await store.logArtifact(runId, bigFile, "model");
  await store.updateRun(runId, { status: "FINISHED", endTime: Date.now() });
  await store.flush();
  return runId;
}

/**
 * Sets variables in this process (the RestStore reads them as MLflow's client does); undefined
 * removes one. Returns what puts them back.
 */
function useEnv(env: Record<string, string | undefined>): () => void {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  return () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

const emulators: [string, () => Promise<Emulator>][] = [
  ["S3 (moto)", startMoto],
  ["GCS (gcp-storage-emulator)", startGcsEmulator],
  ["Azure Blob Storage (Azurite)", startAzurite],
];

describe.each(emulators)("%s behind mlflow server --no-serve-artifacts", (_name, start) => {
  let emulator: Emulator;
  let server: MlflowServer;
  let restore: () => void;

  beforeAll(async () => {
    emulator = await start();
    server = await startMlflowServer({ version: "cloud", artifactRoot: emulator.root("mlflow") });
    // GCS chunks of 10 MiB, as S3 and Azure parts: the killed sync then leaves several behind.
    restore = useEnv({
      ...emulator.env,
      XDG_CACHE_HOME: join(scratch, "cache"),
      MLFLOW_GCS_UPLOAD_CHUNK_SIZE: String(10 * 1024 * 1024),
    });
  });
  afterAll(async () => {
    restore?.();
    await server?.stop();
    await emulator?.stop();
  });

  test("the RestStore logs artifacts straight into the bucket; MLflow's client downloads them byte-identical", async () => {
    const store = new RestStore(server.url);
    const experimentId = await store.createExperiment(`rest-${randomBytes(4).toString("hex")}`);
    const run = await store.createRun({ experimentId });
    const runId = run.info.runId;
    expect(run.info.artifactUri).toBe(
      `${emulator.root("mlflow")}/${experimentId}/${runId}/artifacts`,
    );
    const local = join(scratch, `rest-${runId}`);
    await mkdir(join(local, "sub"), { recursive: true });
    await writeFile(join(local, "a.txt"), "alpha");
    await writeFile(join(local, "sub", "b.csv"), "x,y\n1,2\n");
    await store.logArtifact(runId, local, "inputs");
    await store.putArtifact(runId, "streamed/c.bin", Buffer.from("gamma"));

    expect(await store.listArtifacts(runId)).toEqual([
      { path: "inputs", isDir: true },
      { path: "streamed", isDir: true },
    ]);
    const name = local.slice(local.lastIndexOf("/") + 1);
    expect(Buffer.from(await store.readArtifact(runId, `inputs/${name}/a.txt`)).toString()).toBe(
      "alpha",
    );
    const digests = await mlflowClient(server, emulator.env, [
      "download",
      runId,
      join(scratch, `dl-${runId}`),
    ]);
    expect(digests).toEqual({
      [`inputs/${name}/a.txt`]: sha("alpha"),
      [`inputs/${name}/sub/b.csv`]: sha("x,y\n1,2\n"),
      "streamed/c.bin": sha("gamma"),
    });
  });

  test("sync pushes a tree with a 200 MB file; a killed sync shows nothing half-written and resumes; pull brings it back", async () => {
    const root = join(scratch, `tree-${emulator.kind}`, "mlruns");
    const runId = await writeTree(root);
    const env = { ...process.env, ...emulator.env, XDG_CACHE_HOME: join(scratch, "cache") };

    // The CLI, killed with SIGKILL once the emulator has received 60 MB.
    const before = emulator.received();
    const child = spawn(
      process.execPath,
      [join(REPO_ROOT, "dist", "cli", "main.js"), "sync", root, "--to", server.url],
      {
        env,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.on("exit", (code) => resolve(code)),
    );
    for (;;) {
      const done = await Promise.race([
        exited.then(() => true),
        new Promise((r) => setTimeout(r, 20)).then(() => false),
      ]);
      if (done) throw new Error(`the sync ended before it was killed:\n${output}`);
      if (emulator.received() - before > 60 * 1024 * 1024) break;
    }
    child.kill("SIGKILL");
    await exited;

    const target = new RestStore(server.url);
    const [copy] = (
      await target.searchRuns({
        experimentIds: [(await target.getExperimentByName("cloud-sync"))?.experimentId ?? ""],
      })
    ).runs;
    expect(copy).toBeDefined();
    const targetRunId = copy?.info.runId ?? "";
    // MLflow's client sees no part of the large file.
    expect(await mlflowClient(server, emulator.env, ["list", targetRunId])).not.toContain(
      "model/weights.bin",
    );

    const resumedFrom = emulator.received();
    const report = await sync({ source: new FileStore(root, quiet), target });
    const resent = emulator.received() - resumedFrom;
    expect(report.issues).toEqual([]);
    // Parts already in the bucket were not sent again.
    expect(resent).toBeLessThan(BIG - 40 * 1024 * 1024);

    const digests = (await mlflowClient(server, emulator.env, [
      "download",
      targetRunId,
      join(scratch, `dl-${targetRunId}`),
    ])) as Record<string, string>;
    expect(digests["model/weights.bin"]).toBe(bigSha);
    expect(digests["outputs/notes.txt"]).toBe(sha("small and plain"));
    expect(digests["outputs/nested dir/conf.json"]).toBe(sha('{"a": 1}'));

    // And back: pull into a new tree reads the bucket.
    const pulled = join(scratch, `pulled-${emulator.kind}`, "mlruns");
    const back = await sync({ source: target, target: new FileStore(pulled, quiet) });
    expect(back.issues).toEqual([]);
    const local = new FileStore(pulled, quiet);
    const [experiment] = (await local.listExperiments()).filter((e) => e.name === "cloud-sync");
    const [pulledRun] = await local.listRuns([experiment?.experimentId ?? ""]);
    const source = await local.openArtifact(pulledRun?.info.runId ?? "", "model/weights.bin");
    (source.stream as Readable).destroy();
    expect(source.size).toBe(BIG);
    expect(await sha256File(source.file ?? "")).toBe(bigSha);
    expect(runId).not.toBe(targetRunId);
  });

  test("a tree whose experiment keeps artifacts in the bucket: logArtifact writes there, MLflow reads the tree's files byte-identical, sync copies them", async () => {
    const root = join(scratch, `bucketed-${emulator.kind}`, "mlruns");
    const tracker = await getTracker({
      trackingUri: root,
      experimentName: "bucketed",
      artifactLocation: emulator.root("tree-artifacts"),
    });
    const medium = randomBytes(12 * 1024 * 1024 + 5);
    const mediumFile = join(scratch, `medium-${emulator.kind}.bin`);
    await writeFile(mediumFile, medium);
    const runId = await tracker.withRun("bucketed", {}, async (run) => {
      await run.logArtifact(mediumFile, "data");
      await run.logText("hello bucket", "notes/hello.txt");
      return run.id;
    });
    const info = await tracker.getRun(runId);
    expect(info.info.artifactUri.startsWith(emulator.root("tree-artifacts"))).toBe(true);
    expect(await tracker.store.listArtifacts(runId, "notes")).toEqual([
      { path: "notes/hello.txt", isDir: false, fileSize: 12 },
    ]);
    const expected = {
      [`data/medium-${emulator.kind}.bin`]: sha(medium),
      "notes/hello.txt": sha("hello bucket"),
    };
    expect(
      await mlflowClient(`file://${root}`, emulator.env, [
        "download",
        runId,
        join(scratch, `dl-tree-${runId}`),
      ]),
    ).toEqual(expected);

    const report = await sync({
      source: new FileStore(root, quiet),
      target: new RestStore(server.url),
    });
    expect(report.issues).toEqual([]);
    const target = new RestStore(server.url);
    const experiment = await target.getExperimentByName("bucketed");
    const [copy] = (await target.searchRuns({ experimentIds: [experiment?.experimentId ?? ""] }))
      .runs;
    expect(
      await mlflowClient(server, emulator.env, [
        "download",
        copy?.info.runId ?? "",
        join(scratch, `dl-copy-${runId}`),
      ]),
    ).toEqual(expected);
  });

  test("bad credentials give a clear error and write nothing", async () => {
    const store = new RestStore(server.url);
    const experimentId = await store.createExperiment(`bad-${randomBytes(4).toString("hex")}`);
    const runId = (await store.createRun({ experimentId })).info.runId;
    const file = join(scratch, `secret-${runId}.txt`);
    await writeFile(file, "should not arrive");
    const none = Object.fromEntries(Object.keys(emulator.env).map((k) => [k, undefined]));
    const undo = useEnv({ ...none, ...emulator.badEnv });
    let error: unknown;
    try {
      error = await store.logArtifact(runId, file).then(
        () => undefined,
        (e: unknown) => e,
      );
    } finally {
      undo();
    }
    expect(isMlflowError(error, "UNAUTHENTICATED")).toBe(true);
    expect((error as { hint?: string }).hint).toBeTruthy();
    expect(await store.listArtifacts(runId)).toEqual([]);
    expect(await mlflowClient(server, emulator.env, ["list", runId])).toEqual([]);
  });
});

describe("S3 (moto) behind mlflow server --serve-artifacts", () => {
  let emulator: Emulator;
  let server: MlflowServer;
  let front: Awaited<ReturnType<typeof relay>>;

  beforeAll(async () => {
    emulator = await startMoto({ checkKeys: false });
    server = await startMlflowServer({
      version: "cloud",
      artifactsDestination: emulator.root("proxied"),
      env: emulator.env,
    });
    // Every byte our client sends to the server is counted on the way.
    front = await relay(server.port);
  });
  afterAll(async () => {
    await front?.stop();
    await server?.stop();
    await emulator?.stop();
  });

  test("a large file goes through MLflow 3's presigned multipart upload, not through the server", async () => {
    const store = new RestStore(front.url);
    const experimentId = await store.createExperiment(`mpu-${randomBytes(4).toString("hex")}`);
    const run = await store.createRun({ experimentId });
    expect(run.info.artifactUri.startsWith("mlflow-artifacts:/")).toBe(true);
    const data = randomBytes(25 * 1024 * 1024 + 3);
    const file = join(scratch, "presigned.bin");
    await writeFile(file, data);
    const toServer = front.received();
    const toBucket = emulator.received();
    await store.logArtifact(run.info.runId, file, "model");
    expect(front.received() - toServer).toBeLessThan(1024 * 1024);
    expect(emulator.received() - toBucket).toBeGreaterThan(data.length);
    expect(sha(await store.readArtifact(run.info.runId, "model/presigned.bin"))).toBe(sha(data));
    const digests = await mlflowClient(server, {}, [
      "download",
      run.info.runId,
      join(scratch, "dl-mpu"),
    ]);
    expect(digests).toEqual({ "model/presigned.bin": sha(data) });
  });
});

test("the cloud venv's MLflow is the pinned one", async () => {
  expect((await cloudPython("import mlflow; print(mlflow.__version__)")).trim()).toMatch(/^3\./);
});
