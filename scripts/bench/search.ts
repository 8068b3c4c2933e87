/**
 * Search over a large tree (search-tree.ts: 100,000 runs x 20 params x 10 metrics by default,
 * MLRUNS_BENCH_RUNS to scale): our FileStore.searchRuns cold (no index file / index file on
 * disk, each in a new FileStore), warm (same instance, repeated), and with every run re-checked
 * by its stamp (watching off: what validating the whole tree by stat calls costs), against
 * MLflow's own search_runs on the same tree through its file store and through SQLite holding the
 * same rows (the database is cached next to the tree). Same filter, order_by
 * and max_results everywhere; the run ids returned must agree.
 */
import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { FileStore } from "mlruns";
import { INDEX_FILE } from "../../src/tree-files.ts";
import { MLFLOW_BENCH_VERSION, mlflowBench } from "./mlflow.ts";
import type { Row } from "./report.ts";
import { benchCacheDir, ensureSearchTree, TREE_VERSION } from "./search-tree.ts";

export const FILTER = "metrics.m3 > 0.5 and params.p1 = 'v7'";
export const ORDER_BY = "metrics.m0 DESC";
export const MAX_RESULTS = 100;
const WARM_REPEATS = 5;

const ms = (x: number) => (x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${x.toFixed(0)} ms`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function timed<T>(work: () => Promise<T>): Promise<[number, T]> {
  const started = performance.now();
  const result = await work();
  return [performance.now() - started, result];
}

/**
 * Reads every file of the tree once, untimed, so that no timed step (ours or MLflow's) pays for
 * the disk: a 100k-run tree is 3.5 million small files.
 */
function warmPageCache(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) warmPageCache(path);
    else if (entry.isFile()) readFileSync(path);
  }
}

/**
 * The SQLite database of the same tree, made once and cached next to it: MLflow's schema, then the
 * tree's rows bulk-inserted (`mlflow_sqlite_from_tree.py`, minutes at 100k runs where
 * `mlflow migrate-filestore` took hours).
 */
export async function ensureSqlite(root: string, runs: number): Promise<string> {
  const db = join(
    benchCacheDir(),
    `${root.split("/").at(-1)}.${TREE_VERSION}.mlflow-${MLFLOW_BENCH_VERSION}.db`,
  );
  if (existsSync(db)) return db;
  console.error(`loading ${runs} runs into SQLite (once; cached for later runs)…`);
  const temp = `${db}.tmp`;
  rmSync(temp, { force: true });
  const loaded = await mlflowBench<{ runs: number }>("mlflow_sqlite_from_tree.py", [root, temp]);
  if (loaded.runs !== runs) throw new Error(`SQLite got ${loaded.runs} runs of ${runs}`);
  renameSync(temp, db);
  return db;
}

export async function searchBench(): Promise<Row[]> {
  const tree = await ensureSearchTree();
  const db = await ensureSqlite(tree.root, tree.runs);
  const request = {
    experimentIds: tree.experimentIds,
    filter: FILTER,
    orderBy: [ORDER_BY],
    maxResults: MAX_RESULTS,
  };
  const ids = (runs: { info: { runId: string } }[]) => runs.map((r) => r.info.runId);
  warmPageCache(tree.root);

  rmSync(join(tree.root, INDEX_FILE), { force: true });
  const first = new FileStore(tree.root, { searchIndex: { watch: true } });
  const [coldNoIndex, expected] = await timed(() => first.searchRuns(request));
  const warmSearches = async (store: FileStore) => {
    const times: number[] = [];
    for (let i = 0; i < WARM_REPEATS; i++)
      times.push((await timed(() => store.searchRuns(request)))[0]);
    return median(times);
  };
  const warmMs = await warmSearches(first);
  const coverage = first.searchIndexStats;
  if (coverage.watched < coverage.runs) {
    console.error(
      `search bench: only ${coverage.watched} of ${coverage.runs} runs could be watched; the rest are checked by stamps. ` +
        "A run needs 4 inotify watches and a store takes at most half of fs.inotify.max_user_watches: raise it (see the README).",
    );
  }
  await first.close();

  const second = new FileStore(tree.root, { searchIndex: { watch: true } });
  const [coldIndex, again] = await timed(() => second.searchRuns(request));
  const warmLoadedMs = await warmSearches(second);
  await second.close();

  const stamps = new FileStore(tree.root);
  await stamps.searchRuns(request);
  const [stampCheck] = await timed(() => stamps.searchRuns(request));
  await stamps.close();

  const args = [tree.experimentIds.join(","), FILTER, ORDER_BY, String(MAX_RESULTS)];
  const file = await mlflowBench<{ seconds: number; ids: string[] }>("mlflow_search.py", [
    tree.root,
    ...args,
  ]);
  const sqlite = await mlflowBench<{ seconds: number; ids: string[] }>("mlflow_search.py", [
    `sqlite:///${db}`,
    ...args,
  ]);
  const agree = [ids(again.runs), file.ids, sqlite.ids].every(
    (list) => JSON.stringify(list) === JSON.stringify(ids(expected.runs)),
  );
  if (!agree) console.error("search bench: the run ids returned DIFFER between ours and MLflow");

  const fileMs = file.seconds * 1000;
  const sqlMs = sqlite.seconds * 1000;
  const n = `${tree.runs.toLocaleString("en")} runs`;
  const vs = (ours: number, theirs: number) =>
    `${(theirs / ours).toFixed(theirs / ours >= 10 ? 0 : 1)}x`;
  return [
    { what: `MLflow search_runs, file store (${n})`, ours: "", mlflow: ms(fileMs), ratio: "" },
    {
      what: `MLflow search_runs, SQLite after migrate-filestore`,
      ours: "",
      mlflow: ms(sqlMs),
      ratio: "",
    },
    {
      what: "searchRuns cold, no index file (builds and saves it)",
      ours: ms(coldNoIndex),
      mlflow: ms(fileMs),
      ratio: `${vs(coldNoIndex, fileMs)} vs file store`,
    },
    {
      what: "searchRuns cold, index file on disk (every stamp checked)",
      ours: ms(coldIndex),
      mlflow: ms(fileMs),
      ratio: `${vs(coldIndex, fileMs)} vs file store, ${vs(coldIndex, sqlMs)} vs SQLite`,
    },
    {
      what: `searchRuns warm, same store (${coverage.watched}/${coverage.runs} runs watched)`,
      ours: ms(warmMs),
      mlflow: ms(fileMs),
      ratio: `${vs(warmMs, fileMs)} vs file store (goal 50x), ${vs(warmMs, sqlMs)} vs SQLite (goal >= 1x)`,
    },
    {
      what: "searchRuns warm, store that loaded the index file",
      ours: ms(warmLoadedMs),
      mlflow: ms(fileMs),
      ratio: `${vs(warmLoadedMs, fileMs)} vs file store, ${vs(warmLoadedMs, sqlMs)} vs SQLite`,
    },
    {
      what: "searchRuns warm, watching off (every run re-checked by stat)",
      ours: ms(stampCheck),
      mlflow: ms(sqlMs),
      ratio: `${vs(stampCheck, sqlMs)} vs SQLite`,
    },
    {
      what: "same run ids as MLflow (file store and SQLite)",
      ours: agree ? "yes" : "NO",
      mlflow: "",
      ratio: "",
    },
  ];
}
