/**
 * Local-first mode against real MLflow servers (newest 3.x and 2.x on SQLite, 3.x with 4 workers
 * on PostgreSQL): a training process started
 * with MLFLOW_LOCAL_FIRST=true writes its runs to a local tree and pushes them in the background
 * while it trains. The server down at start, killed mid-run and restarted, slow (answers held
 * 30 s, past the client's timeout), refusing (503, 401): the training loop never waits, and
 * afterwards the server holds exactly the tree (one copy of each run, every point once). A
 * process that ends while the server is away says what is left and the command that pushes it;
 * that command does.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileStore } from "../../src/store/file/index.ts";
import { RestStore } from "../../src/store/rest/index.ts";
import { SOURCE_TAGS } from "../../src/sync/identity.ts";
import { TREE_ID_FILE } from "../../src/tree-files.ts";
import { runCli } from "../e2e/helpers.ts";
import { type FaultProxy, startFaultProxy } from "../helpers/fault-proxy.ts";
import { ensureMlflowEnvs, MLFLOW_VERSIONS, REPO_ROOT, skipMlflow } from "../helpers/mlflow-env.ts";
import { type MlflowServer, startMlflowServer } from "../helpers/mlflow-server.ts";
import { type Postgres, startPostgres } from "../helpers/postgres.ts";
import { type Dump, dumpStore, mlflowDump } from "./dump.ts";
import { expectServerHoldsTree } from "./sync-equality.ts";

const PACKAGE = join(REPO_ROOT, "dist", "src", "index.js");

/**
 * The training script: a parent run and a child run logging three metrics every 20 ms. On stdin,
 * `child` ends the child (with an artifact) and starts another; `end` ends them all and lets the
 * process end, which waits for the push. It prints the longest pause of its loop (ms) last.
 */
const TRAINER = `
import { createInterface } from "node:readline";
import { getTracker } from ${JSON.stringify(pathToFileURL(PACKAGE).href)};
const tracker = await getTracker();
const parent = await tracker.startRun("parent");
await parent.logParams({ lr: 0.01, layers: [64, 32] });
let children = 0;
const startChild = async () => {
  const run = await tracker.startRun("child-" + children++, { parentRunId: parent.id });
  await run.setTag("fold", String(children));
  return run;
};
let child = await startChild();
let step = 0;
let longest = 0;
let stop = false;
const lines = createInterface({ input: process.stdin });
lines.on("line", async (line) => {
  if (line === "end") stop = true;
  if (line === "child") {
    const done = child;
    child = await startChild();
    await done.logText("fold " + children, "notes/fold.txt");
    await done.end();
    console.log("child " + child.id);
  }
});
console.log("ready " + child.id);
let last = performance.now();
while (!stop) {
  child.logMetric("loss", 1 / (step + 1), { step });
  child.logMetrics({ acc: step / 1e6, lr: 0.01 }, { step });
  if (step % 10 === 0) parent.logMetric("progress", step, { step });
  step++;
  await new Promise((resolve) => setTimeout(resolve, 20));
  const now = performance.now();
  longest = Math.max(longest, now - last);
  last = now;
}
lines.close();
await child.end();
await parent.end();
console.log("longest " + Math.round(longest));
`;

