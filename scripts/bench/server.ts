/**
 * `mlruns server` against MLflow's own `mlflow server`, with the same client (MLflow's Python
 * client, `mlflow_server_client.py`) on the same machine in one run:
 * - log_batch throughput into a fresh tree, against `mlflow server` over SQLite and over its
 *   file store (MLRUNS_BENCH_SERVER_POINTS points, 1000 a request);
 * - runs/search over the search benchmark's tree (100,000 runs by default), warm, against
 *   `mlflow server` over SQLite holding the same runs (timed at the HTTP level from Node and in
 *   the Python client: the difference is the client's parse);
 * - start-up on that tree to the first search answered (index file on disk), and the server
 *   process's RSS at rest afterwards;
 * - a 2 GiB artifact (MLRUNS_BENCH_ARTIFACT_MB) uploaded and downloaded through the artifact
 *   proxy: how much the server's peak RSS grows.
 * Our server runs as `mlruns server` in its own process, as a user runs it.
 * MLRUNS_BENCH_SQLITE=skip leaves MLflow's side of the search rows out (loading the SQLite copy of a
 * new 100,000-run tree takes minutes).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileStore, findServer } from "mlruns";
import { REPO_ROOT } from "../../test/helpers/mlflow-env.ts";
import { startMlflowServer } from "../../test/helpers/mlflow-server.ts";
import { MLFLOW_BENCH_VERSION, mlflowBench } from "./mlflow.ts";
import { type Row, rate } from "./report.ts";
import { ensureSqlite, FILTER, MAX_RESULTS, ORDER_BY } from "./search.ts";
import { ensureSearchTree } from "./search-tree.ts";

const CLIENT = "mlflow_server_client.py";
const SEARCH_REPEATS = 5;
/** Fewer on SQLite: one search over 100,000 runs takes seconds there. */
const SQLITE_REPEATS = 3;
const ms = (x: number) => (x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${x.toFixed(0)} ms`);
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const times = (ratio: number) => `${ratio.toFixed(ratio >= 10 ? 0 : 1)}x`;

interface OurServer {
  url: string;
  child: ChildProcess;
  /** Milliseconds from spawn until it answered for its tree. */
  startMs: number;
  stop(): Promise<void>;
}

/** `mlruns server <root>` in its own process, on a free port. */
async function startOurs(root: string): Promise<OurServer> {
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [join(REPO_ROOT, "dist", "cli", "mlruns.js"), "server", root, "--port", "0"],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  for (;;) {
    const found = await findServer(root);
    if (found !== undefined) {
      return {
        url: found.url,
        child,
        startMs: performance.now() - started,
        async stop() {
          child.kill("SIGTERM");
          await exited;
        },
      };
    }
    if (child.exitCode !== null) throw new Error("mlruns server exited before it answered");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A value of /proc/<pid>/status, in bytes (VmRSS now, VmHWM the peak). */
async function procMemory(pid: number, field: "VmRSS" | "VmHWM"): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1];
  return Number(kb ?? 0) * 1024;
}

async function logRate(url: string, points: number): Promise<number> {
  const result = await mlflowBench<{ seconds: number; points: number }>(CLIENT, [
    "log",
    url,
    String(points),
    "1000",
  ]);
  return result.points / result.seconds;
}

async function loggingRows(): Promise<Row[]> {
  const points = Number(process.env.MLRUNS_BENCH_SERVER_POINTS ?? 100_000);
  const dir = await mkdtemp(join(tmpdir(), "mlruns-bench-server-"));
  try {
    const ours = await startOurs(join(dir, "ours"));
    const oursRate = await logRate(ours.url, points).finally(() => ours.stop());
    const sqlite = await startMlflowServer({ version: MLFLOW_BENCH_VERSION, readyTimeout: 180 });
    const sqliteRate = await logRate(sqlite.url, points).finally(() => sqlite.stop());
    const file = await startMlflowServer({
      version: MLFLOW_BENCH_VERSION,
      fileStore: join(dir, "theirs"),
      readyTimeout: 180,
    });
    const fileRate = await logRate(file.url, points).finally(() => file.stop());
    return [
      {
        what: `log_batch points/s, Python client, ${points.toLocaleString("en")} points vs mlflow server on SQLite`,
        ours: rate(oursRate),
        mlflow: rate(sqliteRate),
        ratio: `${times(oursRate / sqliteRate)} (goal >= 3x)`,
      },
      {
        what: "the same vs mlflow server on its file store",
        ours: rate(oursRate),
        mlflow: rate(fileRate),
        ratio: times(oursRate / fileRate),
      },
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function search(url: string, experimentIds: string[], repeats: number) {
  return mlflowBench<{ first: number; times: number[]; ids: string[] }>(CLIENT, [
    "search",
    url,
    experimentIds.join(","),
    FILTER,
    ORDER_BY,
    String(MAX_RESULTS),
    String(repeats),
  ]);
}

/** One runs/search from Node, timed from the request sent to the last byte of the answer (ms). */
async function httpSearch(url: string, experimentIds: string[]): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${url}/api/2.0/mlflow/runs/search`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      experiment_ids: experimentIds,
      filter: FILTER,
      order_by: [ORDER_BY],
      max_results: MAX_RESULTS,
    }),
  });
  if (!response.ok) throw new Error(`search failed: ${await response.text()}`);
  await response.arrayBuffer();
  return performance.now() - started;
}

