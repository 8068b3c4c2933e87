/**
 * `mlruns server` as a user runs it: the built CLI in its own process, its discovery file, the
 * CLI's read commands answering through it, and a graceful stop on SIGTERM and SIGINT that
 * finishes the request in flight.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { request } from "node:http";
import { join } from "node:path";
import { FileStore, findServer } from "mlruns";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertBuilt, type CliResult, runCli, runJson, tempDir } from "./helpers.ts";

interface Running {
  url: string;
  pid: number;
  done: Promise<CliResult>;
}

/** Starts `mlruns server <root>` on a free port and waits until it answers for the tree. */
async function serve(root: string, extra: string[] = []): Promise<Running> {
  let pid = 0;
  const done = runCli(["server", root, "--port", "0", ...extra], {
    onSpawn: (p) => {
      pid = p;
    },
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    const found = await findServer(root);
    if (found !== undefined) return { url: found.url, pid, done };
    if (Date.now() > deadline) {
      process.kill(pid, "SIGKILL");
      throw new Error(`mlruns server did not start:\n${(await done).stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("mlruns server (the CLI)", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let root: string;
  beforeAll(async () => {
    assertBuilt();
    ({ dir, cleanup } = await tempDir("mlruns-e2e-server-"));
    root = join(dir, "mlruns");
    const store = new FileStore(root);
    const experimentId = await store.createExperiment("served");
    const run = await store.createRun({ experimentId, runName: "first" });
    await store.logBatch(run.info.runId, {
      metrics: [{ key: "acc", value: 0.9, timestamp: 1, step: 0 }],
    });
  });
  afterAll(() => cleanup?.());

  it("answers the CLI's reads of its tree, and stops on SIGTERM leaving nothing behind", async () => {
    const server = await serve(root, ["--access-log"]);
    const discovery = JSON.parse(await readFile(join(root, ".mlruns-server.json"), "utf8"));
    expect(discovery).toMatchObject({ url: server.url, pid: server.pid, auth: false });
    const listed = await runJson<{ runs: { info: { runName: string } }[] }>([
      "runs",
      "list",
      "-u",
      root,
      "-e",
      "served",
    ]);
    expect(listed.json.runs.map((r) => r.info.runName)).toEqual(["first"]);
    process.kill(server.pid, "SIGTERM");
    const result = await server.done;
    expect(result.code).toBe(0);
    // The search went through the server, not to the tree directly.
    expect(result.stderr).toMatch(/POST \/api\/2\.0\/mlflow\/runs\/search 200/);
    expect(existsSync(join(root, ".mlruns-server.json"))).toBe(false);
    expect(existsSync(join(root, ".mlruns-index.json"))).toBe(true);
  });

  it("finishes the request in flight when told to stop (SIGINT)", async () => {
    const server = await serve(root);
    const store = new FileStore(root);
    const experimentId = (await store.getExperimentByName("served"))?.experimentId as string;
    const runId = (await store.createRun({ experimentId })).info.runId;
    const url = new URL(
      `${server.url}/api/2.0/mlflow-artifacts/artifacts/${experimentId}/${runId}/artifacts/slow.bin`,
    );
    const chunk = Buffer.alloc(64 * 1024, 7);
    const status = new Promise<number>((resolve, reject) => {
      const req = request(
        { host: url.hostname, port: url.port, path: url.pathname, method: "PUT" },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", reject);
      req.write(chunk);
      setTimeout(() => {
        process.kill(server.pid, "SIGINT");
        let sent = 1;
        const more = setInterval(() => {
          req.write(chunk);
          if (++sent === 8) {
            clearInterval(more);
            req.end();
          }
        }, 50);
      }, 200);
    });
    expect(await status).toBe(200);
    expect((await server.done).code).toBe(0);
    const artifact = await store.readArtifact(runId, "slow.bin");
    expect(artifact.byteLength).toBe(8 * chunk.length);
  });

  it("ignores a discovery file left by a server that was killed", async () => {
    const server = await serve(root);
    process.kill(server.pid, "SIGKILL");
    await server.done;
    expect(existsSync(join(root, ".mlruns-server.json"))).toBe(true);
    expect(await findServer(root)).toBeUndefined();
    const listed = await runJson<{ runs: unknown[] }>(["runs", "list", "-u", root, "-e", "served"]);
    expect(listed.code).toBe(0);
    expect(listed.json.runs.length).toBeGreaterThan(0);
  });
});
