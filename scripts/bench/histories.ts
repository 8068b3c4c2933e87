/**
 * One long run: 10 metrics x 1 M steps logged through `run.logMetric` (RSS growth, and points/s
 * against a plain loop appending the same kind of lines in the same process), batched logBatch
 * likewise, a sampled history of one metric of 10 M points (cold: the summary is built; warm),
 * and `mlruns metrics history` on it (the sync of a long run: long-sync.ts), and getRun of a run
 * of 10 metrics x 1 M points (latest values: a whole read before, what the summaries and the
 * kept folds spare now). Each measure runs in
 * a child process of its own (long-run.ts), so RSS starts fresh. MLRUNS_BENCH_STEPS scales the
 * steps logged.
 */
import { spawn, spawnSync } from "node:child_process";
import { closeSync, openSync, writeSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { FileStore } from "mlruns";
import { type Row, rate } from "./report.ts";

const METRICS = 10;
const STEPS = Number(process.env.MLRUNS_BENCH_STEPS ?? 1_000_000);
const LONG = 10_000_000;
const T0 = 1_767_225_600_000;
const here = dirname(fileURLToPath(import.meta.url));
const CLI = join(here, "..", "..", "cli", "main.js");

export const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
const ms = (value: number) => `${value.toFixed(0)} ms`;

/** Runs long-run.ts; asynchronous, as the server it may talk to lives in this process. */
export async function child<T>(args: (string | number)[]): Promise<T> {
  const running = spawn(process.execPath, [join(here, "long-run.js"), ...args.map(String)]);
  let stdout = "";
  let stderr = "";
  running.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk;
  });
  running.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk;
  });
  const code = await new Promise((resolve) => running.on("close", resolve));
  if (code !== 0) throw new Error(`long-run ${args[0]} failed: ${stderr}`);
  // Each figure as it comes, so that a later failure does not lose it.
  console.error(`histories: ${args[0]} ${stdout.trim()}`);
  return JSON.parse(stdout) as T;
}

/** A metric file of `points` lines, in step order with a spike, written as fast as we can. */
export function writeLongMetric(file: string, points: number) {
  const fd = openSync(file, "w");
  let text = "";
  for (let step = 0; step < points; step++) {
    text += `${T0 + step} ${step === 6_543_210 ? 1000 : Math.sin(step / 10_000)} ${step}\n`;
    if (text.length > 1 << 20) {
      writeSync(fd, text);
      text = "";
    }
  }
  writeSync(fd, text);
  closeSync(fd);
}

/** Wall time and peak RSS of a command (GNU time). */
function timed(command: string[]): { seconds: number; maxRssKb: number; stdout: string } {
  const out = spawnSync("/usr/bin/time", ["-f", "%e %M", ...command], {
    encoding: "utf8",
    maxBuffer: 64 << 20,
    env: { ...process.env, NO_COLOR: "1", COLUMNS: "100" },
  });
  if (out.status !== 0) throw new Error(`${command.join(" ")} failed: ${out.stderr}`);
  const [seconds, rss] = (out.stderr.trim().split("\n").at(-1) ?? "").split(" ").map(Number);
  console.error(`histories: ${command.slice(2).join(" ")}: ${seconds} s, ${rss} KB`);
  return { seconds: seconds ?? 0, maxRssKb: rss ?? 0, stdout: out.stdout };
}

