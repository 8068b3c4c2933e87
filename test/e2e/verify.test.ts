/**
 * `mlruns verify` on trees broken on purpose, each finding checked against what the real MLflow
 * does with the same tree: `breaks.read` ⇔ MLflow's client fails to read it (reader.py dump),
 * `breaks.migrate` ⇔ `mlflow migrate-filestore` rejects it. Then `--fix --yes` must leave a tree
 * that MLflow reads and migrates.
 */
import {
  appendFile,
  cp,
  mkdir,
  readdir,
  readFile,
  rm,
  symlink,
  utimes,
  writeFile,
} from "node:fs/promises";
import { join } from "node:path";
import { FileStore, type ProblemCode, type VerifyProblem } from "mlruns";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { materializeFixture, mlflowDump, mlflowMigrate } from "../compat/dump.ts";
import { MLFLOW_VERSIONS, skipMlflow } from "../helpers/mlflow-env.ts";
import { assertBuilt, runCli, runJson, type SampleTree, sampleTree, tempDir } from "./helpers.ts";

const V = MLFLOW_VERSIONS.latest;

interface VerifyJson {
  root: string;
  checked: { experiments: number; runs: number; metricFiles: number; models: number };
  problems: Omit<VerifyProblem, "action">[];
  summary: { errors: number; warnings: number; fixable: number };
  fix?: { planned: unknown[]; applied: boolean; fixed?: unknown[]; after?: unknown };
  after?: { problems: VerifyProblem[]; summary: { errors: number; warnings: number } };
}

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});
beforeAll(() => assertBuilt());

async function fresh(): Promise<SampleTree & { dir: string }> {
  const { dir, cleanup } = await tempDir("mlruns-verify-");
  cleanups.push(cleanup);
  return { dir, ...(await sampleTree(dir)) };
}

/**
 * Whether the real MLflow reads the tree, and whether migrate-filestore accepts it; `why` holds
 * MLflow's messages, shown when a verdict differs from what verify claimed.
 */
async function mlflowVerdict(
  dir: string,
  root: string,
  registry: boolean,
): Promise<{ read: boolean; migrate: boolean; why?: string }> {
  const why: string[] = [];
  const failed = (error: unknown) => {
    why.push(String((error as Error).message).slice(-1500));
    return false;
  };
  const db = join(dir, `migrated-${Math.random().toString(36).slice(2)}.db`);
  const [read, migrate] = await Promise.all([
    mlflowDump(V, root, { registry }).then(() => true, failed),
    mlflowMigrate(V, root, db).then(() => true, failed),
  ]);
  return { read, migrate, why: why.join("\n---\n") };
}

const verdict = async (dir: string, root: string, registry = false) => {
  const { why, ...rest } = await mlflowVerdict(dir, root, registry);
  return { rest, why };
};

type Breaker = (t: SampleTree & { dir: string }) => Promise<void>;
const run0 = (t: SampleTree) => join(t.root, t.experimentId, t.runIds[0]);
const OLD = new Date(Date.now() - 3_600_000);

/** Registers model `iris-rf` with versions 1 and 2 (alias `champion` on 1); its folder. */
async function withModel(t: SampleTree): Promise<string> {
  const { registry } = new FileStore(t.root);
  const runId = t.runIds[0];
  await registry.createRegisteredModel("iris-rf", { tags: { team: "ml" } });
  for (let i = 0; i < 2; i++) {
    await registry.createModelVersion({ name: "iris-rf", source: `runs:/${runId}/model`, runId });
  }
  await registry.setRegisteredModelAlias("iris-rf", "champion", "1");
  return join(t.root, "models", "iris-rf");
}

/** The start of a real macOS .DS_Store: binary, not UTF-8. */
const DS_STORE = Buffer.from([0, 0, 0, 1, 0x42, 0x75, 0x64, 0x31, 0, 0, 0x10, 0, 0xff, 0xfe, 0x80]);

