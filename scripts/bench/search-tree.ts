/**
 * The tree the search benchmark searches: MLRUNS_BENCH_RUNS runs (default 100,000) x 20 params x
 * 10 metrics (3 points each) x 3 tags, in 4 experiments. Generating it takes minutes, so it is
 * kept under `${MLRUNS_TEST_CACHE:-~/.cache/mlruns}/bench/tree-<N>` and reused while its
 * `.bench-tree.json` (a plain file at the root, which MLflow ignores) names the current
 * TREE_VERSION. Experiments come from our FileStore; runs are written with direct file writes
 * that produce exactly what FileStore.createRun + logBatch + updateRun write (the same meta.yaml
 * codec and metric line codec), only without temp files and locks.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { FileStore } from "mlruns";
import type { RunInfo } from "../../src/entities.ts";
import { runDocument } from "../../src/store/file/meta.ts";
import { formatMetricLine } from "../../src/store/file/metric-lines.ts";
import { toYaml } from "../../src/store/file/yaml.ts";

/** Bump when the generated content changes: cached trees of another version are regenerated. */
export const TREE_VERSION = "search-tree-1";
export const PARAMS = 20;
export const METRICS = 10;
export const POINTS = 3;
export const EXPERIMENTS = 4;
const T0 = 1_700_000_000_000;

export interface BenchTree {
  root: string;
  runs: number;
  experimentIds: string[];
}

export function benchRuns(): number {
  const n = Number(process.env.MLRUNS_BENCH_RUNS ?? 100_000);
  if (!Number.isSafeInteger(n) || n < EXPERIMENTS) {
    throw new Error(`MLRUNS_BENCH_RUNS must be an integer >= ${EXPERIMENTS}`);
  }
  return n;
}

export function benchCacheDir(): string {
  const cache = process.env.MLRUNS_TEST_CACHE || join(homedir(), ".cache", "mlruns");
  return join(cache, "bench");
}

const label = (runs: number) => (runs % 1000 === 0 ? `${runs / 1000}k` : String(runs));

/** A small deterministic generator, so every machine builds the same tree. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** The cached tree of `runs` runs, generated when missing or of another TREE_VERSION. */
export async function ensureSearchTree(runs = benchRuns()): Promise<BenchTree> {
  const root = join(benchCacheDir(), `tree-${label(runs)}`);
  const marker = join(root, ".bench-tree.json");
  if (existsSync(marker)) {
    const saved = JSON.parse(readFileSync(marker, "utf8")) as BenchTree & { version: string };
    if (saved.version === TREE_VERSION && saved.runs === runs) {
      return { root, runs, experimentIds: saved.experimentIds };
    }
  }
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  const started = performance.now();
  console.error(`generating ${runs} runs under ${root} (once; cached for later runs)…`);
  const store = new FileStore(root);
  const experimentIds: string[] = [];
  for (let e = 0; e < EXPERIMENTS; e++)
    experimentIds.push(await store.createExperiment(`bench-${e}`));
  const experiments = await Promise.all(experimentIds.map((id) => store.getExperiment(id)));
  const rand = rng(7);
  const hex = () =>
    Math.floor(rand() * 2 ** 32)
      .toString(16)
      .padStart(8, "0");
  for (let i = 0; i < runs; i++) {
    const experiment = experiments[i % EXPERIMENTS] as (typeof experiments)[number];
    const runId = `${hex()}${hex()}${hex()}${(i >>> 0).toString(16).padStart(8, "0")}`;
    const runDir = join(root, experiment.experimentId, runId);
    const startTime = T0 + i * 1000;
    const runName = `bench-${i}`;
    const info: RunInfo = {
      runId,
      experimentId: experiment.experimentId,
      runName,
      userId: "bench",
      status: "FINISHED",
      startTime,
      endTime: startTime + 500,
      artifactUri: `${experiment.artifactLocation}/${runId}/artifacts`,
      lifecycleStage: "active",
    };
    mkdirSync(runDir);
    for (const folder of ["metrics", "params", "artifacts", "tags"]) {
      mkdirSync(join(runDir, folder));
    }
    const tags: Record<string, string> = {
      "mlflow.user": "bench",
      "mlflow.runName": runName,
      team: ["cv", "nlp", "rl"][i % 3] as string,
    };
    for (const [key, value] of Object.entries(tags))
      writeFileSync(join(runDir, "tags", key), value);
    for (let p = 0; p < PARAMS; p++) {
      writeFileSync(join(runDir, "params", `p${p}`), `v${Math.floor(rand() * 10)}`);
    }
    for (let m = 0; m < METRICS; m++) {
      let text = "";
      for (let step = 0; step < POINTS; step++) {
        const value = Math.round(rand() * 1e6) / 1e6;
        text += formatMetricLine({ key: `m${m}`, value, timestamp: startTime + step, step });
      }
      writeFileSync(join(runDir, "metrics", `m${m}`), text);
    }
    writeFileSync(join(runDir, "meta.yaml"), toYaml(runDocument({ info, deletedTime: undefined })));
    if ((i + 1) % 10_000 === 0) {
      const seconds = (performance.now() - started) / 1000;
      console.error(`  ${i + 1} runs (${seconds.toFixed(0)} s)`);
    }
  }
  writeFileSync(marker, JSON.stringify({ version: TREE_VERSION, runs, experimentIds }));
  return { root, runs, experimentIds };
}
