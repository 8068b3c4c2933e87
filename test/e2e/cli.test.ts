/**
 * The built CLI on real trees (ours and MLflow's fixtures): exit codes, --json shapes, colours,
 * errors, help and completion.
 */
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { materializeFixture } from "../compat/dump.ts";
import {
  assertBuilt,
  runCli,
  runInTerminal,
  runJson,
  type SampleTree,
  SCRIPT,
  sampleTree,
  tempDir,
} from "./helpers.ts";

let dir: string;
let t: SampleTree;
let cleanup: () => Promise<void>;
const fixtures: Record<string, string> = {};

beforeAll(async () => {
  assertBuilt();
  ({ dir, cleanup } = await tempDir());
  t = await sampleTree(dir);
  for (const name of ["mlflow-2.22.5", "mlflow-3.17.2"])
    fixtures[name] = await materializeFixture(name);
});
afterAll(async () => {
  await cleanup();
  const { rm } = await import("node:fs/promises");
  for (const root of Object.values(fixtures))
    await rm(join(root, ".."), { recursive: true, force: true });
});

const u = () => ["--tracking-uri", t.root];

describe("init", () => {
  it("creates a tree with experiment 0 and .trash, and is idempotent", async () => {
    const target = join(dir, "new-tree");
    const first = await runJson(["init", target]);
    expect(first.code).toBe(0);
    expect(first.json).toEqual({
      root: target,
      uri: pathToFileURL(target).href,
      created: true,
      experiments: 1,
    });
    expect(existsSync(join(target, "0", "meta.yaml"))).toBe(true);
    expect(existsSync(join(target, ".trash"))).toBe(true);
    expect((await runJson(["init", target])).json.created).toBe(false);
  });

  it("uses MLFLOW_TRACKING_URI when no folder is given", async () => {
    const target = join(dir, "from-env");
    const result = await runCli(["init"], {
      env: { MLFLOW_TRACKING_URI: pathToFileURL(target).href },
    });
    expect(result.code).toBe(0);
    expect(existsSync(join(target, "0", "meta.yaml"))).toBe(true);
  });
});

describe("experiments", () => {
  it("lists experiments as JSON", async () => {
    const { code, json } = await runJson<{
      experiments: { experimentId: string; name: string; tags: object }[];
      nextPageToken: null;
    }>(["experiments", "list", ...u()]);
    expect(code).toBe(0);
    expect(json.nextPageToken).toBeNull();
    expect(json.experiments.map((e) => e.name).sort()).toEqual(["Default", "iris"]);
    const iris = json.experiments.find((e) => e.name === "iris");
    expect(iris).toMatchObject({
      experimentId: t.experimentId,
      lifecycleStage: "active",
      tags: { team: "ml" },
    });
    expect(Object.keys(iris ?? {}).sort()).toEqual([
      "artifactLocation",
      "creationTime",
      "experimentId",
      "lastUpdateTime",
      "lifecycleStage",
      "name",
      "tags",
    ]);
  });

  it("creates, renames, tags, deletes and restores by name or id", async () => {
    const created = await runJson<{ experimentId: string; name: string }>([
      "experiments",
      "create",
      "tmp-exp",
      "-t",
      "a=1",
      ...u(),
    ]);
    expect(created.code).toBe(0);
    const id = created.json.experimentId;
    expect(id).toMatch(/^\d{18}$/);
    expect((await runCli(["experiments", "rename", "tmp-exp", "tmp-exp-2", ...u()])).code).toBe(0);
    expect((await runCli(["experiments", "tag", id, "b", "2", ...u()])).code).toBe(0);
    expect((await runCli(["experiments", "delete", "tmp-exp-2", ...u()])).code).toBe(0);
    const deleted = await runJson<{ experiments: { name: string; tags: object }[] }>([
      "experiments",
      "list",
      "--view",
      "deleted",
      ...u(),
    ]);
    expect(deleted.json.experiments).toMatchObject([
      { name: "tmp-exp-2", tags: { a: "1", b: "2" } },
    ]);
    expect((await runCli(["experiments", "restore", id, ...u()])).code).toBe(0);
    const again = await runCli(["experiments", "create", "tmp-exp-2", ...u()]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already exists.*\[RESOURCE_ALREADY_EXISTS\].*hint:/);
    expect(again.stderr.trim().split("\n")).toHaveLength(1);
  });
});

