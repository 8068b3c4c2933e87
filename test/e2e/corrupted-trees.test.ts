/**
 * The corrupted-tree matrix: each way a tree can be broken (by a crash, by hand, by another tool)
 * × every command that reads a tree. Whatever the corruption, a command either works or fails
 * with a clear error (an MLflow error code and a hint), never a raw errno, a stack trace or
 * INTERNAL_ERROR; one broken run, experiment or model never hides the healthy ones from a
 * listing; and sync (library) copies the healthy runs and reports the broken one.
 */
import { appendFile, cp, mkdir, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { FileStore, MemoryStore, sync } from "mlruns";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertBuilt, runCli, type SampleTree, sampleTree, tempDir } from "./helpers.ts";

interface Tree extends SampleTree {
  dir: string;
  run0: string;
  run1: string;
  model: string;
  /** A run in experiment 0, which no corruption touches. */
  elsewhere: string;
}

const NOT_UTF8 = Buffer.from([0x31, 0x2e, 0x35, 0xff, 0xfe]);

/** A way to break a tree (run 0 of experiment `iris`, the experiment, or the registry). */
type Breaker = (t: Tree) => Promise<unknown>;

/** Corruptions that make the whole experiment `iris` unreadable (for MLflow too). */
const WHOLE_EXPERIMENT = new Set([
  "the experiment meta.yaml is a folder",
  "the experiment meta.yaml is garbage",
  "the experiment meta.yaml is empty",
  "the experiment meta.yaml is not UTF-8",
  "an experiment tag is not UTF-8",
]);

async function replaceWithFolder(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
  await mkdir(path);
}

async function replaceWithFile(path: string, content = "not a folder"): Promise<void> {
  await rm(path, { recursive: true, force: true });
  await writeFile(path, content);
}

async function loop(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
  await symlink(`${path}.loop`, path);
  await symlink(path, `${path}.loop`);
}

const meta = (t: Tree) => join(t.run0, "meta.yaml");
const experimentMeta = (t: Tree) => join(t.root, t.experimentId, "meta.yaml");
const inputDir = async (t: Tree) =>
  join(t.run0, "inputs", (await readdir(join(t.run0, "inputs")))[0] ?? "");
const datasetDir = async (t: Tree) => {
  const datasets = join(t.root, t.experimentId, "datasets");
  return join(datasets, (await readdir(datasets))[0] ?? "");
};