interface Trainer {
  child: ChildProcess;
  /** Resolves with the first stdout line starting with `word`, minus the word. */
  next(word: string): Promise<string>;
  send(line: string): void;
  /** Resolves when the process exits, with its output. */
  exited: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

function startTrainer(env: Record<string, string>): Trainer {
  if (!existsSync(PACKAGE)) throw new Error(`${PACKAGE} is missing: run \`npm run build\` first`);
  const clean: Record<string, string | undefined> = { ...process.env };
  for (const key of Object.keys(clean)) if (key.startsWith("MLFLOW_")) delete clean[key];
  const child = spawn(process.execPath, ["--input-type=module", "-e", TRAINER], {
    env: { ...clean, ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const waiting: { word: string; resolve: (rest: string) => void }[] = [];
  let seen = 0;
  const scan = () => {
    const lines = stdout.split("\n").slice(0, -1);
    for (; seen < lines.length; seen++) {
      const line = lines[seen] ?? "";
      const i = waiting.findIndex((w) => line.startsWith(`${w.word} `));
      if (i >= 0) waiting.splice(i, 1)[0]?.resolve(line.slice(line.indexOf(" ") + 1));
    }
  };
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
    scan();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once("close", (code) => resolve({ code, stdout, stderr })),
  );
  return {
    child,
    next: (word) =>
      new Promise((resolve, reject) => {
        waiting.push({ word, resolve });
        void exited.then(({ stderr: err }) =>
          reject(new Error(`the trainer exited before '${word}':\n${err}`)),
        );
        scan();
      }),
    send: (line) => child.stdin?.write(`${line}\n`),
    exited,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the server holds points of the copy of local run `runId` (pushed mid-run). */
async function untilPushed(url: string, experiment: string, runId: string): Promise<number> {
  const server = new RestStore(url, {
    maxRetries: 0,
    backoffFactor: 0,
    timeout: 5,
    insecureTls: false,
  });
  for (let i = 0; i < 360; i++) {
    const found = await server
      .getExperimentByName(experiment)
      .then((e) =>
        e
          ? server.searchRuns({
              experimentIds: [e.experimentId],
              filter: `tags.\`${SOURCE_TAGS.runId}\` = '${runId}'`,
            })
          : undefined,
      )
      .catch(() => undefined);
    const copy = found?.runs[0];
    if (copy && copy.data.metrics.loss !== undefined) {
      return (await server.getMetricHistory(copy.info.runId, "loss")).length;
    }
    await sleep(500);
  }
  throw new Error(`run ${runId} did not reach ${url} within 3 min`);
}

function points(dump: Dump): number {
  let total = 0;
  for (const run of dump.runs) {
    for (const history of Object.values(run.metric_history)) total += history.length;
  }
  return total;
}

/** The server holds exactly the tree; returns the points compared. */
async function expectServerHolds(root: string, server: MlflowServer): Promise<number> {
  const local = await dumpStore(new FileStore(root, { onProblem: () => {} }));
  const remote = await mlflowDump(server.version, server.url, { registry: false, artifacts: true });
  const tree = (await readFile(join(root, TREE_ID_FILE), "utf8")).trim();
  expectServerHoldsTree(local, remote, tree);
  return points(local);
}

/** Server restarts take a minute or more each on a loaded machine (4 workers on PostgreSQL). */
const LONG = { timeout: 600_000 };

const dirs: string[] = [];
async function tree(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "mlruns-local-first-"));
  dirs.push(dir);
  return join(dir, "mlruns");
}
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** The longest pause of the training loop, in ms, from the trainer's last line. */
function longestPause(stdout: string): number {
  return Number(/longest (\d+)/.exec(stdout)?.[1] ?? Number.NaN);
}

/** The servers: SQLite with one worker (3.x, 2.x), and 4 workers on PostgreSQL, as teams run it. */
const TARGETS = [
  { version: MLFLOW_VERSIONS.latest, postgres: false },
  { version: MLFLOW_VERSIONS.v2, postgres: false },
  { version: MLFLOW_VERSIONS.latest, postgres: true },
];

for (const { version, postgres } of TARGETS) {
  const name = `${version}${postgres ? " PostgreSQL" : ""}`;
  describe.skipIf(skipMlflow)(`local-first mode with a real MLflow ${name} server`, () => {
    let server: MlflowServer;
    let database: Postgres | undefined;
    beforeAll(async () => {
      if (postgres) {
        await ensureMlflowEnvs(["postgres"]);
        database = await startPostgres();
      }
      // Down until the first test starts it: that test begins with the server away.
      server = await startMlflowServer({
        version,
        down: true,
        ...(database ? { backendStoreUri: database.uri, workers: 4, readyTimeout: 300 } : {}),
      });
    });
    afterAll(async () => {
      await server?.stop();
      await database?.stop();
    });

    const envFor = (root: string, url: string, experiment: string, exitTimeout = 60) => ({
      MLFLOW_TRACKING_URI: url,
      MLFLOW_LOCAL_FIRST: "true",
      MLFLOW_LOCAL_FIRST_DIR: root,
      MLFLOW_LOCAL_FIRST_EXIT_TIMEOUT: String(exitTimeout),
      MLFLOW_EXPERIMENT_NAME: experiment,
    });

    it("trains through a server down at start, killed mid-run and restarted", LONG, async () => {
      const root = await tree();
      await server.crash(); // down already, unless this test runs again
      const trainer = startTrainer(envFor(root, server.url, "down-and-killed"));
      const first = await trainer.next("ready");
      await sleep(3000);
      await server.restart();
      expect(await untilPushed(server.url, "down-and-killed", first)).toBeGreaterThan(0);
      await server.crash();
      trainer.send("child");
      const second = await trainer.next("child");
      await sleep(3000);
      await server.restart();
      expect(await untilPushed(server.url, "down-and-killed", second)).toBeGreaterThan(0);
      trainer.send("end");
      const { code, stdout, stderr } = await trainer.exited;
      expect(code, stderr).toBe(0);
      expect(stderr).toBe("");
      expect(longestPause(stdout)).toBeLessThan(2000);
      const compared = await expectServerHolds(root, server);
      console.log(
        `local-first ${name}, down at start + killed mid-run: 2 faults (down 3 s at start, killed and down 3 s mid-run), ${compared} points compared, 0 duplicates`,
      );
    });

    it(
      "trains through a slow server (answers after 30 s) and one refusing with 503 and 401",
      LONG,
      async () => {
        const root = await tree();
        const proxy: FaultProxy = await startFaultProxy(server.url, {});
        try {
          proxy.set({ delayMs: 30_000 });
          // A timeout well under the 30 s the proxy holds answers back, so the test stays quick.
          const trainer = startTrainer({
            ...envFor(root, proxy.url, "slow-and-refusing"),
            MLFLOW_HTTP_REQUEST_TIMEOUT: "3",
          });
          const first = await trainer.next("ready");
          await sleep(6000);
          proxy.set({ status: 503 });
          trainer.send("child");
          await trainer.next("child");
          await sleep(3000);
          proxy.set({ status: 401 });
          await sleep(3000);
          proxy.set({});
          expect(await untilPushed(server.url, "slow-and-refusing", first)).toBeGreaterThan(0);
          trainer.send("end");
          const { code, stdout, stderr } = await trainer.exited;
          expect(code, stderr).toBe(0);
          expect(stderr).toBe("");
          expect(longestPause(stdout)).toBeLessThan(2000);
          expect(proxy.faults()).toBeGreaterThan(3);
          const compared = await expectServerHolds(root, server);
          console.log(
            `local-first ${name}, slow + 503 + 401: ${proxy.faults()} faults, ${compared} points compared, 0 duplicates`,
          );
        } finally {
          await proxy.stop();
        }
      },
    );

    it("says at exit what is left and the command that pushes it, which does", LONG, async () => {
      const root = await tree();
      await server.crash();
      const trainer = startTrainer(envFor(root, server.url, "left-behind", 1));
      await trainer.next("ready");
      await sleep(1000);
      trainer.send("end");
      const { code, stderr } = await trainer.exited;
      expect(code, stderr).toBe(0);
      const lines = stderr.trim().split("\n");
      expect(lines[0]).toMatch(
        /^mlruns: 2 runs of experiment 'left-behind' \(up to [\d,]+ metric points\) not yet all on http:\/\/127\.0\.0\.1:\d+ after waiting 1 s/,
      );
      expect(lines[0]).toContain(`They are safe in ${root}.`);
      expect(lines[1]).toBe(
        `mlruns: push them with: npx mlruns sync ${root} --to ${server.url} -e left-behind`,
      );
      await server.restart();
      const command = (lines[1] ?? "").replace("mlruns: push them with: npx mlruns ", "");
      const pushed = await runCli(command.split(" "));
      expect(pushed.code, pushed.stderr).toBe(0);
      const compared = await expectServerHolds(root, server);
      console.log(
        `local-first ${name}, exit while down then mlruns sync: 1 fault, ${compared} points compared, 0 duplicates`,
      );
    });
  });
}