/** Logs a dataset input to run 0; the input's link folder and the dataset's record folder. */
async function withInput(t: SampleTree): Promise<{ link: string; dataset: string }> {
  const store = new FileStore(t.root);
  const dataset = {
    name: "iris",
    digest: "a1b2c3d4",
    sourceType: "local",
    source: '{"uri": "iris.csv"}',
    schema: null,
    profile: null,
  };
  await store.logInputs(t.runIds[0], [{ dataset, tags: {} }]);
  const [link] = await readdir(join(run0(t), "inputs"));
  const [record] = await readdir(join(t.root, t.experimentId, "datasets"));
  return {
    link: join(run0(t), "inputs", link as string),
    dataset: join(t.root, t.experimentId, "datasets", record as string),
  };
}

interface Case {
  name: string;
  codes: ProblemCode[];
  fixable: boolean;
  breakTree: Breaker;
  /** MLflow reads the registry too (the tree has one). */
  registry?: true;
}

const CASES: Case[] = [
  {
    name: ".DS_Store in metrics/",
    codes: ["STRAY_FILE"],
    fixable: true,
    breakTree: (t) => writeFile(join(run0(t), "metrics", ".DS_Store"), "\0\0\0\x01Bud1"),
  },
  {
    name: "a repeated metric line",
    codes: ["METRIC_DUPLICATE_LINE"],
    fixable: true,
    breakTree: async (t) => {
      const file = join(run0(t), "metrics", "loss");
      const first = (await readFile(file, "utf8")).split("\n")[0];
      await appendFile(file, `${first}\n`);
    },
  },
  {
    name: "a float step",
    codes: ["METRIC_FLOAT_STEP"],
    fixable: true,
    breakTree: (t) => appendFile(join(run0(t), "metrics", "loss"), "1700000009000 0.5 3.0\n"),
  },
  {
    name: "a fractional step (not fixable)",
    codes: ["METRIC_FLOAT_STEP"],
    fixable: false,
    breakTree: (t) => appendFile(join(run0(t), "metrics", "loss"), "1700000009000 0.5 3.5\n"),
  },
  {
    name: "a blank line in a metric file",
    codes: ["METRIC_BLANK_LINE"],
    fixable: true,
    breakTree: (t) => appendFile(join(run0(t), "metrics", "loss"), "\n1700000009000 0.5 3\n"),
  },
  {
    name: "an empty metric file",
    codes: ["METRIC_FILE_EMPTY"],
    fixable: true,
    breakTree: (t) => writeFile(join(run0(t), "metrics", "empty"), ""),
  },
  {
    name: "a malformed metric line",
    codes: ["METRIC_LINE_MALFORMED"],
    fixable: false,
    breakTree: (t) => appendFile(join(run0(t), "metrics", "loss"), "1700000009000 abc 3\n"),
  },
  {
    name: "status written as a string",
    codes: ["RUN_STATUS_STRING"],
    fixable: true,
    breakTree: async (t) => {
      const file = join(run0(t), "meta.yaml");
      await writeFile(
        file,
        (await readFile(file, "utf8")).replace(/^status: 3$/m, "status: FINISHED"),
      );
    },
  },
  {
    name: "end_time key missing",
    codes: ["RUN_END_TIME_MISSING"],
    fixable: true,
    breakTree: async (t) => {
      const file = join(run0(t), "meta.yaml");
      await writeFile(file, (await readFile(file, "utf8")).replace(/^end_time: .*\n/m, ""));
    },
  },
  {
    name: "params/ folder missing",
    codes: ["RUN_FOLDER_MISSING"],
    fixable: true,
    breakTree: (t) => rm(join(run0(t), "params"), { recursive: true }),
  },
  {
    name: "meta.yaml run_id differs from the folder",
    codes: ["RUN_ID_MISMATCH"],
    fixable: false,
    breakTree: async (t) => {
      const file = join(run0(t), "meta.yaml");
      await writeFile(
        file,
        (await readFile(file, "utf8")).replace(/^run_id: .*$/m, `run_id: '${"f".repeat(32)}'`),
      );
    },
  },
  {
    name: "a run meta.yaml that is not YAML",
    codes: ["RUN_META_INVALID"],
    fixable: false,
    breakTree: (t) => writeFile(join(run0(t), "meta.yaml"), "run_id: [unclosed\n"),
  },
  {
    name: "a run meta.yaml that is a YAML list",
    codes: ["RUN_META_INVALID"],
    fixable: false,
    breakTree: (t) => writeFile(join(run0(t), "meta.yaml"), "- a\n- b\n"),
  },
  {
    name: "a run meta.yaml without run_id",
    codes: ["RUN_META_INVALID"],
    fixable: false,
    breakTree: async (t) => {
      const file = join(run0(t), "meta.yaml");
      await writeFile(file, (await readFile(file, "utf8")).replace(/^run_(id|uuid): .*\n/gm, ""));
    },
  },
  {
    name: "an empty run meta.yaml",
    codes: ["RUN_META_EMPTY"],
    fixable: false,
    breakTree: (t) => writeFile(join(run0(t), "meta.yaml"), ""),
  },
  {
    name: "a dot folder at the root",
    codes: ["ODD_ROOT_FOLDER"],
    fixable: false,
    breakTree: (t) => mkdir(join(t.root, ".ipynb_checkpoints")),
  },
  {
    name: "duplicate experiment names",
    codes: ["DUPLICATE_EXPERIMENT_NAME"],
    fixable: false,
    breakTree: async (t) => {
      const dir = join(t.root, "123456789012345678");
      await mkdir(dir);
      const meta = await readFile(join(t.root, t.experimentId, "meta.yaml"), "utf8");
      await writeFile(
        join(dir, "meta.yaml"),
        meta.replaceAll(t.experimentId, "123456789012345678"),
      );
    },
  },
  {
    name: "an empty experiment meta.yaml",
    codes: ["EXPERIMENT_META_EMPTY"],
    fixable: false,
    breakTree: async (t) => {
      const dir = join(t.root, "223456789012345678");
      await mkdir(dir);
      await writeFile(join(dir, "meta.yaml"), "");
    },
  },
  {
    name: "a non-numeric experiment folder",
    codes: ["NON_NUMERIC_EXPERIMENT_ID", "EXPERIMENT_META_MISSING"],
    fixable: false,
    breakTree: (t) => mkdir(join(t.root, "scratch")),
  },
  {
    name: "experiment meta.yaml without artifact_location",
    codes: ["EXPERIMENT_META_INVALID"],
    fixable: false,
    breakTree: async (t) => {
      const file = join(t.root, t.experimentId, "meta.yaml");
      await writeFile(
        file,
        (await readFile(file, "utf8")).replace(/^artifact_location: .*\n/m, ""),
      );
    },
  },
  {
    name: "experiment meta.yaml experiment_id differs from the folder",
    codes: ["EXPERIMENT_ID_MISMATCH"],
    fixable: false,
    breakTree: async (t) => {
      const file = join(t.root, t.experimentId, "meta.yaml");
      await writeFile(
        file,
        (await readFile(file, "utf8")).replace(/^experiment_id: .*$/m, "experiment_id: '42'"),
      );
    },
  },
  {
    name: "run meta.yaml experiment_id differs from its experiment",
    codes: ["RUN_EXPERIMENT_MISMATCH"],
    fixable: false,
    breakTree: async (t) => {
      const file = join(run0(t), "meta.yaml");
      await writeFile(
        file,
        (await readFile(file, "utf8")).replace(/^experiment_id: .*$/m, "experiment_id: '0'"),
      );
    },
  },
  {
    name: "a macOS .DS_Store (not UTF-8) in tags/",
    codes: ["STRAY_FILE"],
    fixable: true,
    breakTree: (t) => writeFile(join(run0(t), "tags", ".DS_Store"), DS_STORE),
  },
  {
    name: "an editor's backup of a metric file (loss~)",
    codes: ["STRAY_FILE"],
    fixable: true,
    breakTree: (t) => cp(join(run0(t), "metrics", "loss"), join(run0(t), "metrics", "loss~")),
  },
  {
    name: "a param file of invalid UTF-8",
    codes: ["KEY_FILE_NOT_UTF8"],
    fixable: false,
    breakTree: (t) => writeFile(join(run0(t), "params", "lr"), Buffer.from([0x30, 0x2e, 0xff])),
  },
  {
    name: "a tag file whose name MLflow refuses",
    codes: ["KEY_NAME_INVALID"],
    fixable: false,
    breakTree: (t) => writeFile(join(run0(t), "tags", "a?b"), "x"),
  },
  {
    name: "a metric file that links to a non-metric file",
    codes: ["METRIC_LINE_MALFORMED", "SYMLINK"],
    fixable: false,
    breakTree: (t) => symlink(join(run0(t), "params", "lr"), join(run0(t), "metrics", "lr")),
  },
  {
    name: "a tag that links to nothing",
    codes: ["SYMLINK"],
    fixable: false,
    breakTree: (t) => symlink(join(t.dir, "nowhere"), join(run0(t), "tags", "gone")),
  },
  {
    name: "an artifact that links out of the run",
    codes: ["SYMLINK"],
    fixable: false,
    breakTree: async (t) => {
      await writeFile(join(t.dir, "outside.txt"), "outside");
      await symlink(join(t.dir, "outside.txt"), join(run0(t), "artifacts", "outside.txt"));
    },
  },
  {
    name: "a run meta.yaml that is a folder",
    codes: ["RUN_META_INVALID"],
    fixable: false,
    breakTree: async (t) => {
      await rm(join(run0(t), "meta.yaml"));
      await mkdir(join(run0(t), "meta.yaml"));
    },
  },
  {
    name: "an experiment meta.yaml that is a folder",
    codes: ["EXPERIMENT_META_INVALID"],
    fixable: false,
    breakTree: async (t) => {
      const dir = join(t.root, "323456789012345678");
      await mkdir(join(dir, "meta.yaml"), { recursive: true });
    },
  },
  {
    name: ".trash as a file",
    codes: ["TRASH_NOT_A_FOLDER"],
    fixable: false,
    breakTree: async (t) => {
      await rm(join(t.root, ".trash"), { recursive: true });
      await writeFile(join(t.root, ".trash"), "not a folder");
    },
  },
  {
    name: "garbage in an input's meta.yaml",
    codes: ["INPUT_META_INVALID"],
    fixable: false,
    breakTree: async (t) => {
      const input = await withInput(t);
      await writeFile(join(input.link, "meta.yaml"), "\u0000: [garbage");
    },
  },
  {
    name: "garbage in a dataset's meta.yaml",
    codes: ["DATASET_META_INVALID"],
    fixable: false,
    breakTree: async (t) => {
      const input = await withInput(t);
      await writeFile(join(input.dataset, "meta.yaml"), "- just\n- a list\n");
    },
  },
  {
    name: "experiment 0 missing",
    codes: ["DEFAULT_EXPERIMENT_MISSING"],
    fixable: true,
    breakTree: (t) => rm(join(t.root, "0"), { recursive: true }),
  },
  {
    name: ".trash missing",
    codes: ["TRASH_MISSING"],
    fixable: true,
    breakTree: (t) => rm(join(t.root, ".trash"), { recursive: true }),
  },
  {
    name: "a stale .tmp- file in a run folder",
    codes: ["TEMP_FILE_LEFTOVER"],
    fixable: true,
    breakTree: async (t) => {
      const file = join(run0(t), ".tmp-0123456789abcdef");
      await writeFile(file, "partial");
      await utimes(file, OLD, OLD);
    },
  },
  {
    name: "a .tmp- file of invalid UTF-8 in params/",
    codes: ["STRAY_FILE"],
    fixable: true,
    breakTree: (t) =>
      writeFile(join(run0(t), "params", ".tmp-0123456789abcdef"), Buffer.from([0xc3, 0x28])),
  },
  {
    name: "a registered model without meta.yaml",
    codes: ["MODEL_META_MISSING"],
    fixable: false,
    registry: true,
    breakTree: async (t) => rm(join(await withModel(t), "meta.yaml")),
  },
  {
    name: "an empty registered model meta.yaml",
    codes: ["MODEL_META_INVALID"],
    fixable: false,
    registry: true,
    breakTree: async (t) => writeFile(join(await withModel(t), "meta.yaml"), ""),
  },
  {
    name: "a model version without meta.yaml",
    codes: ["MODEL_VERSION_META_MISSING"],
    fixable: false,
    registry: true,
    breakTree: async (t) => rm(join(await withModel(t), "version-2", "meta.yaml")),
  },
  {
    name: "a model version meta.yaml that is not YAML",
    codes: ["MODEL_VERSION_META_INVALID"],
    fixable: false,
    registry: true,
    breakTree: async (t) => writeFile(join(await withModel(t), "version-2", "meta.yaml"), "a: [b"),
  },
  {
    name: "an alias naming a version that does not exist",
    codes: ["MODEL_ALIAS_DANGLING"],
    fixable: false,
    registry: true,
    breakTree: async (t) => writeFile(join(await withModel(t), "aliases", "champion"), "7"),
  },
  {
    name: "a .DS_Store in a model version's tags/",
    codes: ["STRAY_FILE"],
    fixable: true,
    registry: true,
    breakTree: async (t) => {
      const tags = join(await withModel(t), "version-1", "tags");
      await mkdir(tags, { recursive: true });
      await writeFile(join(tags, ".DS_Store"), DS_STORE);
    },
  },
];