const CORRUPTIONS: Record<string, Breaker> = {
  "run meta.yaml is a folder": (t) => replaceWithFolder(meta(t)),
  "run meta.yaml is a symlink loop": (t) => loop(meta(t)),
  "run meta.yaml is empty": (t) => writeFile(meta(t), ""),
  "run meta.yaml is not YAML": (t) => writeFile(meta(t), "run_id: [unclosed\n"),
  "run meta.yaml is a YAML list": (t) => writeFile(meta(t), "- a\n- b\n"),
  "run meta.yaml is not UTF-8": (t) => writeFile(meta(t), NOT_UTF8),
  "run meta.yaml has no run_id": async (t) =>
    writeFile(meta(t), (await readFile(meta(t), "utf8")).replace(/^run_id: .*\n/m, "")),
  "run meta.yaml names another run": async (t) =>
    writeFile(
      meta(t),
      (await readFile(meta(t), "utf8")).replace(/^run_id: .*$/m, `run_id: '${"f".repeat(32)}'`),
    ),
  "run meta.yaml has a string status": async (t) =>
    writeFile(
      meta(t),
      (await readFile(meta(t), "utf8")).replace(/^status: .*$/m, "status: FINISHED"),
    ),
  "metrics/ is a file": (t) => replaceWithFile(join(t.run0, "metrics")),
  "params/ is a file": (t) => replaceWithFile(join(t.run0, "params")),
  "tags/ is a file": (t) => replaceWithFile(join(t.run0, "tags")),
  "artifacts/ is a file": (t) => replaceWithFile(join(t.run0, "artifacts")),
  "metrics/ is missing": (t) => rm(join(t.run0, "metrics"), { recursive: true }),
  "artifacts/ is missing": (t) => rm(join(t.run0, "artifacts"), { recursive: true }),
  "a metric file is empty": (t) => writeFile(join(t.run0, "metrics", "loss"), ""),
  "a metric line is malformed": (t) => appendFile(join(t.run0, "metrics", "loss"), "1 abc 3\n"),
  "a metric file is not UTF-8": (t) => writeFile(join(t.run0, "metrics", "loss"), NOT_UTF8),
  "a metric file is a folder": (t) => replaceWithFolder(join(t.run0, "metrics", "loss")),
  "a metric file links to a non-metric file": (t) =>
    symlink(join(t.run0, "params", "lr"), join(t.run0, "metrics", "lr")),
  "a metric file is a symlink loop": (t) => loop(join(t.run0, "metrics", "loss")),
  "a param file is not UTF-8": (t) => writeFile(join(t.run0, "params", "lr"), NOT_UTF8),
  "a param file is a dangling link": (t) =>
    symlink(join(t.dir, "nowhere"), join(t.run0, "params", "gone")),
  "a tag file is not UTF-8": (t) => writeFile(join(t.run0, "tags", "stage"), NOT_UTF8),
  "inputs/ is a file": (t) => replaceWithFile(join(t.run0, "inputs")),
  "an input meta.yaml is garbage": async (t) =>
    writeFile(join(await inputDir(t), "meta.yaml"), "source_id: [oops\n"),
  "an input meta.yaml is a YAML string": async (t) =>
    writeFile(join(await inputDir(t), "meta.yaml"), "just text\n"),
  "an input folder is a file": async (t) => replaceWithFile(await inputDir(t)),
  "a dataset meta.yaml is garbage": async (t) =>
    writeFile(join(await datasetDir(t), "meta.yaml"), "name: [oops\n"),
  "a dataset meta.yaml is a folder": async (t) =>
    replaceWithFolder(join(await datasetDir(t), "meta.yaml")),
  "an artifact links out of the run": async (t) => {
    await writeFile(join(t.dir, "secret.txt"), "secret");
    await rm(join(t.run0, "artifacts", "notes-0.txt"));
    await symlink(join(t.dir, "secret.txt"), join(t.run0, "artifacts", "notes-0.txt"));
  },
  "an artifact folder links out of the run": (t) =>
    symlink(t.dir, join(t.run0, "artifacts", "linked")),
  "an artifact is a dangling link": (t) =>
    symlink(join(t.dir, "nowhere"), join(t.run0, "artifacts", "gone.txt")),
  "the experiment meta.yaml is a folder": (t) => replaceWithFolder(experimentMeta(t)),
  "the experiment meta.yaml is garbage": (t) => writeFile(experimentMeta(t), "name: [oops\n"),
  "the experiment meta.yaml is empty": (t) => writeFile(experimentMeta(t), ""),
  "the experiment meta.yaml is not UTF-8": (t) => writeFile(experimentMeta(t), NOT_UTF8),
  "the experiment's tags/ is a file": (t) => replaceWithFile(join(t.root, t.experimentId, "tags")),
  "an experiment tag is not UTF-8": (t) =>
    writeFile(join(t.root, t.experimentId, "tags", "team"), NOT_UTF8),
  "an experiment folder without meta.yaml": (t) => mkdir(join(t.root, "223456789012345678")),
  ".trash is a file": (t) => replaceWithFile(join(t.root, ".trash")),
  "a deleted experiment's meta.yaml is garbage": async (t) => {
    await mkdir(join(t.root, ".trash", "323456789012345678"), { recursive: true });
    await writeFile(join(t.root, ".trash", "323456789012345678", "meta.yaml"), "a: [b\n");
  },
  "a dot folder at the root": (t) => mkdir(join(t.root, ".ipynb_checkpoints")),
  "a model alias is a folder": (t) => replaceWithFolder(join(t.model, "aliases", "champion")),
  "a model's aliases/ is a file": (t) => replaceWithFile(join(t.model, "aliases")),
  "a model meta.yaml is missing": (t) => rm(join(t.model, "meta.yaml")),
  "a model meta.yaml is garbage": (t) => writeFile(join(t.model, "meta.yaml"), "name: [oops\n"),
  "a model's tags/ is a file": (t) => replaceWithFile(join(t.model, "tags")),
  "a model tag is not UTF-8": (t) => writeFile(join(t.model, "tags", "team"), NOT_UTF8),
  "a version meta.yaml is a folder": (t) =>
    replaceWithFolder(join(t.model, "version-2", "meta.yaml")),
  "a version meta.yaml is garbage": (t) =>
    writeFile(join(t.model, "version-2", "meta.yaml"), "version: [oops\n"),
  "models/ is a file": (t) => replaceWithFile(join(t.root, "models")),
};

/** A clear error: one line, an MLflow error code (never INTERNAL_ERROR or an errno), a hint. */
const CLEAR_ERROR =
  /^mlruns: error: .+ \[(INVALID_STATE|INVALID_PARAMETER_VALUE|RESOURCE_DOES_NOT_EXIST)\] \(hint: .+\)\n$/s;

let base: Tree;
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

