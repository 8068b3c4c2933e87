/**
 * Real object-store emulators for the cloud artifact tests, each on 127.0.0.1 and a free port,
 * started by the tests and stopped by them (or killed when the test process exits):
 *
 * - S3: moto's server mode, with IAM checks turned on once a user and its key exist, so
 *   signatures and keys are verified and a wrong key is refused as on AWS;
 * - GCS: gcp-storage-emulator (the JSON API with resumable uploads);
 * - Azure Blob Storage: Azurite, Microsoft's emulator, which verifies Shared Key signatures.
 *
 * They come from `scripts/mlflow-env.sh emulators cloud azurite`, run once by the global set-up.
 * Buckets, users and containers are made with the official Python SDKs (boto3, google-cloud-storage,
 * azure-storage-blob), not with the code under test.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { type AddressInfo, connect, createServer as createNetServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cacheRoot, MLFLOW_ENV, venvDir } from "./mlflow-env.ts";
import { freePort } from "./mlflow-server.ts";

export const AZURITE_VERSION = "3.37.0";
export const BUCKET = "mlruns-test";
/** Azurite's well-known development account (public, in Microsoft's documentation). */
export const AZURITE_ACCOUNT = "devstoreaccount1";
export const AZURITE_KEY =
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

export interface Emulator {
  kind: "s3" | "gcs" | "azure";
  /** The emulator's base URL. */
  url: string;
  /** What a client (ours or MLflow's Python client) needs to reach it with good credentials. */
  env: Record<string, string>;
  /** The same, with credentials the emulator refuses. */
  badEnv: Record<string, string>;
  /** An artifact URI under the test bucket or container. */
  root(name: string): string;
  /** Bytes clients have sent to the emulator so far (counted by a TCP relay in front of it). */
  received(): number;
  log(): string;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) kill(child, "SIGKILL");
});