/** The same search timed at the HTTP level (Node) and in MLflow's Python client, warm. */
async function warmSearches(url: string, experimentIds: string[], repeats: number) {
  const http: number[] = [];
  for (let i = 0; i < repeats; i++) http.push(await httpSearch(url, experimentIds));
  const client = await search(url, experimentIds, repeats);
  return {
    httpMs: median(http),
    clientMs: median(client.times) * 1000,
    firstMs: client.first * 1000,
    ids: client.ids,
  };
}

async function searchRows(): Promise<Row[]> {
  const tree = await ensureSearchTree();
  const skipSqlite = process.env.MLRUNS_BENCH_SQLITE === "skip";
  const db = skipSqlite ? undefined : await ensureSqlite(tree.root, tree.runs);
  // The index file on disk, as a tree served before has it: a store builds and saves it.
  const indexed = new FileStore(tree.root);
  await indexed.searchRuns({ experimentIds: tree.experimentIds, filter: FILTER, maxResults: 1 });
  await indexed.close();

  const ours = await startOurs(tree.root);
  let oursFirstMs: number;
  let oursWarm: Awaited<ReturnType<typeof warmSearches>>;
  let rss: number;
  try {
    oursFirstMs = ours.startMs + (await httpSearch(ours.url, tree.experimentIds));
    oursWarm = await warmSearches(ours.url, tree.experimentIds, SEARCH_REPEATS);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    rss = await procMemory(ours.child.pid as number, "VmRSS");
  } finally {
    await ours.stop();
  }
  const n = `${tree.runs.toLocaleString("en")} runs`;
  const rest = {
    what: "server RSS at rest after the searches",
    ours: mb(rss),
    mlflow: "",
    ratio: "",
  };
  const warm = `runs/search over ${n}, warm, HTTP request to last byte (median of ${SEARCH_REPEATS}, ours), vs mlflow server on SQLite`;
  const inClient = "the same in MLflow's Python client (search_runs)";
  const parse = "of which the Python client's own work (client minus HTTP)";
  const startUp = `start-up to the first search answered (${n}, index file on disk)`;
  if (db === undefined) {
    const skipped = "skipped (MLRUNS_BENCH_SQLITE)";
    return [
      { what: warm, ours: ms(oursWarm.httpMs), mlflow: skipped, ratio: "(goal < 100 ms)" },
      { what: inClient, ours: ms(oursWarm.clientMs), mlflow: skipped, ratio: "" },
      { what: startUp, ours: ms(oursFirstMs), mlflow: skipped, ratio: "" },
      rest,
    ];
  }
  const sqlite = await startMlflowServer({
    version: MLFLOW_BENCH_VERSION,
    database: db,
    readyTimeout: 300,
  });
  let theirs: Awaited<ReturnType<typeof warmSearches>>;
  let theirFirstMs: number;
  try {
    theirFirstMs = await httpSearch(sqlite.url, tree.experimentIds);
    theirs = await warmSearches(sqlite.url, tree.experimentIds, SQLITE_REPEATS);
  } finally {
    await sqlite.stop();
  }
  const agree = JSON.stringify(oursWarm.ids) === JSON.stringify(theirs.ids);
  return [
    {
      what: warm,
      ours: ms(oursWarm.httpMs),
      mlflow: ms(theirs.httpMs),
      ratio: `${times(theirs.httpMs / oursWarm.httpMs)} (goals < 100 ms, >= 100x)`,
    },
    {
      what: inClient,
      ours: ms(oursWarm.clientMs),
      mlflow: ms(theirs.clientMs),
      ratio: times(theirs.clientMs / oursWarm.clientMs),
    },
    {
      what: parse,
      ours: ms(oursWarm.clientMs - oursWarm.httpMs),
      mlflow: ms(theirs.clientMs - theirs.httpMs),
      ratio: "",
    },
    {
      what: "the same run ids from both servers",
      ours: agree ? "yes" : "NO",
      mlflow: "",
      ratio: "",
    },
    {
      what: startUp,
      ours: ms(oursFirstMs),
      mlflow: ms(theirFirstMs),
      ratio: "MLflow: its first search, once up",
    },
    rest,
  ];
}

