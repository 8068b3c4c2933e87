/**
 * Bundles: exporting and importing the sync benchmark's tree shape, 200 runs x (20 params, 10
 * metrics x 1,000 steps, 5 artifacts of 20 KB), against GNU tar packing and unpacking the same
 * tree (what carrying a tree by hand costs); then an increment after 20 runs logged 100 more
 * steps of each metric. MLRUNS_BENCH_BUNDLE_RUNS scales the tree.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { exportBundle, FileStore, importBundle, type Metric } from "mlruns";
import type { Row } from "./report.ts";

const exec = promisify(execFile);
const RUNS = Number(process.env.MLRUNS_BENCH_BUNDLE_RUNS ?? 200);
const PARAMS = 20;
const METRICS = 10;
const STEPS = 1000;
const GROWING = Math.min(20, RUNS);
const T0 = 1_767_225_600_000;

function points(r: number, from: number, to: number): Metric[] {
  const out: Metric[] = [];
  for (let k = 0; k < METRICS; k++) {
    for (let s = from; s < to; s++) {
      out.push({
        key: `m${k}`,
        value: ((r * 7 + k * 13 + s) % 1000) / 1000 + r / 7,
        timestamp: T0 + s,
        step: s,
      });
    }
  }
  return out;
}

async function writeTree(root: string, artifacts: string): Promise<string[]> {
  const store = new FileStore(root);
  const experimentId = await store.createExperiment("bench");
  const ids: string[] = [];
  for (let r = 0; r < RUNS; r++) {
    const run = await store.createRun({ experimentId, runName: `run-${r}`, startTime: T0 + r });
    const params = Object.fromEntries(
      Array.from({ length: PARAMS }, (_, i) => [`p${i}`, `v${(r + i) % 13}`]),
    );
    await store.logBatch(run.info.runId, { params, metrics: points(r, 0, STEPS) });
    for (const name of ["a", "b", "c", "d", "e"])
      await store.logArtifact(run.info.runId, join(artifacts, name));
    ids.push(run.info.runId);
  }
  await store.close();
  return ids;
}

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const result = await work();
  return [result, performance.now() - started];
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
const speed = (bytes: number, ms: number) => `${(bytes / 1e6 / (ms / 1000)).toFixed(0)} MB/s`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/**
 * Runs `code` (an ES module importing `mlruns` as `lib`) in a fresh Node process and returns what
 * it prints last (JSON) with the process's peak memory (sampled: Linux's maxRSS of a child
 * counts the parent it was forked from).
 */
async function child<T>(code: string): Promise<T & { peakRssMb: number }> {
  const lib = new URL("../../src/index.js", import.meta.url).href;
  const script = [
    `import * as lib from ${JSON.stringify(lib)};`,
    "let peak = 0;",
    "const sample = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 10);",
    code,
    "clearInterval(sample);",
    "console.log(JSON.stringify({ ...result, peakRssMb: peak / 2 ** 20 }));",
  ].join("\n");
  const { stdout } = await exec(process.execPath, ["--input-type=module", "-e", script]);
  return JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}");
}

/** One run with a large artifact: throughput, and memory that stays bounded by design. */
async function bigFileRows(dir: string): Promise<Row[]> {
  const size = 512 * 1024 * 1024;
  const root = join(dir, "big", "mlruns");
  const store = new FileStore(root);
  const run = await store.createRun({ experimentId: await store.createExperiment("big") });
  const file = join(dir, "checkpoint.bin");
  const block = Buffer.alloc(1 << 20);
  for (let i = 0; i < block.length; i++) block[i] = (i * 2654435761) >>> 24;
  await writeFile(file, Buffer.concat(Array.from({ length: size / block.length }, () => block)));
  await store.logArtifact(run.info.runId, file);
  await store.close();
  const bundle = join(dir, "big.tar");
  const exported = await child<{ ms: number }>(
    `const t = performance.now(); await lib.exportBundle({ source: new lib.FileStore(${JSON.stringify(root)}), output: ${JSON.stringify(bundle)} }); const result = { ms: performance.now() - t };`,
  );
  const imported = await child<{ ms: number }>(
    `const t = performance.now(); await lib.importBundle({ bundle: ${JSON.stringify(bundle)}, target: new lib.FileStore(${JSON.stringify(join(dir, "big-copy"))}) }); const result = { ms: performance.now() - t };`,
  );
  const [, gnuMs] = await timed(() =>
    exec("tar", ["-cf", join(dir, "big-gnu.tar"), "-C", join(dir, "big"), "mlruns"]),
  );
  return [
    {
      what: `export one run with a ${mb(size)} artifact (peak memory ${exported.peakRssMb.toFixed(0)} MB) vs tar -cf`,
      ours: `${seconds(exported.ms)} (${speed(size, exported.ms)})`,
      mlflow: seconds(gnuMs),
      ratio: `${(gnuMs / exported.ms).toFixed(2)}x`,
    },
    {
      what: `import it (peak memory ${imported.peakRssMb.toFixed(0)} MB)`,
      ours: `${seconds(imported.ms)} (${speed(size, imported.ms)})`,
      mlflow: "",
      ratio: "",
    },
  ];
}