export async function historiesBench(): Promise<Row[]> {
  const dir = await mkdtemp(join(tmpdir(), "mlruns-bench-histories-"));
  const cache = process.env.XDG_CACHE_HOME;
  process.env.XDG_CACHE_HOME = join(dir, "cache");
  try {
    const logged = await child<{
      plain: number;
      perPoint: number;
      batched: number;
      rssGrowth: number;
    }>(["log", dir, METRICS, STEPS]);

    const root = join(dir, "long");
    const store = new FileStore(root);
    const { runId } = (await store.createRun({ experimentId: "0" })).info;
    await store.logBatch(runId, { metrics: [{ key: "big", value: 0, timestamp: T0, step: 0 }] });
    writeLongMetric(join(root, "0", runId, "metrics", "big"), LONG);
    await store.close();
    const sampled = await child<{
      cold: { ms: number; cpuMs: number };
      warm: { ms: number; cpuMs: number; points: number };
      rssGrowth: number;
    }>(["sample", root, runId, "big"]);
    const cli = timed([process.execPath, CLI, "metrics", "history", runId, "big", "-u", root]);

    const wide = join(dir, "wide");
    const wideStore = new FileStore(wide);
    const wideRun = (await wideStore.createRun({ experimentId: "0" })).info.runId;
    for (let k = 0; k < METRICS; k++) {
      const key = `m${k}`;
      await wideStore.logBatch(wideRun, { metrics: [{ key, value: 0, timestamp: T0, step: 0 }] });
      writeLongMetric(join(wide, "0", wideRun, "metrics", key), 1_000_000);
    }
    await wideStore.close();
    type GetRun = { first: number; again: number; appended: number };
    // The first process reads every point (what getRun did every time) and keeps summaries.
    const whole = await child<GetRun>(["getrun", wide, wideRun]);
    const fresh = await child<GetRun>(["getrun", wide, wideRun]);
    const tail = timed([
      process.execPath,
      ...[CLI, "metrics", "history", runId, "big", "-u", root, "--tail", "5", "--no-chart"],
    ]);

    const points = `${METRICS} x ${STEPS.toLocaleString("en")}`;
    return [
      {
        what: `points/s, run.logMetric (${points}) vs a plain append loop`,
        ours: rate(logged.perPoint),
        mlflow: rate(logged.plain),
        ratio: `${((logged.perPoint / logged.plain) * 100).toFixed(0)}% (goal >= 50%)`,
      },
      {
        what: "points/s, logBatch of 1000 vs a plain append loop",
        ours: rate(logged.batched),
        mlflow: rate(logged.plain),
        ratio: `${((logged.batched / logged.plain) * 100).toFixed(0)}% (goal >= 50%)`,
      },
      {
        what: `RSS growth, run.logMetric of ${points} points`,
        ours: mb(logged.rssGrowth),
        mlflow: "",
        ratio: "goal <= 64 MB",
      },
      {
        what: "getMetricHistorySampled, 10 M points, 2500 asked: warm vs cold (summary built)",
        ours: `${ms(sampled.warm.ms)} (CPU ${ms(sampled.warm.cpuMs)})`,
        mlflow: `${ms(sampled.cold.ms)} (CPU ${ms(sampled.cold.cpuMs)})`,
        ratio: `goal < 200 ms warm (${sampled.warm.points} points)`,
      },
      {
        what: "RSS growth, both sampled histories of 10 M points",
        ours: mb(sampled.rssGrowth),
        mlflow: "",
        ratio: "",
      },
      {
        what: "getRun, 10 metrics x 1 M points, a new process: summaries kept vs none (whole read, as before)",
        ours: ms(fresh.first),
        mlflow: ms(whole.first),
        ratio: `${(whole.first / fresh.first).toFixed(0)}x`,
      },
      {
        what: "getRun again in the same process; after 100 points appended to each metric",
        ours: ms(fresh.again),
        mlflow: ms(fresh.appended),
        ratio: "",
      },
      {
        what: "mlruns metrics history, 10 M points (table, chart): time, peak RSS",
        ours: `${cli.seconds.toFixed(2)} s`,
        mlflow: `${(cli.maxRssKb / 1024).toFixed(0)} MB`,
        ratio: "",
      },
      {
        what: "mlruns metrics history --tail 5 --no-chart, 10 M points: time, peak RSS",
        ours: `${tail.seconds.toFixed(2)} s`,
        mlflow: `${(tail.maxRssKb / 1024).toFixed(0)} MB`,
        ratio: "",
      },
    ];
  } finally {
    if (cache === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = cache;
    await rm(dir, { recursive: true, force: true });
  }
}