/** Streams `bytes` of generated data to `url` with PUT, chunk by chunk. */
function put(url: string, bytes: number): Promise<number> {
  const target = new URL(url);
  const chunk = Buffer.alloc(1 << 20, 42);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: target.hostname, port: target.port, path: target.pathname, method: "PUT" },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    let sent = 0;
    const pump = () => {
      while (sent < bytes) {
        const part = chunk.subarray(0, Math.min(chunk.length, bytes - sent));
        sent += part.length;
        if (!req.write(part)) {
          req.once("drain", pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
}

async function artifactRows(): Promise<Row[]> {
  const bytes = Number(process.env.MLRUNS_BENCH_ARTIFACT_MB ?? 2048) * 2 ** 20;
  const dir = await mkdtemp(join(tmpdir(), "mlruns-bench-artifact-"));
  try {
    const root = join(dir, "mlruns");
    const store = new FileStore(root);
    const runId = (await store.createRun({ experimentId: "0" })).info.runId;
    const ours = await startOurs(root);
    try {
      const base = `${ours.url}/api/2.0/mlflow-artifacts/artifacts/0/${runId}/artifacts`;
      await put(`${base}/warm.bin`, 4 << 20); // the code paths loaded before the baseline
      const pid = ours.child.pid as number;
      const before = await procMemory(pid, "VmHWM");
      const started = performance.now();
      if ((await put(`${base}/big.bin`, bytes)) !== 200) throw new Error("upload failed");
      const upMs = performance.now() - started;
      const download = await fetch(`${base}/big.bin`);
      let received = 0;
      for await (const part of download.body as AsyncIterable<Uint8Array>) received += part.length;
      if (received !== bytes) throw new Error(`downloaded ${received} of ${bytes} bytes`);
      const growth = (await procMemory(pid, "VmHWM")) - before;
      return [
        {
          what: `${mb(bytes)} artifact up and down the proxy: peak RSS growth of the server`,
          ours: mb(growth),
          mlflow: "",
          ratio: `upload at ${(bytes / 2 ** 20 / (upMs / 1000)).toFixed(0)} MB/s`,
        },
      ];
    } finally {
      await ours.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function serverBench(): Promise<Row[]> {
  return [...(await loggingRows()), ...(await searchRows()), ...(await artifactRows())];
}