describe("mlruns verify", () => {
  it("finds nothing in a tree mlruns wrote, which MLflow reads and migrates", async () => {
    const t = await fresh();
    const { code, json } = await runJson<VerifyJson>(["verify", t.root]);
    expect(json.problems).toEqual([]);
    expect(code).toBe(0);
    expect(json.checked).toEqual({ experiments: 2, runs: 2, metricFiles: 4, models: 0 });
    if (!skipMlflow) {
      const after = await verdict(t.dir, t.root);
      expect(after.rest, after.why).toEqual({ read: true, migrate: true });
    }
  });

  it("finds nothing in a registry mlruns wrote, which MLflow reads", async () => {
    const t = await fresh();
    await withModel(t);
    const { code, json } = await runJson<VerifyJson>(["verify", t.root]);
    expect(json.problems).toEqual([]);
    expect(code).toBe(0);
    expect(json.checked.models).toBe(1);
    if (!skipMlflow) {
      const after = await verdict(t.dir, t.root, true);
      expect(after.rest, after.why).toEqual({ read: true, migrate: true });
    }
  });

  for (const fixture of ["mlflow-2.22.5", "mlflow-3.17.2"]) {
    it(`finds no errors in the tree MLflow ${fixture.slice(7)} wrote`, async () => {
      const root = await materializeFixture(fixture);
      cleanups.push(() => rm(join(root, ".."), { recursive: true, force: true }));
      const { code, json } = await runJson<VerifyJson>(["verify", root]);
      expect(json.problems.filter((p) => p.severity === "error")).toEqual([]);
      expect(code).toBe(0);
      expect(json.checked.runs).toBeGreaterThan(0);
      expect(json.checked.models).toBeGreaterThan(0);
    });
  }

  it("prints each problem with its path and line, and exits 1 on errors", async () => {
    const t = await fresh();
    await appendFile(join(run0(t), "metrics", "loss"), "\n");
    const result = await runCli(["verify", t.root]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`${join(run0(t), "metrics", "loss")}:4`);
    expect(result.stdout).toContain("METRIC_BLANK_LINE");
    expect(result.stdout).toMatch(/1 error, 0 warnings, 1 fixable/);
    expect(result.stdout).not.toContain("\x1b[");
  });

  it("keys named like OS litter or temp files are data MLflow reads: never reported or deleted", async () => {
    const t = await fresh();
    const names = [".tmp-123", "x.swp", ".DS_Store", "._acc", "Thumbs.db", "desktop.ini"];
    await new FileStore(t.root).logBatch(t.runIds[0], {
      metrics: names.map((key, i) => ({ key, value: i, step: 0, timestamp: 1_700_000_000_000 })),
      params: Object.fromEntries(names.map((key) => [key, "p"])),
      tags: Object.fromEntries(names.map((key) => [key, "t"])),
    });
    const { code, json } = await runJson<VerifyJson>(["verify", t.root, "--fix", "--yes"]);
    expect(json.problems).toEqual([]);
    expect(json.checked.metricFiles).toBe(4 + names.length);
    expect(code).toBe(0);
    expect((await runCli(["verify", t.root])).stdout).toContain(`${4 + names.length} metric files`);
    const run = (await new FileStore(t.root).getRun(t.runIds[0])).data;
    for (const name of names) {
      expect([run.params[name], run.tags[name], run.metrics[name]?.value]).toEqual([
        "p",
        "t",
        names.indexOf(name),
      ]);
    }
    if (!skipMlflow) {
      const dump = await mlflowDump(V, t.root, { registry: false });
      const theirs = dump.runs.find((r) => r.info.run_id === t.runIds[0]);
      for (const name of names) expect(theirs?.params[name]).toBe("p");
    }
  });

  describe.skipIf(skipMlflow)("each finding agrees with the real MLflow", () => {
    for (const c of CASES) {
      it(c.name, async () => {
        const t = await fresh();
        await c.breakTree(t);
        const { code, json } = await runJson<VerifyJson>(["verify", t.root]);
        const codes = [...new Set(json.problems.map((p) => p.code))].sort();
        expect(codes, JSON.stringify(json.problems, null, 1)).toEqual([...c.codes].sort());
        for (const p of json.problems) expect(p.path.startsWith(t.root)).toBe(true);
        expect(json.problems.some((p) => p.fixable)).toBe(c.fixable);
        const claims = {
          read: !json.problems.some((p) => p.breaks.read),
          migrate: !json.problems.some((p) => p.breaks.migrate),
        };
        const { rest, why } = await verdict(t.dir, t.root, c.registry === true);
        expect(rest, why).toEqual(claims);
        expect(code).toBe(json.summary.errors > 0 ? 1 : 0);
      }, 300_000);
    }
  });

  describe.skipIf(skipMlflow)("--fix", () => {
    it("without --yes and without a terminal only prints the plan", async () => {
      const t = await fresh();
      const stray = join(run0(t), "metrics", ".DS_Store");
      await writeFile(stray, "x");
      const result = await runCli(["verify", t.root, "--fix"]);
      expect(result.stdout).toContain("Plan: 1 repair");
      expect(result.stderr).toContain("pass --yes");
      expect(result.code).toBe(1);
      expect(await readFile(stray, "utf8")).toBe("x");
    });

    it("repairs every fixable problem at once; MLflow then reads and migrates the tree", async () => {
      const t = await fresh();
      // Removing params/ comes last: another case writes into it.
      const fixable = CASES.filter((x) => x.fixable);
      fixable.sort(
        (a, b) =>
          Number(a.codes[0] === "RUN_FOLDER_MISSING") - Number(b.codes[0] === "RUN_FOLDER_MISSING"),
      );
      for (const c of fixable) await c.breakTree(t);
      const before = await verdict(t.dir, t.root);
      expect(before.rest).toEqual({ read: false, migrate: false });
      const { code, json } = await runJson<VerifyJson>(["verify", t.root, "--fix", "--yes"]);
      expect(json.fix?.applied).toBe(true);
      expect(json.after?.problems).toEqual([]);
      expect(code).toBe(0);
      const after = await verdict(t.dir, t.root);
      expect(after.rest, after.why).toEqual({ read: true, migrate: true });
      // The data survived: both runs, the other run's params and the whole loss history.
      const dump = await mlflowDump(V, t.root, { registry: false });
      const run = dump.runs.find((r) => r.info.run_id === t.runIds[0]);
      expect(run?.info.status).toBe("FINISHED");
      expect(dump.runs.find((r) => r.info.run_id === t.runIds[1])?.params).toEqual({
        lr: "0.01",
        model: "rf",
      });
      expect(run?.metric_history.loss?.map((p) => p[2])).toEqual([0, 1, 2, 3]);
      expect(dump.experiments.map((e) => e.experiment_id).sort()).toEqual(
        ["0", t.experimentId].sort(),
      );
    }, 600_000);
  });
});