function kill(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Gone already.
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts `command` in its own process group and waits until `ready` says yes. */
async function service(
  name: string,
  command: string,
  args: string[],
  ready: () => Promise<boolean>,
  env: Record<string, string> = {},
  cwd?: string,
) {
  let output = "";
  const child = spawn(command, args, {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
    ...(cwd ? { cwd } : {}),
  });
  running.add(child);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.once("exit", () => running.delete(child));
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-20_000);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  let spawnError: Error | undefined;
  child.once("error", (error) => {
    spawnError = error;
  });
  const stop = async () => {
    kill(child, "SIGTERM");
    await Promise.race([exited, sleep(5000)]);
    kill(child, "SIGKILL");
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (spawnError || child.exitCode !== null) {
      await stop();
      throw new Error(
        `${name} exited before it was ready${spawnError ? ` (${spawnError.message})` : ""}:\n${output}`,
      );
    }
    if (await ready().catch(() => false)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${name} was not ready within 60 s:\n${output}`);
    }
    await sleep(200);
  }
  return { stop, log: () => output };
}

/**
 * A plain TCP relay from a free port to `port`, counting the bytes clients send: every client,
 * ours and MLflow's, talks to the emulator through it, unchanged (signatures include the host).
 */
export async function relay(port: number) {
  let received = 0;
  const sockets = new Set<Socket>();
  const server = createNetServer((client) => {
    const upstream = connect(port, "127.0.0.1");
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on("data", (chunk: Buffer) => {
      received += chunk.length;
    });
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port: relayPort } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${relayPort}`,
    received: () => received,
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Runs the set-up of a started emulator; stops the emulator when the set-up fails. */
async function settingUp<T>(stop: () => Promise<void>, setup: () => Promise<T>): Promise<T> {
  try {
    return await setup();
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * The cloud venv's Python (MLflow and the official SDKs) with `args`, in exactly `env`: its
 * stdout, or an error with the end of its stderr.
 */
export function runCloudPython(args: readonly string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(venvDir("cloud"), "bin", "python"), args, {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`python exited ${code}:\n${err.slice(-4000)}`)),
    );
  });
}

/** Runs Python code in the cloud venv, with `env` added. */
export function cloudPython(code: string, env: Record<string, string> = {}): Promise<string> {
  return runCloudPython(["-c", code], { ...process.env, ...MLFLOW_ENV, ...env });
}

/**
 * `checkKeys: false` leaves IAM checks off: moto cannot check presigned URLs (query-string
 * signatures) with them on, so a test of presigned uploads runs without.
 */
export async function startMoto(options: { checkKeys?: boolean } = {}): Promise<Emulator> {
  const port = await freePort();
  const direct = `http://127.0.0.1:${port}`;
  const bin = join(cacheRoot(), "venvs", "emulators", "bin", "moto_server");
  const proc = await service(
    "moto",
    bin,
    ["-H", "127.0.0.1", "-p", String(port)],
    async () => (await fetch(`${direct}/moto-api/`)).ok,
  );
  const front = await relay(port);
  const url = front.url;
  const base = {
    MLFLOW_S3_ENDPOINT_URL: url,
    AWS_DEFAULT_REGION: "us-east-1",
    AWS_EC2_METADATA_DISABLED: "true",
  };
  // A bucket and a user with a key, then IAM checks on: from here on only that key works.
  const keys = await settingUp(proc.stop, () =>
    cloudPython(
      `
import boto3, json
kw = dict(endpoint_url="${url}", region_name="us-east-1", aws_access_key_id="setup", aws_secret_access_key="setup")
boto3.client("s3", **kw).create_bucket(Bucket="${BUCKET}")
iam = boto3.client("iam", **kw)
iam.create_user(UserName="mlruns")
iam.put_user_policy(UserName="mlruns", PolicyName="s3", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
key = iam.create_access_key(UserName="mlruns")["AccessKey"]
print(json.dumps([key["AccessKeyId"], key["SecretAccessKey"]]))
`,
    ),
  );
  const [id, secret] = JSON.parse(keys) as [string, string];
  if (options.checkKeys !== false) {
    await settingUp(proc.stop, async () => {
      const reset = await fetch(`${url}/moto-api/reset-auth`, { method: "POST", body: "0" });
      if (!reset.ok) throw new Error(`moto refused to turn on IAM checks: HTTP ${reset.status}`);
    });
  }
  return {
    kind: "s3",
    url,
    env: { ...base, AWS_ACCESS_KEY_ID: id, AWS_SECRET_ACCESS_KEY: secret },
    badEnv: { ...base, AWS_ACCESS_KEY_ID: id, AWS_SECRET_ACCESS_KEY: `${secret.slice(0, -4)}XXXX` },
    root: (name) => `s3://${BUCKET}/${name}`,
    log: proc.log,
    received: front.received,
    stop: async () => {
      await front.stop();
      await proc.stop();
    },
  };
}

export async function startGcsEmulator(): Promise<Emulator> {
  const port = await freePort();
  const direct = `http://127.0.0.1:${port}`;
  const bin = join(cacheRoot(), "venvs", "emulators", "bin", "gcp-storage-emulator");
  const proc = await service(
    "gcp-storage-emulator",
    bin,
    [
      "start",
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--in-memory",
      "--default-bucket",
      BUCKET,
    ],
    async () => (await fetch(`${direct}/storage/v1/b/${BUCKET}`)).ok,
  );
  const front = await relay(port);
  const url = front.url;
  const env = { STORAGE_EMULATOR_HOST: url, GOOGLE_CLOUD_PROJECT: "mlruns-test" };
  return {
    kind: "gcs",
    url,
    env,
    // The emulator checks no tokens; a key file that cannot be read is what a client can get wrong.
    badEnv: {
      GOOGLE_CLOUD_PROJECT: "mlruns-test",
      GOOGLE_APPLICATION_CREDENTIALS: join(tmpdir(), "mlruns-no-such-key.json"),
    },
    root: (name) => `gs://${BUCKET}/${name}`,
    log: proc.log,
    received: front.received,
    stop: async () => {
      await front.stop();
      await proc.stop();
    },
  };
}

export async function startAzurite(): Promise<Emulator> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), "mlruns-azurite-"));
  const bin = join(
    cacheRoot(),
    `azurite-${AZURITE_VERSION}`,
    "node_modules",
    ".bin",
    "azurite-blob",
  );
  const proc = await service(
    "azurite",
    bin,
    [
      "--blobHost",
      "127.0.0.1",
      "--blobPort",
      String(port),
      "--location",
      dir,
      "--silent",
      "--skipApiVersionCheck",
    ],
    async () =>
      (await fetch(`http://127.0.0.1:${port}/${AZURITE_ACCOUNT}?comp=list`)).status === 403,
  );
  const front = await relay(port);
  const url = front.url;
  const connection = (key: string) =>
    `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${key};BlobEndpoint=${url}/${AZURITE_ACCOUNT};`;
  const env = { AZURE_STORAGE_CONNECTION_STRING: connection(AZURITE_KEY) };
  await settingUp(proc.stop, () =>
    cloudPython(
      `from azure.storage.blob import BlobServiceClient
BlobServiceClient.from_connection_string("${env.AZURE_STORAGE_CONNECTION_STRING}").create_container("${BUCKET}")`,
    ),
  );
  return {
    kind: "azure",
    url,
    env,
    badEnv: {
      AZURE_STORAGE_CONNECTION_STRING: connection(
        Buffer.from("not the account key").toString("base64"),
      ),
    },
    root: (name) => `wasbs://${BUCKET}@${AZURITE_ACCOUNT}.blob.core.windows.net/${name}`,
    log: proc.log,
    received: front.received,
    stop: async () => {
      await front.stop();
      await proc.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
