/**
 * How a training process ends, and what reaches the tree: a loop that never awaits and is killed
 * with SIGKILL (the loss window must hold without the event loop), `process.exit()` and an
 * uncaught exception (runs end, buffered points are written), and points the store refuses on
 * the way out (reported on stderr, exit code 1, never hidden).
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";
import { FileStore } from "../../src/store/file/index.ts";
import { REPO_ROOT } from "../helpers/mlflow-env.ts";

const scripts = join(REPO_ROOT, ".cache", "exit-scripts");
const dirs: string[] = [];
afterAll(async () => {
  await rm(scripts, { recursive: true, force: true });
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** The shape of examples/demo.ts: work, then logMetric, never an await; prints its progress. */
const SYNC_LOOP = `
import { getTracker } from "mlruns";
const [root, intervalMs, maxPoints] = process.argv.slice(2);
const tracker = await getTracker({
  trackingUri: root,
  buffer: { intervalMs: Number(intervalMs), maxPoints: Number(maxPoints) },
});
const run = await tracker.startRun("sync-loop");
process.stdout.write(\`run \${run.id}\\n\`);
let x = 0;
for (let step = 0; ; step++) {
  for (let i = 0; i < 2000; i++) x += Math.sqrt(i + x);
  run.logMetric("loss", 1 / (step + 1), { step });
  // After the call: every point up to this step had been logged by this time.
  if (step % 50 === 0) process.stdout.write(\`\${step} \${Date.now()}\\n\`);
}
`;

/** Logs points (buffered for a minute), then leaves as `how` says. */
const LEAVER = `
import { FileStore, getTracker } from "mlruns";
const [root, how] = process.argv.slice(2);
const tracker = await getTracker({ trackingUri: root, buffer: { intervalMs: 60000 } });
const run = await tracker.startRun("leaver");
console.log(run.id);
run.logMetric("acc", 0.5);
for (let step = 0; step < 100; step++) run.logMetric("loss", 1 / (step + 1), { step });
if (how.startsWith("refused")) {
  // Another writer makes 'acc' impossible before the buffer is written.
  await new FileStore(root).logBatch(run.id, {
    metrics: [{ key: "acc/top5", value: 1, timestamp: 1, step: 0 }],
  });
}
if (how === "exit-0" || how === "refused-exit") process.exit(0);
if (how === "exit-3") process.exit(3);
if (how === "throw") throw new Error("training blew up");
`;

async function script(name: string, text: string): Promise<string> {
  await mkdir(scripts, { recursive: true });
  const path = join(scripts, name);
  await writeFile(path, text);
  return path;
}

async function tree(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "mlruns-exit-"));
  dirs.push(dir);
  return join(dir, "mlruns");
}

function run(path: string, args: string[]) {
  const child = spawn(process.execPath, [path, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal })),
  );
  return { child, exit, stdout: () => stdout, stderr: () => stderr };
}

describe("a training loop that never awaits, killed with SIGKILL", () => {
  /** Runs the loop for `ms`, kills it, and returns the progress it reported and the points on disk. */
  async function killAfter(ms: number, intervalMs: number, maxPoints: number) {
    const root = await tree();
    const path = await script("sync-loop.mjs", SYNC_LOOP);
    const loop = run(path, [root, String(intervalMs), String(maxPoints)]);
    while (!loop.stdout().includes("\n0 ")) await sleep(20);
    await sleep(ms);
    loop.child.kill("SIGKILL");
    expect((await loop.exit).signal).toBe("SIGKILL");
    const lines = loop.stdout().trim().split("\n");
    const runId = (lines[0] as string).slice("run ".length);
    const reports = lines
      .slice(1)
      .filter((line) => /^\d+ \d+$/.test(line))
      .map((line) => line.split(" ").map(Number) as [number, number]);
    const written = (await new FileStore(root).getMetricHistory(runId, "loss")).length;
    return { reports, written };
  }

  it("loses only points younger than the interval (intervalMs 1000)", async () => {
    const { reports, written } = await killAfter(3000, 1000, 1_000_000);
    expect(reports.length).toBeGreaterThan(3);
    // The last report's logMetric call came after the one before it was printed: every point
    // logged an interval before that was old enough to be written by that call.
    const [, before] = reports.at(-2) as [number, number];
    const old = reports.filter(([, at]) => at <= before - 1000);
    expect(old.length).toBeGreaterThan(0);
    const [oldStep] = old.at(-1) as [number, number];
    expect(written).toBeGreaterThan(oldStep);
  });

  it("loses fewer than maxPoints points (maxPoints 500, intervalMs 60000)", async () => {
    const { reports, written } = await killAfter(1500, 60_000, 500);
    const [lastStep] = reports.at(-1) as [number, number];
    expect(lastStep).toBeGreaterThan(1000);
    expect(written).toBeGreaterThan(lastStep + 1 - 500);
  });
});

describe("leaving without run.end()", () => {
  async function leave(how: string) {
    const root = await tree();
    const path = await script("leaver.mjs", LEAVER);
    const child = run(path, [root, how]);
    const exit = await child.exit;
    const runId = child.stdout().trim();
    const store = new FileStore(root);
    const record = await store.getRun(runId);
    const loss = await store.getMetricHistory(runId, "loss");
    return { exit, stderr: child.stderr(), record, loss: loss.length };
  }

  it("process.exit(0): the run ends FINISHED with every buffered point", async () => {
    const { exit, record, loss } = await leave("exit-0");
    expect(exit.code).toBe(0);
    expect(record.info.status).toBe("FINISHED");
    expect(record.info.endTime).not.toBeNull();
    expect(loss).toBe(100);
    expect(record.data.metrics.acc?.value).toBe(0.5);
  });

  it("process.exit(3): the run ends FAILED with every buffered point, exit code kept", async () => {
    const { exit, record, loss } = await leave("exit-3");
    expect(exit.code).toBe(3);
    expect(record.info.status).toBe("FAILED");
    expect(loss).toBe(100);
  });

  it("an uncaught exception: the run ends FAILED with every buffered point", async () => {
    const { exit, stderr, record, loss } = await leave("throw");
    expect(exit.code).toBe(1);
    expect(stderr).toContain("training blew up");
    expect(record.info.status).toBe("FAILED");
    expect(loss).toBe(100);
  });

  it("process.exit(0) in mock mode (memory store) exits quietly with code 0", async () => {
    const path = await script("leaver.mjs", LEAVER);
    const child = run(path, ["memory:", "exit-0"]);
    expect((await child.exit).code).toBe(0);
    expect(child.stderr()).toBe("");
  });

  for (const how of ["refused", "refused-exit"]) {
    it(`points the store refuses are reported, not hidden (${how === "refused" ? "the loop drains" : "process.exit(0)"})`, async () => {
      const { exit, stderr, record, loss } = await leave(how);
      expect(exit.code).toBe(1);
      expect(stderr).toContain(`mlruns: run ${record.info.runId} did not end cleanly:`);
      expect(stderr).toContain("clashes with the existing metric 'acc/top5'");
      expect(stderr).toContain("(1 point of 'acc' not written)");
      expect(stderr).toContain("hint: Rename one of the keys");
      expect(record.info.status).toBe("FAILED");
      // Only the refused point is lost.
      expect(loss).toBe(100);
      expect(record.data.metrics["acc/top5"]?.value).toBe(1);
    });
  }
});
