/**
 * A child process of the histories bench, so each measure starts from a fresh heap:
 *
 *   long-run log <root> <metrics> <steps>       a plain append loop, run.logMetric, logBatch
 *   long-run sample <root> <runId> <key>        getMetricHistorySampled, cold then warm
 *   long-run getrun <root> <runId>              getRun: first, again, after points appended
 *   long-run push <root> <url>                  sync the tree to a server
 *   long-run pull <root> <url>                  sync the server's runs into the tree
 *
 * Prints one JSON object: rates in points/s, times in ms, peak RSS growth in bytes (sampled as it
 * goes, over the RSS before the measured part).
 */
import { appendFileSync, closeSync, mkdirSync, openSync, readdirSync, writeSync } from "node:fs";
import { join } from "node:path";
import { FileStore, getTracker, type Metric, RestStore, sync } from "mlruns";

const [mode, root = "", ...rest] = process.argv.slice(2);
const T0 = 1_767_225_600_000;
const value = (k: number, step: number) => Math.sin(step / 1000 + k) + (step % 7) / 100;

/** Peak RSS over a baseline, sampled whenever `sample()` is called and by a timer. */
function rssMeter() {
  const base = process.memoryUsage.rss();
  let peak = base;
  const sample = () => {
    const rss = process.memoryUsage.rss();
    if (rss > peak) peak = rss;
  };
  const timer = setInterval(sample, 20);
  return {
    sample,
    growth: () => {
      clearInterval(timer);
      sample();
      return peak - base;
    },
  };
}

/** What the machine does without us: the same kind of lines appended to one file per key. */
function plainLoop(dir: string, metrics: number, steps: number) {
  const fds = Array.from({ length: metrics }, (_, k) => openSync(join(dir, `plain-${k}`), "a"));
  const buffers = Array.from({ length: metrics }, () => "");
  const started = performance.now();
  for (let step = 0; step < steps; step++) {
    for (let k = 0; k < metrics; k++) {
      buffers[k] += `${T0 + step} ${value(k, step)} ${step}\n`;
      if ((buffers[k] as string).length > 65_536) {
        writeSync(fds[k] as number, buffers[k] as string);
        buffers[k] = "";
      }
    }
  }
  for (let k = 0; k < metrics; k++) {
    writeSync(fds[k] as number, buffers[k] as string);
    closeSync(fds[k] as number);
  }
  return ((metrics * steps) / (performance.now() - started)) * 1000;
}

async function log(metrics: number, steps: number) {
  mkdirSync(root, { recursive: true });
  // The plain loop before and after ours, so a change of the machine's load counts on both sides.
  const before = plainLoop(root, metrics, Math.min(steps, 200_000));
  const tracker = await getTracker({ trackingUri: join(root, "tree") });
  const run = await tracker.startRun("long-run");
  const meter = rssMeter();
  const started = performance.now();
  for (let step = 0; step < steps; step++) {
    const timestamp = T0 + step;
    for (let k = 0; k < metrics; k++) run.logMetric(`m${k}`, value(k, step), { step, timestamp });
    if (step % 50_000 === 49_999) {
      await run.flush();
      meter.sample();
    }
  }
  await run.end();
  const perPoint = ((metrics * steps) / (performance.now() - started)) * 1000;
  const rssGrowth = meter.growth();

  const store = new FileStore(join(root, "batched"));
  const { runId } = (await store.createRun({ experimentId: "0" })).info;
  const batchSteps = Math.min(steps, 100_000);
  const batchStarted = performance.now();
  for (let from = 0; from < batchSteps; from += 100) {
    const batch: Metric[] = [];
    for (let step = from; step < from + 100; step++) {
      for (let k = 0; k < metrics; k++) {
        batch.push({ key: `m${k}`, value: value(k, step), timestamp: T0 + step, step });
      }
    }
    await store.logBatch(runId, { metrics: batch });
  }
  const batched = ((metrics * batchSteps) / (performance.now() - batchStarted)) * 1000;
  const plain = (before + plainLoop(root, metrics, Math.min(steps, 200_000))) / 2;
  return { runId: run.id, plain, perPoint, batched, rssGrowth };
}

async function sample(runId: string, key: string) {
  const store = new FileStore(root);
  const meter = rssMeter();
  // CPU time beside wall time: on a busy machine the wall time says more about the load.
  const time = async () => {
    const started = performance.now();
    const cpu = process.cpuUsage();
    const points = await store.getMetricHistorySampled([runId], key, { maxPoints: 2500 });
    const { user, system } = process.cpuUsage(cpu);
    return {
      ms: performance.now() - started,
      cpuMs: (user + system) / 1000,
      points: points.length,
    };
  };
  const cold = await time();
  const warm = await time();
  const rssGrowth = meter.growth();
  return { cold, warm, rssGrowth };
}

/**
 * getRun of a run of long metrics, in ms: the first in this process (from the summaries a
 * process before kept, if any), again, and after 100 points more on each metric (appended as a
 * training process appends them).
 */
async function getRun(runId: string) {
  const store = new FileStore(root);
  const time = async () => {
    const started = performance.now();
    await store.getRun(runId);
    return performance.now() - started;
  };
  const first = await time();
  const again = await time();
  const metrics = join(root, "0", runId, "metrics");
  for (const key of readdirSync(metrics)) {
    let text = "";
    for (let step = 0; step < 100; step++)
      text += `${Date.now()} ${value(0, step)} ${Date.now() * 1000 + step}\n`;
    appendFileSync(join(metrics, key), text);
  }
  const appended = await time();
  return { first, again, appended };
}

async function copy(direction: "push" | "pull", url: string) {
  const tree = new FileStore(root);
  const server = new RestStore(url);
  const meter = rssMeter();
  const started = performance.now();
  const cpu = process.cpuUsage();
  const report = await sync(
    direction === "push" ? { source: tree, target: server } : { source: server, target: tree },
  );
  const { user, system } = process.cpuUsage(cpu);
  return {
    ms: performance.now() - started,
    // This process's CPU beside the wall time, which on a busy machine says more about the load.
    cpuMs: (user + system) / 1000,
    rssGrowth: meter.growth(),
    points: report.counts.points,
  };
}

const result =
  mode === "log"
    ? await log(Number(rest[0]), Number(rest[1]))
    : mode === "sample"
      ? await sample(rest[0] as string, rest[1] as string)
      : mode === "getrun"
        ? await getRun(rest[0] as string)
        : await copy(mode === "pull" ? "pull" : "push", rest[0] as string);
console.log(JSON.stringify(result));
