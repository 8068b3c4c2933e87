/**
 * Differential test of src/search against real MLflow 3.17.2. One tree (search-tree.ts) is written
 * by our FileStore, then MLflow searches it as a file store and, migrated with
 * `mlflow migrate-filestore`, as a SQLite store; our searchRuns answers the same cases
 * (search-corpus.ts) over the runs our FileStore reads back. For each case we must agree with at
 * least the store the corpus names (or with both when they agree with each other).
 *
 * MLRUNS_SEARCH_TREE=mlflow writes the tree with MLflow itself and reads the runs back through
 * MLflow (search_oracle.py --dump): that checks the search module alone, without our FileStore.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Run, ViewType } from "../../src/entities.ts";
import { isMlflowError } from "../../src/errors.ts";
import { searchRuns } from "../../src/search/index.ts";
import { FileStore } from "../../src/store/file/index.ts";
import type { TrackingStore } from "../../src/store/store.ts";
import { MLFLOW_ENV, MLFLOW_VERSIONS, skipMlflow, venvBin } from "../helpers/mlflow-env.ts";
import { SEARCH_CASES, type SearchCase } from "./search-corpus.ts";
import { buildTreeSpec, type JsonNumber, type TreeSpec } from "./search-tree.ts";

const PYTHON = process.env.MLFLOW_PYTHON ?? venvBin(MLFLOW_VERSIONS.latest, "python");
const MLFLOW_CLI = join(PYTHON, "..", "mlflow");
const ORACLE = fileURLToPath(new URL("./search_oracle.py", import.meta.url));
const ENV = { ...process.env, ...MLFLOW_ENV, MLFLOW_TRACKING_URI: "" };
const MODE = process.env.MLRUNS_SEARCH_TREE === "mlflow" ? "mlflow" : "ours";

type OracleResult =
  | { runs: string[]; hasNext: boolean; all: string[] }
  | { error: { code: string; message: string } };

interface Outcome {
  ok: boolean;
  /** Page 1, and every page, when ok. */
  runs?: string[];
  all?: string[];
  hasNext?: boolean;
  code?: string;
  message?: string;
}

