/**
 * The real MLflow reads what our FileStore writes, and we read what MLflow wrote: the same
 * experiments, runs, params, tags, metric histories, latest metrics, inputs and artifacts.
 */
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileStore } from "../../src/store/file/index.ts";
import { MLFLOW_VERSIONS, REPO_ROOT } from "../helpers/mlflow-env.ts";
import {
  type Dump,
  type DumpNumber,
  dumpStore,
  materializeFixture,
  mlflowDump,
  mlflowMigrate,
} from "./dump.ts";
import { writeVariedTree } from "./varied-tree.ts";

const scratch: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "mlruns-compat-"));
  scratch.push(dir);
  return dir;
}
afterAll(async () => {
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

/** Our dump of a tree, failing on any problem the reader reports. */
async function ourDump(root: string, artifacts = true): Promise<Dump> {
  const store = new FileStore(root, {
    onProblem: (p) => {
      throw new Error(`tree problem at ${p.path}:${p.line ?? ""} ${p.message}`);
    },
  });
  return dumpStore(store, { artifacts });
}

/**
 * What migrate-filestore and the SQL store change on purpose: ±inf become ±max float (SQL has no
 * infinity), -0.0 becomes 0.0, and history comes back ordered by (timestamp, step, value).
 */
function asMigrated(dump: Dump): Dump {
  const MAX = 1.7976931348623157e308;
  const fix = (v: DumpNumber): DumpNumber =>
    v === "Infinity" ? MAX : v === "-Infinity" ? -MAX : Object.is(v, -0) ? 0 : v;
  const num = (v: DumpNumber) => (typeof v === "number" ? v : Number.NaN);
  const copy = structuredClone(dump);
  for (const run of copy.runs) {
    for (const m of Object.values(run.metrics)) m.value = fix(m.value);
    for (const points of Object.values(run.metric_history)) {
      for (const p of points) p[1] = fix(p[1]);
      points.sort((a, b) => a[0] - b[0] || a[2] - b[2] || num(a[1]) - num(b[1]));
    }
    run.artifacts = null;
  }
  return copy;
}

/**
 * The one place we read more than MLflow: a deleted experiment's runs still point at the folder
 * the experiment had before it moved to `.trash`, so MLflow lists no artifacts for them; we find
 * them in `.trash` (and so can show, restore or sync them). Checked explicitly, then masked.
 */
function withTrashedArtifactsHidden(dump: Dump): Dump {
  const copy = structuredClone(dump);
  const deleted = new Set(
    copy.experiments.filter((e) => e.lifecycle_stage === "deleted").map((e) => e.experiment_id),
  );
  const trashed = copy.runs.filter((r) => deleted.has(r.info.experiment_id));
  expect(trashed.length).toBeGreaterThan(0);
  for (const run of trashed) {
    expect(run.artifacts?.length).toBeGreaterThan(0);
    run.artifacts = [];
  }
  return copy;
}

/**
 * MLflow's file store reads a metric line with a dataset (5 fields) as step 0, a bug its own
 * migration does not share. We read the real step; this puts it back into MLflow's dump.
 */
async function withRealDatasetLineSteps(
  dump: Dump,
  root: string,
): Promise<{ dump: Dump; fixed: number }> {
  const copy = structuredClone(dump);
  let fixed = 0;
  for (const run of copy.runs) {
    const [runDir] = (await readdir(root, { recursive: true, withFileTypes: true }))
      .filter((e) => e.isDirectory() && e.name === run.info.run_id)
      .map((e) => join(e.parentPath, e.name));
    if (runDir === undefined) continue;
    for (const [key, points] of Object.entries(run.metric_history)) {
      const lines = (await readFile(join(runDir, "metrics", ...key.split("/")), "utf8"))
        .trim()
        .split("\n");
      lines.forEach((line, i) => {
        const fields = line.split(" ");
        const point = points[i];
        if (fields.length === 5 && point) {
          point[2] = Number(fields[2]);
          fixed++;
        }
      });
      const latest = run.metrics[key];
      const last = points.reduce((a, b) => (b[2] > a[2] || (b[2] === a[2] && b[0] > a[0]) ? b : a));
      if (latest && lines.some((l) => l.split(" ").length === 5)) latest.step = last[2];
    }
  }
  return { dump: copy, fixed };
}

describe("trees written by our FileStore", () => {
  let root: string;
  let ours: Dump;
  beforeAll(async () => {
    root = join(await tempDir(), "mlruns");
    await writeVariedTree(new FileStore(root));
    ours = await ourDump(root);
  });

  for (const version of [MLFLOW_VERSIONS.latest, MLFLOW_VERSIONS.v2]) {
    it(`are read by MLflow ${version} with exactly the same data`, async () => {
      const theirs = await mlflowDump(version, root, { registry: false });
      expect(theirs).toEqual(withTrashedArtifactsHidden(ours));
    });
  }

  it("are migrated by `mlflow migrate-filestore` to SQLite with the same data", async () => {
    const db = join(await tempDir(), "mlflow.db");
    await mlflowMigrate(MLFLOW_VERSIONS.latest, root, db);
    const migrated = await mlflowDump(MLFLOW_VERSIONS.latest, `sqlite:///${db}`, {
      registry: false,
      artifacts: false,
    });
    expect(migrated).toEqual(asMigrated(ours));
  });

  it("artifacts at a custom location (file URI, plain path) are listed by MLflow", async () => {
    const dir = await tempDir();
    const tree = join(dir, "mlruns");
    const store = new FileStore(tree);
    const note = join(dir, "note.txt");
    await writeFile(note, "hello");
    for (const location of [pathToFileURL(join(dir, "by-uri")).href, join(dir, "by-path")]) {
      const experimentId = await store.createExperiment(location, { artifactLocation: location });
      const { runId } = (await store.createRun({ experimentId })).info;
      await store.logArtifact(runId, note, "docs");
    }
    const mine = await ourDump(tree);
    expect(mine.runs.map((r) => r.artifacts?.length)).toEqual([2, 2]);
    for (const version of [MLFLOW_VERSIONS.latest, MLFLOW_VERSIONS.v2]) {
      expect(await mlflowDump(version, tree, { registry: false })).toEqual(mine);
    }
  });

  it("mlruns.example is read by MLflow as we read it, and migrates", async () => {
    const copy = join(await tempDir(), "mlruns");
    await cp(join(REPO_ROOT, "mlruns.example"), copy, { recursive: true });
    const example = await ourDump(copy, false);
    expect(example.runs.length).toBeGreaterThan(0);
    const theirs = await mlflowDump(MLFLOW_VERSIONS.latest, copy, {
      registry: false,
      artifacts: false,
    });
    expect(theirs).toEqual(example);
    const db = join(await tempDir(), "example.db");
    await mlflowMigrate(MLFLOW_VERSIONS.latest, copy, db);
  });
});

describe("trees written by the real MLflow", () => {
  for (const version of [MLFLOW_VERSIONS.v2, MLFLOW_VERSIONS.latest]) {
    it(`MLflow ${version}'s tree reads the same through our FileStore`, async () => {
      const root = await materializeFixture(`mlflow-${version}`);
      scratch.push(dirname(root));
      const { fixed, dump: theirs } = await withRealDatasetLineSteps(
        await mlflowDump(version, root, { registry: false }),
        root,
      );
      // Only MLflow 3 writes dataset-linked metric lines.
      expect(fixed > 0).toBe(version === MLFLOW_VERSIONS.latest);
      const ours = await ourDump(root);
      expect(ours).toEqual(theirs);
    });
  }
});
