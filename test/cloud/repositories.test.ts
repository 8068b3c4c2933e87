/**
 * Every artifact repository against a real server of its protocol (moto's S3, a GCS emulator,
 * Azurite) and the local one: the same operations, the same answers. Uploads use 5 MiB parts
 * (S3's smallest) so that multipart paths run on small files.
 */
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { openRepository } from "../../src/artifacts/open.ts";
import { readAll } from "../../src/artifacts/repository.ts";
import { isMlflowError } from "../../src/errors.ts";
import { type Emulator, startAzurite, startGcsEmulator, startMoto } from "../helpers/emulators.ts";
import { REPO_ROOT } from "../helpers/mlflow-env.ts";

const PART = 5 * 1024 * 1024;
const sha = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

interface Target {
  name: string;
  start: () => Promise<Emulator | undefined>;
}

const targets: Target[] = [
  { name: "local", start: async () => undefined },
  { name: "s3", start: startMoto },
  { name: "gcs", start: startGcsEmulator },
  { name: "azure", start: startAzurite },
  // An ADLS Gen2 URI, reached through the same account's Blob API.
  {
    name: "abfss",
    start: async () => {
      const azurite = await startAzurite();
      const root = (label: string) =>
        azurite.root(label).replace(/^wasbs:\/\/([^@]+)@([^.]+)\.blob\./, "abfss://$1@$2.dfs.");
      return { ...azurite, root };
    },
  },
];

describe.each(targets)("$name repository", ({ name, start }) => {
  let emulator: Emulator | undefined;
  let scratch: string;
  let env: Record<string, string>;
  let counter = 0;
  const rootUri = (label: string) =>
    emulator
      ? emulator.root(`${label}-${counter++}`)
      : pathToFileURL(join(scratch, `${label}-${counter++}`, "artifacts")).href;
  const open = (uri: string, extra: Record<string, string> = {}) =>
    openRepository(uri, { env: { ...env, ...extra } });

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), `mlruns-repo-${name}-`));
    emulator = await start();
    env = {
      HOME: scratch,
      XDG_CACHE_HOME: join(scratch, "cache"),
      MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE: String(PART),
      MLFLOW_GCS_UPLOAD_CHUNK_SIZE: String(PART),
      ...emulator?.env,
    };
  });
  afterAll(async () => {
    await emulator?.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  test("puts, lists, reads and deletes files of every kind of source", async () => {
    const repo = await open(rootUri("basic"));
    const big = randomBytes(PART * 2 + 12345);
    const bigFile = join(scratch, "big.bin");
    await writeFile(bigFile, big);
    const streamed = randomBytes(PART + 777);
    async function* chunks() {
      for (let i = 0; i < streamed.length; i += 100_000) yield streamed.subarray(i, i + 100_000);
    }
    await repo.put("hello.txt", Buffer.from("hello"));
    await repo.put("empty.txt", new Uint8Array(0));
    await repo.put("dir/sub dir/ünï+cødé & more.json", Buffer.from("{}"));
    let sent = 0;
    await repo.put("dir/big.bin", { file: bigFile }, { onProgress: (n) => (sent += n) });
    expect(sent).toBe(big.length);
    await repo.put("dir/streamed.bin", chunks());

    expect(await repo.list()).toEqual([
      { path: "dir", isDir: true },
      { path: "empty.txt", isDir: false, fileSize: 0 },
      { path: "hello.txt", isDir: false, fileSize: 5 },
    ]);
    expect(await repo.list("dir")).toEqual([
      { path: "dir/big.bin", isDir: false, fileSize: big.length },
      { path: "dir/streamed.bin", isDir: false, fileSize: streamed.length },
      { path: "dir/sub dir", isDir: true },
    ]);
    expect(await repo.list("dir/sub dir")).toEqual([
      { path: "dir/sub dir/ünï+cødé & more.json", isDir: false, fileSize: 2 },
    ]);
    expect(await repo.list("nowhere")).toEqual([]);
    expect(Buffer.from(await readAll(repo, "hello.txt")).toString()).toBe("hello");
    expect((await readAll(repo, "empty.txt")).length).toBe(0);
    expect(sha(await readAll(repo, "dir/big.bin"))).toBe(sha(big));
    expect(sha(await readAll(repo, "dir/streamed.bin"))).toBe(sha(streamed));
    expect(Buffer.from(await readAll(repo, "dir/sub dir/ünï+cødé & more.json")).toString()).toBe(
      "{}",
    );

    const missing = await repo.get("no-such-file").then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isMlflowError(missing, "RESOURCE_DOES_NOT_EXIST")).toBe(true);

    await repo.put("hello.txt", Buffer.from("replaced"));
    expect(Buffer.from(await readAll(repo, "hello.txt")).toString()).toBe("replaced");

    await repo.delete("dir");
    expect((await repo.list()).map((f) => f.path)).toEqual(["empty.txt", "hello.txt"]);
    await repo.delete();
    expect(await repo.list()).toEqual([]);
  });

  // A local copy has no parts to resume (its temp-then-rename is tested with the FileStore), and
  // no credentials: these two are for the object stores.
  const remoteTest = name === "local" ? () => {} : test;

  remoteTest(
    "a killed upload leaves nothing visible, and the next one sends only what is missing",
    async () => {
      const uri = rootUri("killed");
      const data = randomBytes(PART * 8 + 999);
      const file = join(scratch, "killed.bin");
      await writeFile(file, data);
      // A real process, killed with SIGKILL once four parts are in.
      const child = spawn(
        process.execPath,
        [
          "--input-type=module",
          "-e",
          `const { openRepository } = await import(${JSON.stringify(pathToFileURL(join(REPO_ROOT, "dist/src/artifacts/open.js")).href)});
         const repo = await openRepository(process.argv[1], { env: process.env });
         await repo.put("model/weights.bin", { file: process.argv[2] }, { onProgress: (n) => console.log(n) });
         console.log("finished");`,
          uri,
          file,
        ],
        { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] },
      );
      let reported = 0;
      await new Promise<void>((resolve, reject) => {
        child.stdout.on("data", (chunk: Buffer) => {
          for (const line of chunk.toString().split("\n").filter(Boolean)) {
            if (line === "finished") reject(new Error("the upload finished before it was killed"));
            reported += Number(line);
          }
          if (reported >= PART * 4) child.kill("SIGKILL");
        });
        child.on("exit", () => resolve());
      });
      expect(reported).toBeGreaterThanOrEqual(PART * 4);
      const repo = await open(uri);
      expect(await repo.list("model")).toEqual([]);

      let sent = 0;
      await repo.put("model/weights.bin", { file }, { onProgress: (n) => (sent += n) });
      expect(sent).toBeLessThanOrEqual(data.length - reported + PART);
      expect(sent).toBeGreaterThan(0);
      expect(sha(await readAll(repo, "model/weights.bin"))).toBe(sha(data));
    },
  );

  remoteTest("bad credentials give a clear error and write nothing", async () => {
    const uri = rootUri("refused");
    const bad = await openRepository(uri, {
      env: { HOME: scratch, XDG_CACHE_HOME: join(scratch, "cache"), ...emulator?.badEnv },
    });
    const error = await bad.put("secret.txt", Buffer.from("x")).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isMlflowError(error, "UNAUTHENTICATED")).toBe(true);
    expect((error as Error).message).not.toMatch(/AccountKey=|SecretAccessKey|Signature=/);
    expect(await (await open(uri)).list()).toEqual([]);
  });
});