describe("runs", () => {
  it("searches with a filter and order-by, as JSON", async () => {
    const { code, json } = await runJson<{
      runs: {
        info: { runId: string };
        params: object;
        metrics: Record<string, number>;
        tags: object;
      }[];
    }>([
      "runs",
      "list",
      "-e",
      "iris",
      "-f",
      "params.model = 'rf'",
      "-o",
      "metrics.acc DESC",
      ...u(),
    ]);
    expect(code).toBe(0);
    expect(json.runs.map((r) => r.info.runId)).toEqual([t.runIds[1], t.runIds[0]]);
    expect(json.runs[0]).toMatchObject({
      params: { lr: "0.01", model: "rf" },
      metrics: { acc: 0.9, loss: 2 / 3 },
    });
    expect(Object.keys(json.runs[0] ?? {}).sort()).toEqual(["info", "metrics", "params", "tags"]);
    const limited = await runJson<{ runs: unknown[]; nextPageToken: string | null }>([
      "runs",
      "list",
      "-e",
      t.experimentId,
      "-n",
      "1",
      ...u(),
    ]);
    expect(limited.json.runs).toHaveLength(1);
    expect(typeof limited.json.nextPageToken).toBe("string");
  });

  it("shows the searched keys as columns in the table", async () => {
    const result = await runCli(["runs", "list", "-o", "metrics.acc DESC", ...u()]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/RUN ID\s+NAME.*metrics\.acc/);
    expect(result.stdout).toContain("run-1");
  });

  it("rejects a bad filter with MLflow's error code (exit 1)", async () => {
    const result = await runCli(["runs", "list", "-f", "metrics.acc >>> 1", ...u()]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("[INVALID_PARAMETER_VALUE]");
  });

  it("shows a run with params, latest metrics, tags and artifacts", async () => {
    const { json } = await runJson<Record<string, unknown>>(["runs", "show", t.runIds[0], ...u()]);
    expect(Object.keys(json).sort()).toEqual([
      "artifacts",
      "info",
      "inputs",
      "metrics",
      "params",
      "tags",
    ]);
    expect(json.metrics).toEqual({
      acc: { value: 0.8, step: 2, timestamp: 1_700_000_002_000 },
      loss: { value: 1 / 3, step: 2, timestamp: 1_700_000_001_002 },
    });
    expect(json.artifacts).toEqual([{ path: "notes-0.txt", isDir: false, fileSize: 6 }]);
    const text = await runCli(["runs", "show", t.runIds[0], ...u()]);
    expect(text.stdout).toMatch(/Params \(2\)[\s\S]*lr\s+0\.1/);
    expect(text.stdout).toContain("notes-0.txt");
  });

  it("compares runs side by side with differences marked", async () => {
    const { json } = await runJson<{
      runs: unknown[];
      params: { key: string; differs: boolean }[];
      metrics: { key: string; deltas: (number | null)[] }[];
    }>(["runs", "compare", ...t.runIds, ...u()]);
    expect(json.runs).toHaveLength(2);
    expect(json.params).toEqual([
      { key: "lr", values: ["0.1", "0.01"], differs: true },
      { key: "model", values: ["rf", "rf"], differs: false },
    ]);
    expect(json.metrics.find((m) => m.key === "acc")?.deltas[0]).toBe(0);
    const text = await runCli(["runs", "compare", ...t.runIds, ...u()]);
    expect(text.stdout).toMatch(/\*\s+params\.lr\s+0\.1\s+0\.01/);
    expect(text.stdout).not.toContain("params.model");
    expect((await runCli(["runs", "compare", t.runIds[0], ...u()])).code).toBe(2);
  });

  it("deletes and restores runs", async () => {
    expect((await runCli(["runs", "delete", t.runIds[0], ...u()])).code).toBe(0);
    const deleted = await runJson<{ runs: { info: { runId: string } }[] }>([
      "runs",
      "list",
      "--view",
      "deleted",
      ...u(),
    ]);
    expect(deleted.json.runs.map((r) => r.info.runId)).toEqual([t.runIds[0]]);
    expect((await runCli(["runs", "restore", t.runIds[0], ...u()])).code).toBe(0);
    const active = await runJson<{ runs: unknown[] }>(["runs", "list", ...u()]);
    expect(active.json.runs).toHaveLength(2);
  });
});

describe("metrics and artifacts", () => {
  it("prints a metric history as a table and a braille chart, or JSON", async () => {
    const { json } = await runJson(["metrics", "history", t.runIds[0], "loss", ...u()]);
    expect(json).toEqual({
      runId: t.runIds[0],
      key: "loss",
      history: [0, 1, 2].map((step) => ({
        step,
        value: 1 / (step + 1),
        timestamp: 1_700_000_001_000 + step,
      })),
    });
    const text = await runCli(["metrics", "history", t.runIds[0], "loss", ...u()]);
    expect(text.stdout).toMatch(/STEP\s+VALUE\s+TIME/);
    expect(text.stdout).toMatch(/[\u2801-\u28ff]/);
    const blocks = await runCli([
      "metrics",
      "history",
      t.runIds[0],
      "loss",
      "--style",
      "blocks",
      "--no-table",
      ...u(),
    ]);
    expect(blocks.stdout).toMatch(/[▁▂▃▄▅▆▇█]/);
    expect(blocks.stdout).not.toContain("STEP");
  });

  it("lists and downloads artifacts", async () => {
    const { json } = await runJson(["artifacts", "list", t.runIds[1], ...u()]);
    expect(json).toEqual({
      runId: t.runIds[1],
      path: null,
      artifacts: [{ path: "notes-1.txt", isDir: false, fileSize: 6 }],
    });
    const got = await runCli(["artifacts", "get", t.runIds[1], "notes-1.txt", ...u()]);
    expect(got.stdout).toBe("run 1\n");
    const target = join(dir, "downloaded.txt");
    expect(
      (await runCli(["artifacts", "get", t.runIds[1], "notes-1.txt", "-o", target, ...u()])).code,
    ).toBe(0);
    expect(await readFile(target, "utf8")).toBe("run 1\n");
  });
});

describe("log", () => {
  it("logs params, metrics, tags and artifacts into a run", async () => {
    const run = t.runIds[1];
    const env = { MLFLOW_TRACKING_URI: t.root };
    expect((await runCli(["log", "param", run, "depth", "7"], { env })).code).toBe(0);
    expect((await runCli(["log", "metric", run, "f1", "0.75", "--step", "4"], { env })).code).toBe(
      0,
    );
    expect((await runCli(["log", "metric", run, "f1", "nan", "--step", "5"], { env })).code).toBe(
      0,
    );
    expect((await runCli(["log", "tag", run, "note", "from shell"], { env })).code).toBe(0);
    const file = join(dir, "report.md");
    await writeFile(file, "# report\n");
    expect((await runCli(["log", "artifact", run, file, "-a", "reports"], { env })).code).toBe(0);
    const { json } = await runJson<{
      params: object;
      metrics: object;
      tags: object;
      artifacts: unknown[];
    }>(["runs", "show", run], { env });
    expect(json.params).toMatchObject({ depth: "7" });
    expect(json.metrics).toMatchObject({ f1: { value: "NaN", step: 5 } });
    expect(json.tags).toMatchObject({ note: "from shell" });
    expect(json.artifacts).toContainEqual({ path: "reports/report.md", isDir: false, fileSize: 9 });
    const changed = await runCli(["log", "param", run, "depth", "8"], { env });
    expect(changed.code).toBe(1);
    expect(changed.stderr).toContain("Changing param values is not allowed");
    expect((await runCli(["log", "metric", run, "f1", "abc"], { env })).code).toBe(2);
  });
});

describe("trees MLflow wrote", () => {
  for (const name of ["mlflow-2.22.5", "mlflow-3.17.2"]) {
    it(`reads ${name}: experiments, runs, a run and its history`, async () => {
      const root = fixtures[name] as string;
      const exps = await runJson<{ experiments: { experimentId: string }[] }>([
        "experiments",
        "list",
        "--view",
        "all",
        "-u",
        root,
      ]);
      expect(exps.code).toBe(0);
      expect(exps.json.experiments.length).toBeGreaterThan(1);
      const runs = await runJson<{
        runs: { info: { runId: string }; metrics: Record<string, number> }[];
      }>(["runs", "list", "--view", "all", "-u", root]);
      expect(runs.code).toBe(0);
      const withMetric = runs.json.runs.find((r) => Object.keys(r.metrics).length > 0);
      expect(withMetric).toBeDefined();
      const id = withMetric?.info.runId as string;
      const key = Object.keys(withMetric?.metrics ?? {})[0] as string;
      expect((await runCli(["runs", "show", id, "-u", root])).code).toBe(0);
      const history = await runJson<{ history: unknown[] }>([
        "metrics",
        "history",
        id,
        key,
        "-u",
        root,
      ]);
      expect(history.json.history.length).toBeGreaterThan(0);
      expect((await runCli(["artifacts", "list", id, "-r", "-u", root])).code).toBe(0);
    });
  }
});

describe("gc", () => {
  it("shows the plan without --yes, removes with --yes, honours --older-than", async () => {
    const { dir: d, cleanup: c } = await tempDir();
    try {
      const s = await sampleTree(d);
      const u2 = ["-u", s.root];
      await runCli(["runs", "delete", s.runIds[0], ...u2]);
      const other = await runJson<{ experimentId: string }>([
        "experiments",
        "create",
        "old",
        ...u2,
      ]);
      await runCli(["experiments", "delete", "old", ...u2]);
      const plan = await runJson<{ removed: boolean; items: { kind: string; id: string }[] }>([
        "gc",
        s.root,
      ]);
      expect(plan.json.removed).toBe(false);
      expect(plan.json.items.map((i) => `${i.kind}:${i.id}`).sort()).toEqual(
        [`experiment:${other.json.experimentId}`, `run:${s.runIds[0]}`].sort(),
      );
      const text = await runCli(["gc", s.root]);
      expect(text.stderr).toContain("pass --yes");
      expect(existsSync(join(s.root, s.experimentId, s.runIds[0]))).toBe(true);
      const young = await runJson<{ items: unknown[] }>([
        "gc",
        s.root,
        "--older-than",
        "30d",
        "--yes",
      ]);
      expect(young.json.items).toEqual([]);
      expect((await runCli(["gc", s.root, "--older-than", "soon"])).code).toBe(2);
      const done = await runJson<{ removed: boolean }>(["gc", s.root, "--yes"]);
      expect(done.json.removed).toBe(true);
      expect(existsSync(join(s.root, s.experimentId, s.runIds[0]))).toBe(false);
      expect(existsSync(join(s.root, ".trash", other.json.experimentId))).toBe(false);
      expect(existsSync(join(s.root, s.experimentId, s.runIds[1]))).toBe(true);
      expect((await runJson(["verify", s.root])).code).toBe(0);
    } finally {
      await c();
    }
  });
});

describe("errors, exit codes, colours, help", () => {
  it("exits 2 on usage errors, with one line and a hint", async () => {
    for (const args of [
      ["bogus"],
      ["runs"],
      ["runs", "list", "--nope"],
      ["runs", "show"],
      ["run"],
    ]) {
      const result = await runCli([...args, ...u()]);
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stderr.trim().split("\n"), args.join(" ")).toHaveLength(1);
      expect(result.stderr).toMatch(/\[USAGE\].*hint:/);
    }
  });

  it("exits 1 with the error code and hint; JSON on stderr with --json", async () => {
    const missing = await runCli(["runs", "list", "-u", join(dir, "nowhere")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("No mlruns tree at");
    expect(missing.stderr).toContain("mlruns init");
    expect(existsSync(join(dir, "nowhere"))).toBe(false);
    const result = await runCli([
      "runs",
      "show",
      "0123456789abcdef0123456789abcdef",
      "--json",
      ...u(),
    ]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(JSON.parse(result.stderr)).toEqual({
      error: {
        code: "RESOURCE_DOES_NOT_EXIST",
        message: expect.any(String),
        hint: expect.any(String),
      },
    });
  });

  it("has no colours when not a terminal or with NO_COLOR; FORCE_COLOR forces them", async () => {
    const plain = await runCli(["experiments", "list", ...u()]);
    expect(plain.stdout).not.toContain("\x1b[");
    const forced = await runCli(["experiments", "list", ...u()], { env: { FORCE_COLOR: "1" } });
    expect(forced.stdout).toContain("\x1b[1m");
    const noColor = await runCli(["experiments", "list", ...u()], {
      env: { FORCE_COLOR: "1", NO_COLOR: "1" },
    });
    expect(noColor.stdout).not.toContain("\x1b[");
    const error = await runCli(["runs", "show", "x", ...u()], {
      env: { FORCE_COLOR: "1", NO_COLOR: "1" },
    });
    expect(error.stderr).not.toContain("\x1b[");
  });

  it("has --help with examples on every command", async () => {
    const commands = [
      [],
      ["init"],
      ["experiments"],
      ["experiments", "list"],
      ["experiments", "create"],
      ["experiments", "rename"],
      ["experiments", "delete"],
      ["experiments", "restore"],
      ["experiments", "tag"],
      ["runs", "list"],
      ["runs", "show"],
      ["runs", "compare"],
      ["runs", "delete"],
      ["runs", "restore"],
      ["metrics", "history"],
      ["artifacts", "list"],
      ["artifacts", "get"],
      ["run"],
      ["log", "param"],
      ["log", "metric"],
      ["log", "tag"],
      ["log", "artifact"],
      ["verify"],
      ["gc"],
    ];
    for (const args of commands) {
      const result = await runCli([...args, "--help"]);
      expect(result.code, args.join(" ")).toBe(0);
      if (
        args.length === 0 ||
        ["experiments", "runs", "metrics", "artifacts", "log"].includes(args.join(" "))
      )
        continue;
      expect(result.stdout, args.join(" ")).toContain("Examples:");
    }
  });

  it("prints a shell completion script and completes commands", async () => {
    const script = await runCli(["completion"]);
    expect(script.code).toBe(0);
    expect(script.stdout).toContain("mlruns");
    expect(script.stdout).toContain("--get-yargs-completions");
    const words = await runCli(["--get-yargs-completions", "mlruns", "ru"]);
    expect(words.stdout.split("\n")).toEqual(expect.arrayContaining(["runs", "run"]));
  });
});

describe.skipIf(SCRIPT === null)("on a terminal", () => {
  it("uses colours, unless NO_COLOR is set", async () => {
    const colour = await runInTerminal(["experiments", "list", ...u()]);
    expect(colour.code).toBe(0);
    expect(colour.output).toContain("\x1b[1m");
    const plain = await runInTerminal(["experiments", "list", ...u()], { env: { NO_COLOR: "1" } });
    expect(plain.output).toContain("Default");
    expect(plain.output).not.toContain("\x1b[1m");
  });

  it("verify --fix asks, and repairs after a yes", async () => {
    const { dir: d, cleanup: c } = await tempDir();
    try {
      const s = await sampleTree(d);
      const stray = join(s.root, s.experimentId, s.runIds[0], "metrics", ".DS_Store");
      await writeFile(stray, "x");
      const no = await runInTerminal(["verify", s.root, "--fix"], { input: "n\n" });
      expect(no.output).toContain("Apply 1 repair? [y/N]");
      expect(existsSync(stray)).toBe(true);
      const yes = await runInTerminal(["verify", s.root, "--fix"], { input: "y\n" });
      expect(yes.output).toContain("Fixed 1 problem.");
      expect(yes.code).toBe(0);
      expect(existsSync(stray)).toBe(false);
    } finally {
      await c();
    }
  });
});
