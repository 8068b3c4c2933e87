/**
 * Big trees (the search benchmark's trees, MLRUNS_BENCH_BIG sizes, default 10,000 and 100,000
 * runs): `mlruns runs list --filter …` as a user runs it, a new process each time, against
 * MLflow's search_runs on the same data in SQLite (search.ts's `ensureSqlite`), both as the
 * search call alone and as a whole Python process; the same command answered through a running
 * `mlruns server` (found by its discovery file); and the server's own warm search at this
 * machine's fs.inotify.max_user_watches, with how many runs it watches and how long its sweep
 * (the bound on seeing another process's change to an unwatched run) takes. Also the index
 * file's size and load time.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { FileStore } from "mlruns";
import { readIndex } from "../../src/store/file/index-file.ts";
import { INDEX_FILE } from "../../src/tree-files.ts";
import { REPO_ROOT } from "../../test/helpers/mlflow-env.ts";
import { mlflowBench, mlflowPython } from "./mlflow.ts";
import type { Row } from "./report.ts";
import { ensureSqlite, FILTER, MAX_RESULTS, ORDER_BY } from "./search.ts";
import { ensureSearchTree } from "./search-tree.ts";

const run = promisify(execFile);
const CLI = join(REPO_ROOT, "dist", "cli", "mlruns.js");
const REPEATS = 3;

const ms = (x: number) => (x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${x.toFixed(0)} ms`);
const ratio = (ours: number, theirs: number) =>
  `${(theirs / ours).toFixed(theirs / ours >= 10 ? 0 : 1)}x`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

function sizes(): number[] {
  const text = process.env.MLRUNS_BENCH_BIG ?? "10000,100000";
  return text.split(",").map((n) => Number(n));
}

async function timedProcess(command: string, args: string[], env = {}): Promise<number> {
  const started = performance.now();
  await run(command, args, { env: { ...process.env, ...env }, maxBuffer: 1 << 26 });
  return performance.now() - started;
}

/** `mlruns server <root>` in its own process, until stopped. */
function startServer(root: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [CLI, "server", root, "--port", "0", "--json"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((ready, fail) => {
    let out = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      try {
        ready({ url: (JSON.parse(out) as { url: string }).url, child });
      } catch {
        // not all of it yet
      }
    });
    child.once("exit", (code) => fail(new Error(`mlruns server exited with ${code}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((done) => child.once("exit", done));
  child.kill("SIGTERM");
  await exited;
}

async function bigTree(runs: number): Promise<Row[]> {
  const tree = await ensureSearchTree(runs);
  const db = await ensureSqlite(tree.root, tree.runs);
  const n = `${runs.toLocaleString("en")} runs`;
  const ids = tree.experimentIds.join(",");
  const list = [CLI, "runs", "list", "-u", tree.root, "-f", FILTER, "-o", ORDER_BY];
  const cliArgs = [...list, "-n", String(MAX_RESULTS), "--json", "info.runId"];
  for (const id of tree.experimentIds) cliArgs.push("-e", id);

  // The index file as the first command leaves it; then cold commands that start from it.
  const build = await timedProcess(process.execPath, cliArgs);
  const oneShot: number[] = [];
  for (let i = 0; i < REPEATS; i++) oneShot.push(await timedProcess(process.execPath, cliArgs));
  const indexBytes = statSync(join(tree.root, INDEX_FILE)).size;
  const loadStarted = performance.now();
  const loaded = await readIndex(join(tree.root, INDEX_FILE));
  const loadMs = performance.now() - loadStarted;

  const searchArgs = [ids, FILTER, ORDER_BY, String(MAX_RESULTS)];
  const python = mlflowPython();
  const script = join(REPO_ROOT, "scripts", "bench", "mlflow_search.py");
  const theirsProcess: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    theirsProcess.push(await timedProcess(python, [script, `sqlite:///${db}`, ...searchArgs]));
  }
  const theirs = await mlflowBench<{ seconds: number }>("mlflow_search.py", [
    `sqlite:///${db}`,
    ...searchArgs,
  ]);
  const sqlMs = theirs.seconds * 1000;

  // Through a running server: the CLI finds it by the discovery file.
  const server = await startServer(tree.root);
  let served: number[] = [];
  try {
    await timedProcess(process.execPath, cliArgs); // the server's first search
    served = [];
    for (let i = 0; i < REPEATS; i++) served.push(await timedProcess(process.execPath, cliArgs));
  } finally {
    await stop(server.child);
  }

  // The server's own index: warm searches at this machine's watch limit, and its sweep.
  const store = new FileStore(tree.root, { searchIndex: { watch: true } });
  const request = {
    experimentIds: tree.experimentIds,
    filter: FILTER,
    orderBy: [ORDER_BY],
    maxResults: MAX_RESULTS,
  };
  const firstStarted = performance.now();
  await store.searchRuns(request);
  const firstMs = performance.now() - firstStarted;
  const warm: number[] = [];
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    await store.searchRuns(request);
    warm.push(performance.now() - started);
  }
  while (store.searchIndexStats.sweeps < 1) await new Promise((r) => setTimeout(r, 200));
  const stats = store.searchIndexStats;
  await store.close();
  const limit = readFileSync("/proc/sys/fs/inotify/max_user_watches", "utf8").trim();

  const ours = median(oneShot);
  const theirsWhole = median(theirsProcess);
  const through = median(served);
  return [
    {
      what: `MLflow search_runs on SQLite (${n}): the call / a whole Python process`,
      ours: "",
      mlflow: `${ms(sqlMs)} / ${ms(theirsWhole)}`,
      ratio: "",
    },
    {
      what: `\`mlruns runs list -f …\`, first command (reads every run, writes the index)`,
      ours: ms(build),
      mlflow: ms(theirsWhole),
      ratio: ratio(build, theirsWhole),
    },
    {
      what: `\`mlruns runs list -f …\`, cold process, index on disk (every stamp checked)`,
      ours: ms(ours),
      mlflow: `${ms(sqlMs)} / ${ms(theirsWhole)}`,
      ratio: `${ratio(ours, sqlMs)} vs the call, ${ratio(ours, theirsWhole)} vs the process (goal 2x)`,
    },
    {
      what: "the same command through a running `mlruns server`",
      ours: ms(through),
      mlflow: `${ms(sqlMs)} / ${ms(theirsWhole)}`,
      ratio: `${ratio(through, sqlMs)} vs the call (goal < 300 ms)`,
    },
    {
      what: `server's first search (index file loaded, nothing stat'ed yet)`,
      ours: ms(firstMs),
      mlflow: "",
      ratio: "",
    },
    {
      what: `server's warm search, max_user_watches ${limit}: ${stats.watched.toLocaleString("en")} runs watched`,
      ours: ms(median(warm)),
      mlflow: ms(sqlMs),
      ratio: `${ratio(median(warm), sqlMs)} (goal < 100 ms)`,
    },
    {
      what: "its sweep of the unwatched runs (a change is seen within two)",
      ours: ms(stats.sweepMs ?? Number.NaN),
      mlflow: "",
      ratio: "",
    },
    {
      what: `index file: size, and load time (${loaded.size.toLocaleString("en")} runs)`,
      ours: `${(indexBytes / 1e6).toFixed(1)} MB, ${ms(loadMs)}`,
      mlflow: "",
      ratio: "",
    },
  ];
}

export async function bigTreeBench(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const runs of sizes()) rows.push(...(await bigTree(runs)));
  return rows;
}