function oracle(uri: string, cases: SearchCase[]): OracleResult[] {
  const out = execFileSync(PYTHON, [ORACLE, uri], {
    input: JSON.stringify(cases),
    env: ENV,
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(out.toString("utf8")) as OracleResult[];
}

const num = (x: JsonNumber): number => (typeof x === "number" ? x : Number(x));

async function writeWithFileStore(root: string, spec: TreeSpec): Promise<Run[]> {
  // Imported by path so this file type-checks before the FileStore lands.
  const modulePath = "../../src/store/file/index.ts";
  const { FileStore } = (await import(modulePath)) as {
    FileStore: new (root: string) => TrackingStore;
  };
  const store = new FileStore(root);
  const experimentIds: string[] = [];
  for (const e of spec.experiments) {
    experimentIds.push(await store.createExperiment(e.name, { tags: e.tags }));
  }
  for (const r of spec.runs) {
    const run = await store.createRun({
      experimentId: experimentIds[r.experiment] as string,
      runName: r.runName,
      startTime: r.startTime,
      userId: r.user,
      tags: { "mlflow.user": r.user, ...r.tags },
    });
    const id = run.info.runId;
    await store.logBatch(id, {
      params: r.params,
      metrics: Object.entries(r.metrics).flatMap(([key, history]) =>
        history.map((v, step) => ({ key, value: num(v), timestamp: r.startTime + step, step })),
      ),
    });
    if (r.datasets.length > 0) {
      await store.logInputs(
        id,
        r.datasets.map((d) => ({
          dataset: {
            name: d.name,
            digest: d.digest,
            sourceType: "local",
            source: `file:///data/${d.name}`,
            schema: null,
            profile: null,
          },
          tags: (d.context === undefined ? {} : { "mlflow.data.context": d.context }) as Record<
            string,
            string
          >,
        })),
      );
    }
    if (r.end) await store.updateRun(id, { status: r.end.status, endTime: r.end.endTime });
    if (r.deleted) await store.deleteRun(id);
  }
  await store.flush();
  return store.listRuns(experimentIds, "ALL");
}

function writeWithMlflow(root: string, spec: TreeSpec): Run[] {
  execFileSync(PYTHON, [ORACLE, "--build", root], { input: JSON.stringify(spec), env: ENV });
  const out = execFileSync(PYTHON, [ORACLE, "--dump", pathToFileURL(root).href], {
    env: ENV,
    maxBuffer: 64 * 1024 * 1024,
  });
  const runs = JSON.parse(out.toString("utf8")) as Run[];
  for (const run of runs) {
    for (const m of Object.values(run.data.metrics)) m.value = num(m.value as JsonNumber);
  }
  return runs;
}

function ours(runs: Run[], c: SearchCase): Outcome {
  const view: ViewType = c.viewType ?? "ACTIVE_ONLY";
  const visible = runs.filter((r) =>
    view === "ALL"
      ? true
      : view === "ACTIVE_ONLY"
        ? r.info.lifecycleStage === "active"
        : r.info.lifecycleStage === "deleted",
  );
  try {
    const query = { filter: c.filter, orderBy: c.orderBy, maxResults: c.maxResults ?? 1000 };
    const first = searchRuns(visible, query);
    const all = first.runs.map((r) => r.info.runId);
    let token = first.nextPageToken;
    while (token !== undefined) {
      const next = searchRuns(visible, { ...query, pageToken: token });
      all.push(...next.runs.map((r) => r.info.runId));
      token = next.nextPageToken;
    }
    return {
      ok: true,
      runs: first.runs.map((r) => r.info.runId),
      all,
      hasNext: first.nextPageToken !== undefined,
    };
  } catch (error) {
    if (!isMlflowError(error)) throw error;
    return { ok: false, code: error.code, message: error.message };
  }
}

/** The same case through FileStore.searchRuns (the search index), every page. */
async function throughIndex(
  store: FileStore,
  experimentIds: string[],
  c: SearchCase,
): Promise<Outcome> {
  try {
    const query = {
      experimentIds,
      viewType: c.viewType ?? "ACTIVE_ONLY",
      filter: c.filter,
      orderBy: c.orderBy,
      maxResults: c.maxResults ?? 1000,
    };
    const first = await store.searchRuns(query);
    const all = first.runs.map((r) => r.info.runId);
    let token = first.nextPageToken;
    while (token !== undefined) {
      const next = await store.searchRuns({ ...query, pageToken: token });
      all.push(...next.runs.map((r) => r.info.runId));
      token = next.nextPageToken;
    }
    return {
      ok: true,
      runs: first.runs.map((r) => r.info.runId),
      all,
      hasNext: first.nextPageToken !== undefined,
    };
  } catch (error) {
    if (!isMlflowError(error)) throw error;
    return { ok: false, code: error.code, message: error.message };
  }
}

const fromOracle = (r: OracleResult): Outcome =>
  "error" in r
    ? { ok: false, code: r.error.code, message: r.error.message }
    : { ok: true, runs: r.runs, all: r.all, hasNext: r.hasNext };

/** Same answer: both errors, or the same ids in the same order on page 1 and over all pages. */
function same(a: Outcome, b: Outcome): boolean {
  if (!a.ok || !b.ok) return a.ok === b.ok;
  return (
    JSON.stringify(a.runs) === JSON.stringify(b.runs) &&
    JSON.stringify(a.all) === JSON.stringify(b.all) &&
    a.hasNext === b.hasNext
  );
}

const brief = (o: Outcome): string =>
  o.ok
    ? `${o.all?.length} runs [${o.all?.slice(0, 6).join(",")}…]`
    : `error ${o.code}: ${o.message?.split("\n")[0]}`;

describe.skipIf(skipMlflow)(
  `search_runs vs MLflow 3.17.2 (tree written by ${MODE === "ours" ? "our FileStore" : "MLflow"})`,
  () => {
    let dir: string;
    let runs: Run[];
    let fileResults: Outcome[];
    let sqlResults: Outcome[];

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "mlruns-search-"));
      const root = join(dir, "mlruns");
      mkdirSync(root);
      const spec = buildTreeSpec();
      runs = MODE === "ours" ? await writeWithFileStore(root, spec) : writeWithMlflow(root, spec);
      const db = join(dir, "mlflow.db");
      execFileSync(
        MLFLOW_CLI,
        ["migrate-filestore", "--source", root, "--target", `sqlite:///${db}`, "--no-progress"],
        { env: ENV, stdio: "pipe" },
      );
      fileResults = oracle(pathToFileURL(root).href, SEARCH_CASES).map(fromOracle);
      sqlResults = oracle(`sqlite:///${db}`, SEARCH_CASES).map(fromOracle);
    });

    afterAll(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    test("the tree has what the corpus needs", () => {
      expect(runs.length).toBe(36);
      expect(new Set(runs.map((r) => r.info.experimentId)).size).toBe(2);
    });

    test("FileStore.searchRuns (the search index) answers every case as the in-memory path", async () => {
      const root = join(dir, "mlruns");
      const experimentIds = [...new Set(runs.map((r) => r.info.experimentId))];
      // Twice: building the index (no index file), then from the index file in a new store.
      for (let pass = 0; pass < 2; pass++) {
        const store = new FileStore(root, { onProblem: () => {} });
        for (const c of SEARCH_CASES) {
          const viaIndex = await throughIndex(store, experimentIds, c);
          const inMemory = ours(runs, c);
          expect(
            same(viaIndex, inMemory),
            `${JSON.stringify(c)}: ${brief(viaIndex)} vs ${brief(inMemory)}`,
          ).toBe(true);
          if (!viaIndex.ok) expect(viaIndex.message).toBe(inMemory.message);
        }
        await store.close();
      }
    });

    test("agreement report", () => {
      const rows: string[] = [];
      let withFile = 0;
      let withSql = 0;
      const messages: string[] = [];
      SEARCH_CASES.forEach((c, i) => {
        const o = ours(runs, c);
        const f = fileResults[i] as Outcome;
        const s = sqlResults[i] as Outcome;
        if (!o.ok && !f.ok && o.message?.split("\n")[0] !== f.message) {
          messages.push(
            `${JSON.stringify(c.filter)} ${JSON.stringify(c.orderBy ?? [])}\n  ours: ${o.message?.split("\n")[0]}\n  file: ${f.message}`,
          );
        }
        if (same(o, f)) withFile++;
        if (same(o, s)) withSql++;
        if (!same(o, f) || !same(o, s)) {
          rows.push(
            `${JSON.stringify(c)}\n  ours: ${brief(o)}\n  file: ${brief(f)}\n  sql:  ${brief(s)}`,
          );
        }
      });
      console.log(
        `search corpus: ${SEARCH_CASES.length} cases; agree with MLflow FileStore ${withFile}, ` +
          `with MLflow SQLite ${withSql}\n${rows.join("\n")}\n` +
          `error messages that differ from MLflow's (${messages.length}):\n${messages.join("\n")}`,
      );
    });

    test.each(SEARCH_CASES.map((c, i) => [i, c] as const))("case %i %j", (i, c) => {
      const o = ours(runs, c);
      const f = fileResults[i] as Outcome;
      const s = sqlResults[i] as Outcome;
      if (same(f, s)) {
        // Errors agree when both sides fail (the wording may differ; see the report).
        expect(same(o, f), `ours ${brief(o)} vs MLflow ${brief(f)}`).toBe(true);
      } else {
        // MLflow's stores disagree: the corpus must say so, and we follow the one it names.
        expect(c.expectDiffer, `stores disagree: file ${brief(f)} / sql ${brief(s)}`).toBeDefined();
        const target = c.expectDiffer === "file" ? f : s;
        expect(same(o, target), `ours ${brief(o)} vs ${c.expectDiffer} ${brief(target)}`).toBe(
          true,
        );
      }
      if (!o.ok) expect(o.code).toBe("INVALID_PARAMETER_VALUE");
    });
  },
);