beforeAll(async () => {
  assertBuilt();
  const { dir, cleanup } = await tempDir("mlruns-corrupt-base-");
  cleanups.push(cleanup);
  const sample = await sampleTree(dir);
  const store = new FileStore(sample.root, { onProblem: () => {} });
  const [id0, id1] = sample.runIds;
  await store.logInputs(id0, [
    {
      dataset: {
        name: "iris",
        digest: "a1b2c3d4",
        sourceType: "local",
        source: '{"uri": "iris.csv"}',
        schema: null,
        profile: null,
      },
      tags: { "mlflow.data.context": "train" },
    },
  ]);
  const { registry } = store;
  await registry.createRegisteredModel("iris-rf", { tags: { team: "ml" } });
  for (const runId of [id0, id1]) {
    await registry.createModelVersion({ name: "iris-rf", source: `runs:/${runId}/model`, runId });
  }
  await registry.setRegisteredModelAlias("iris-rf", "champion", "1");
  const elsewhere = (await store.createRun({ experimentId: "0", runName: "elsewhere" })).info.runId;
  await store.updateRun(elsewhere, { status: "FINISHED", endTime: 1_700_000_020_000 });
  base = {
    ...sample,
    elsewhere,
    dir,
    run0: join(sample.root, sample.experimentId, id0),
    run1: join(sample.root, sample.experimentId, id1),
    model: join(sample.root, "models", "iris-rf"),
  };
});

/** A copy of the base tree, broken by `breaker`. */
async function broken(breaker: Breaker): Promise<Tree> {
  const { dir, cleanup } = await tempDir("mlruns-corrupt-");
  cleanups.push(cleanup);
  const root = join(dir, "mlruns");
  await cp(base.root, root, { recursive: true, verbatimSymlinks: true });
  const rebase = (path: string) => join(root, path.slice(base.root.length));
  const tree: Tree = {
    ...base,
    dir,
    root,
    run0: rebase(base.run0),
    run1: rebase(base.run1),
    model: rebase(base.model),
  };
  await breaker(tree);
  return tree;
}

describe("corrupted trees × read commands", () => {
  for (const [name, breaker] of Object.entries(CORRUPTIONS)) {
    it(name, async () => {
      const t = await broken(breaker);
      const [id0, id1] = t.runIds;
      const u = ["-u", t.root];
      const commands: { args: string[]; mustWork?: boolean }[] = [
        { args: ["runs", "list", ...u, "--json"], mustWork: true },
        {
          args: ["runs", "list", ...u, "-f", "params.lr = '0.01'", "--view", "all"],
          mustWork: true,
        },
        { args: ["runs", "show", id0, ...u] },
        { args: ["runs", "show", id1, ...u] },
        { args: ["runs", "compare", id0, id1, ...u] },
        { args: ["experiments", "list", "--view", "all", ...u], mustWork: true },
        { args: ["metrics", "history", id0, "loss", ...u] },
        { args: ["artifacts", "list", id0, "-r", ...u] },
        { args: ["artifacts", "get", id0, "notes-0.txt", ...u] },
        { args: ["models", "list", ...u], mustWork: true },
        { args: ["models", "show", "iris-rf", ...u] },
        { args: ["models", "versions", ...u] },
        { args: ["gc", t.root], mustWork: true },
        { args: ["verify", t.root, "--json"] },
      ];
      const results = await Promise.all(commands.map(({ args }) => runCli(args)));
      results.forEach((result, i) => {
        const { args, mustWork } = commands[i] as (typeof commands)[number];
        const what = `mlruns ${args.join(" ")}\n${result.stderr}`;
        expect(result.stderr, what).not.toMatch(/INTERNAL_ERROR|\[E[A-Z]+\]|^\s+at /m);
        if (result.code !== 0) {
          expect(result.code, what).toBe(1);
          if (args[0] !== "verify") expect(result.stderr, what).toMatch(CLEAR_ERROR);
        }
        if (mustWork) expect(result.code, what).toBe(0);
      });
      // The healthy runs are always listed.
      const healthy = WHOLE_EXPERIMENT.has(name) ? [t.elsewhere] : [t.elsewhere, id1];
      const listed = JSON.parse(results[0]?.stdout ?? "{}") as {
        runs: { info: { runId: string } }[];
      };
      expect(listed.runs.map((r) => r.info.runId)).toEqual(expect.arrayContaining(healthy));
      // verify reports the corruption (or finds nothing MLflow would mind), in JSON.
      const verified = results.at(-1);
      expect(() => JSON.parse(verified?.stdout ?? ""), verified?.stderr).not.toThrow();
      // Sync copies the healthy run and reports, never throws for, the broken one.
      const target = new MemoryStore();
      const report = await sync({
        source: new FileStore(t.root, { onProblem: () => {} }),
        target,
        ledgerPath: null,
      });
      const outcome = (id: string) => report.runs.find((r) => r.sourceRunId === id)?.outcome;
      for (const id of healthy) expect(outcome(id), JSON.stringify(report)).toBe("created");
      expect(["created", "failed", undefined]).toContain(outcome(id0));
    });
  }
});