export async function bundleBench(): Promise<Row[]> {
  const dir = await mkdtemp(join(tmpdir(), "mlruns-bench-bundle-"));
  try {
    const artifacts = join(dir, "artifacts");
    await mkdir(artifacts);
    // Artifacts of mixed compressibility, as checkpoints and plots are.
    for (const [i, name] of ["a", "b", "c", "d", "e"].entries()) {
      const bytes = Buffer.alloc(20_000);
      for (let j = 0; j < bytes.length; j++) bytes[j] = i % 2 === 0 ? (j * 31 + i) % 251 : j % 7;
      await writeFile(join(artifacts, name), bytes);
    }
    const root = join(dir, "tree", "mlruns");
    const ids = await writeTree(root, artifacts);
    const source = new FileStore(root);
    const rows: Row[] = [];

    const tar = join(dir, "runs.tar");
    const gz = join(dir, "runs.tar.gz");
    const [plain, plainMs] = await timed(() => exportBundle({ source, output: tar }));
    const [, gnuTarMs] = await timed(() =>
      exec("tar", ["-cf", join(dir, "gnu.tar"), "-C", join(dir, "tree"), "mlruns"]),
    );
    rows.push({
      what: `export ${RUNS} runs (${mb(plain.bytes)} in ${plain.files.toLocaleString("en")} files) to .tar vs tar -cf`,
      ours: `${seconds(plainMs)} (${speed(plain.bytes, plainMs)})`,
      mlflow: seconds(gnuTarMs),
      ratio: `${(gnuTarMs / plainMs).toFixed(2)}x`,
    });
    const [zipped, gzMs] = await timed(() => exportBundle({ source, output: gz }));
    const [, gnuGzMs] = await timed(() =>
      exec("tar", ["-czf", join(dir, "gnu.tar.gz"), "-C", join(dir, "tree"), "mlruns"]),
    );
    const gnuGzSize = (await stat(join(dir, "gnu.tar.gz"))).size;
    rows.push({
      what: `the same to .tar.gz vs tar -czf (bundle ${mb(zipped.size)}, tar ${mb(gnuGzSize)})`,
      ours: `${seconds(gzMs)} (${speed(zipped.bytes, gzMs)})`,
      mlflow: seconds(gnuGzMs),
      ratio: `${(gnuGzMs / gzMs).toFixed(2)}x`,
    });

    const [imported, importMs] = await timed(() =>
      importBundle({ bundle: gz, target: new FileStore(join(dir, "copy")) }),
    );
    if (imported.counts.created !== RUNS)
      throw new Error(`import incomplete: ${JSON.stringify(imported.counts)}`);
    const unpackTo = join(dir, "unpacked");
    await mkdir(unpackTo);
    const [, gnuUnpackMs] = await timed(() =>
      exec("tar", ["-xzf", join(dir, "gnu.tar.gz"), "-C", unpackTo]),
    );
    rows.push({
      what: "import the .tar.gz into an empty tree (checked whole first) vs tar -xzf",
      ours: `${seconds(importMs)} (${speed(zipped.bytes, importMs)})`,
      mlflow: seconds(gnuUnpackMs),
      ratio: `${(gnuUnpackMs / importMs).toFixed(2)}x`,
    });
    const [again, againMs] = await timed(() =>
      importBundle({ bundle: gz, target: new FileStore(join(dir, "copy")) }),
    );
    if (again.counts.unchanged !== RUNS)
      throw new Error(`re-import changed runs: ${JSON.stringify(again.counts)}`);
    rows.push({
      what: "import the same bundle again (changes nothing)",
      ours: seconds(againMs),
      mlflow: "",
      ratio: "",
    });

    const writer = new FileStore(root);
    for (const [r, id] of ids.slice(0, GROWING).entries())
      await writer.logBatch(id, { metrics: points(r, STEPS, STEPS + 100) });
    await writer.close();
    const increment = join(dir, "increment.tar.gz");
    const [inc, incMs] = await timed(() =>
      exportBundle({ source: new FileStore(root), output: increment, since: gz }),
    );
    const [merged, mergeMs] = await timed(() =>
      importBundle({ bundle: increment, target: new FileStore(join(dir, "copy")) }),
    );
    if (merged.counts.points !== GROWING * METRICS * 100)
      throw new Error(`increment import: ${JSON.stringify(merged.counts)}`);
    rows.push({
      what: `increment: ${GROWING} runs grew by 100 steps (export --since; bundle ${mb(inc.size)})`,
      ours: seconds(incMs),
      mlflow: "",
      ratio: "",
    });
    rows.push({
      what: `import the increment (${merged.counts.points.toLocaleString("en")} new points appended)`,
      ours: seconds(mergeMs),
      mlflow: "",
      ratio: "",
    });
    await source.close();
    rows.push(...(await bigFileRows(dir)));
    return rows;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
