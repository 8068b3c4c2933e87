/**
 * A child process for the concurrency and crash tests: it writes to a tree through the public
 * API while the test runs several of them at once, or kills it with SIGKILL at a random moment.
 *
 *   stress-writer experiment <root> <name> [--together]    get-or-create an experiment, print its id
 *   stress-writer log <root> <runId> <worker> <n> [b]      log n points of `worker_<worker>` and `shared`, b a batch
 *   stress-writer chaos <root> <seed>                      random writes forever (until killed)
 *   stress-writer sync <root> <url> <prefix>               push the tree to a server (to be killed)
 *   stress-writer versions <root> <model> <n>              register n versions of a model, print numbers
 *   stress-writer rename <root> <model> <new> [--together] rename a registered model; print renamed or why not
 *
 * `--together` prints `ready` once loaded and holds the write until stdin closes, so that
 * processes started one after another contend at the same moment however slow they were to
 * start. `chaos` prints `op <i>` as it begins its i-th write and `sync` prints `syncing` when it
 * begins, so that a test kills them at a point of their work rather than of the clock: while they
 * work, not while they load, and after as much work on a loaded machine as on an idle one.
 */
import { writeFile } from "node:fs/promises";
import { FileStore, getTracker, RestStore, sync } from "mlruns";

const [mode, root = "mlruns", ...rest] = process.argv.slice(2);

function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** With `--together`: says `ready`, then waits for the test to close stdin. */
async function together(): Promise<void> {
  if (!rest.includes("--together")) return;
  console.log("ready");
  await new Promise((resolve) => process.stdin.once("end", resolve).resume());
}

async function experiment(name: string): Promise<void> {
  await together();
  const tracker = await getTracker({ trackingUri: root, experimentName: name });
  console.log(tracker.experimentId);
}

async function log(runId: string, worker: string, count: number, batch = 10): Promise<void> {
  const store = new FileStore(root);
  for (let i = 0; i < count; i += batch) {
    const metrics = [];
    for (let j = i; j < Math.min(i + batch, count); j++) {
      metrics.push({ key: `worker_${worker}`, value: j, timestamp: 1_000 + j, step: j });
      metrics.push({
        key: "shared",
        value: Number(worker) * 100_000 + j,
        timestamp: 1_000 + j,
        step: j,
      });
    }
    await store.logBatch(runId, {
      metrics,
      params: { [`p_${worker}`]: worker },
      tags: { last: worker },
    });
  }
}

async function chaos(seed: number): Promise<void> {
  const rand = random(seed);
  const pick = <T>(items: T[]): T => items[Math.floor(rand() * items.length)] as T;
  const store = new FileStore(root, { onProblem: () => {} });
  // Beside the tree, not in the system's temp folder: the test SIGKILLs this process and removes
  // only its own folder, so a scratch folder elsewhere would be left behind by every trial.
  const file = `${root}.chaos-${seed}.txt`;
  await writeFile(file, "x".repeat(10_000));
  const experiments = (await store.listExperiments()).map((e) => e.experimentId);
  const runs: string[] = [];
  for (let i = 0; ; i++) {
    console.log(`op ${i}`);
    const op = rand();
    if (op < 0.05 || experiments.length === 0) {
      experiments.push(await store.createExperiment(`chaos-${seed}-${i}`));
    } else if (op < 0.2 || runs.length === 0) {
      const run = await store.createRun({
        experimentId: pick(experiments),
        tags: { seed: String(seed) },
      });
      runs.push(run.info.runId);
    } else {
      const runId = pick(runs);
      const action = rand();
      try {
        if (action < 0.6) {
          const metrics = Array.from({ length: 1 + Math.floor(rand() * 50) }, (_, j) => ({
            key: pick(["loss", "acc", "train/loss", "val/acc"]),
            value: rand() < 0.05 ? Number.NaN : rand(),
            timestamp: Date.now(),
            step: i * 100 + j,
          }));
          await store.logBatch(runId, {
            metrics,
            params: { [`p${i % 7}`]: `v${i % 7}` },
            tags: { i: String(i) },
          });
        } else if (action < 0.75) {
          await store.updateRun(runId, {
            status: pick(["FINISHED", "FAILED", "RUNNING"]),
            endTime: Date.now(),
          });
        } else if (action < 0.85) {
          await store.logArtifact(runId, file, pick(["", "a", "a/b"]) || undefined);
        } else if (action < 0.9) {
          await store.deleteRun(runId);
        } else if (action < 0.95) {
          await store.restoreRun(runId);
        } else {
          await store.renameExperiment(
            pick(experiments.filter((e) => e !== "0")) ?? "0",
            `renamed-${seed}-${i}`,
          );
        }
      } catch (error) {
        // Writes to a deleted run or a deleted experiment are refused; that is expected here.
        if (!(error instanceof Error && "code" in error)) throw error;
      }
    }
  }
}

/** Creates the registered model when missing, then `count` versions; prints their numbers. */
async function versions(model: string, count: number): Promise<void> {
  const store = new FileStore(root);
  try {
    await store.registry.createRegisteredModel(model);
  } catch (error) {
    if (!(error instanceof Error && "code" in error && error.code === "RESOURCE_ALREADY_EXISTS")) {
      throw error;
    }
  }
  for (let i = 0; i < count; i++) {
    const version = await store.registry.createModelVersion({
      name: model,
      source: `file:///m/${i}`,
    });
    console.log(version.version);
  }
}

if (mode === "experiment") await experiment(rest[0] ?? "shared");
else if (mode === "versions") await versions(rest[0] ?? "shared", Number(rest[1] ?? 10));
else if (mode === "rename") {
  const { registry } = new FileStore(root);
  await together();
  try {
    await registry.renameRegisteredModel(rest[0] ?? "shared", rest[1] ?? "renamed");
    console.log("renamed");
  } catch (error) {
    console.log(`not renamed: ${(error as Error).message}`);
  }
} else if (mode === "log") {
  await log(rest[0] ?? "", rest[1] ?? "0", Number(rest[2] ?? 100), Number(rest[3] ?? 10));
} else if (mode === "chaos") await chaos(Number(rest[0] ?? 1));
else if (mode === "sync") {
  const source = new FileStore(root, { onProblem: () => {} });
  console.log("syncing");
  await sync({ source, target: new RestStore(rest[0] ?? ""), experimentPrefix: rest[1] ?? "" });
} else {
  console.error("usage: stress-writer experiment|log|chaos|sync|versions|rename <root> ...");
  process.exit(2);
}
