/**
 * A training process stopped by a signal ends its run KILLED, with every point logged before the
 * signal written, and still dies of that signal; one that simply finishes ends its run FINISHED.
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FileStore } from "../../src/store/file/index.ts";
import { REPO_ROOT } from "../helpers/mlflow-env.ts";

const scripts = join(REPO_ROOT, ".cache", "lifecycle");
const dirs: string[] = [];
afterAll(async () => {
  await rm(scripts, { recursive: true, force: true });
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

const TRAINER = `
import { getTracker } from "mlruns";
const tracker = await getTracker({ trackingUri: process.argv[2], buffer: { intervalMs: 60000 } });
const run = await tracker.startRun("trainer");
for (let step = 0; step < 100; step++) run.logMetric("loss", 1 / (step + 1), { step });
console.log(run.id);
if (process.argv[3] === "wait") setInterval(() => {}, 1000);
`;

async function start(mode: "wait" | "finish") {
  await mkdir(scripts, { recursive: true });
  const script = join(scripts, "trainer.mjs");
  await writeFile(script, TRAINER);
  const dir = await mkdtemp(join(tmpdir(), "mlruns-lifecycle-"));
  dirs.push(dir);
  const root = join(dir, "mlruns");
  const child = spawn(process.execPath, [script, root, mode], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const runId = await new Promise<string>((resolve) => {
    child.stdout.once("data", (chunk: Buffer) => resolve(chunk.toString().trim()));
  });
  const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, runId, root, exit };
}

describe("run lifecycle across the process's end", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`${signal}: the run ends KILLED, buffered points are written, the process dies of ${signal}`, async () => {
      const { child, runId, root, exit } = await start("wait");
      child.kill(signal);
      expect(await exit).toEqual({ code: null, signal });
      const run = await new FileStore(root).getRun(runId);
      expect(run.info.status).toBe("KILLED");
      expect(run.info.endTime).not.toBeNull();
      expect((await new FileStore(root).getMetricHistory(runId, "loss")).length).toBe(100);
    });
  }

  it("a script that returns without ending its run leaves it FINISHED with every point", async () => {
    const { runId, root, exit } = await start("finish");
    expect(await exit).toEqual({ code: 0, signal: null });
    const run = await new FileStore(root).getRun(runId);
    expect(run.info.status).toBe("FINISHED");
    expect((await new FileStore(root).getMetricHistory(runId, "loss")).length).toBe(100);
  });
});
