/**
 * The built CLI as a daily tool: runs named by id prefix, name or `latest`; experiment names and
 * varying columns in tables; `--json` field lists; overlaid histories; retention rules; shell
 * completion of run ids and experiment names (bash for real; zsh and fish by their protocol).
 */
import { spawn } from "node:child_process";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { FileStore } from "mlruns";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  assertBuilt,
  CLI,
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
/** A run named like one of iris's, in another experiment, started last. */
let twin: string;
let otherExperiment: string;

beforeAll(async () => {
  assertBuilt();
  ({ dir, cleanup } = await tempDir());
  t = await sampleTree(dir);
  const store = new FileStore(t.root);
  otherExperiment = await store.createExperiment("mnist");
  const run = await store.createRun({
    experimentId: otherExperiment,
    runName: "run-0",
    startTime: 1_700_000_005_000,
  });
  twin = run.info.runId;
  await store.logBatch(twin, { metrics: [{ key: "loss", value: 0.5, step: 0, timestamp: 1 }] });
  await store.updateRun(twin, { status: "FINISHED", endTime: 1_700_000_006_000 });
  await store.flush();
});
afterAll(async () => {
  await cleanup();
});

const u = () => ["--tracking-uri", t.root];
const shownId = async (ref: string, ...more: string[]) => {
  const { code, json, stderr } = await runJson<{ info: { runId: string } }>([
    "runs",
    "show",
    ref,
    ...more,
    ...u(),
  ]);
  expect(code, stderr).toBe(0);
  return json.info.runId;
};

describe("naming runs", () => {
  it("by a unique id prefix, a name, or latest", async () => {
    expect(await shownId(t.runIds[1].slice(0, 6))).toBe(t.runIds[1]);
    expect(await shownId(t.runIds[1].slice(0, 6).toUpperCase())).toBe(t.runIds[1]);
    expect(await shownId("run-1")).toBe(t.runIds[1]);
    expect(await shownId("latest")).toBe(twin);
    expect(await shownId("latest", "-e", "iris")).toBe(t.runIds[1]);
  });

  it("lists the candidates when a name fits several runs; -e or the environment chooses", async () => {
    const result = await runCli(["runs", "show", "run-0", ...u()]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("'run-0' names 2 runs [INVALID_PARAMETER_VALUE]");
    expect(result.stderr).toContain(`  ${t.runIds[0]}  run-0  iris`);
    expect(result.stderr).toContain(`  ${twin}  run-0  mnist`);
    expect(result.stderr).toContain("name its experiment with -e");
    expect(await shownId("run-0", "-e", "mnist")).toBe(twin);
    const env = await runJson<{ info: { runId: string } }>(["runs", "show", "run-0", ...u()], {
      env: { MLFLOW_EXPERIMENT_NAME: "iris" },
    });
    expect(env.json.info.runId).toBe(t.runIds[0]);
  });

  it("refuses what names no run, and prefixes under 4 characters", async () => {
    const missing = await runCli(["runs", "show", "nothing-like-it", ...u()]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("No run with id, id prefix or name 'nothing-like-it'");
    const short = await runCli(["runs", "show", t.runIds[0].slice(0, 3), ...u()]);
    expect(short.code).toBe(1);
  });

  it("works wherever a command takes a run", async () => {
    const prefix = t.runIds[1].slice(0, 8);
    expect((await runCli(["log", "metric", prefix, "f1", "0.5", ...u()])).code).toBe(0);
    const history = await runJson<{ runId: string }>([
      "metrics",
      "history",
      "run-1",
      "f1",
      "-e",
      "iris",
      ...u(),
    ]);
    expect(history.json.runId).toBe(t.runIds[1]);
    const artifacts = await runJson<{ runId: string }>(["artifacts", "list", prefix, ...u()]);
    expect(artifacts.json.runId).toBe(t.runIds[1]);
    const compared = await runJson<{ runs: { runId: string }[] }>([
      "runs",
      "compare",
      "run-1",
      "latest",
      "-e",
      "iris",
      "--all",
      ...u(),
    ]);
    expect(compared.json.runs.map((r) => r.runId)).toEqual([t.runIds[1], t.runIds[1]]);
    expect((await runCli(["runs", "delete", "latest", "-e", "mnist", ...u()])).code).toBe(0);
    const restored = await runJson<{ restored: string[] }>([
      "runs",
      "restore",
      "run-0",
      "-e",
      "mnist",
      ...u(),
    ]);
    expect(restored.json.restored).toEqual([twin]);
  });
});

describe("tables", () => {
  it("show experiment names and the params and metrics that vary", async () => {
    const result = await runCli(["runs", "list", "-e", "iris", ...u()]);
    expect(result.code).toBe(0);
    const [header, ...rows] = result.stdout.trimEnd().split("\n");
    expect(header?.split(/\s{2,}/)).toEqual([
      "RUN ID",
      "NAME",
      "EXPERIMENT",
      "STATUS",
      "STARTED",
      "DURATION",
      "params.lr",
      "metrics.acc",
      "metrics.loss",
    ]);
    expect(rows.every((row) => row.includes("  iris  "))).toBe(true);
    expect(result.stdout).not.toContain("params.model");
    const show = await runCli(["runs", "show", t.runIds[0], ...u()]);
    expect(show.stdout).toMatch(new RegExp(`experiment\\s+iris \\(${t.experimentId}\\)`));
  });

  it("take the columns picked with --columns", async () => {
    const result = await runCli([
      "runs",
      "list",
      "-e",
      "iris",
      "-c",
      "name,params.model",
      "--columns",
      "tags.stage",
      ...u(),
    ]);
    expect(result.stdout.trimEnd().split("\n")).toEqual([
      "NAME   params.model  tags.stage",
      "run-1  rf            tuned",
      "run-0  rf            baseline",
    ]);
    const bad = await runCli(["runs", "list", "-c", "nope", ...u()]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("Unknown column 'nope'");
  });
});

describe("--json with a field list", () => {
  it("keeps only those fields of each item", async () => {
    const { json } = await runJson<{ runs: unknown[]; nextPageToken: null }>([
      "runs",
      "list",
      "-e",
      "iris",
      "-o",
      "metrics.acc DESC",
      "--json",
      "info.runId,metrics.acc",
      ...u(),
    ]);
    expect(json).toEqual({
      runs: [
        { info: { runId: t.runIds[1] }, metrics: { acc: 0.9 } },
        { info: { runId: t.runIds[0] }, metrics: { acc: 0.8 } },
      ],
      nextPageToken: null,
    });
    const experiments = await runCli(["experiments", "list", "--json=name", ...u()]);
    expect(JSON.parse(experiments.stdout).experiments).toEqual(
      expect.arrayContaining([{ name: "iris" }, { name: "mnist" }]),
    );
  });

  it("of the object for a command that shows one thing", async () => {
    const result = await runCli(["runs", "show", t.runIds[0], "--json", "params", ...u()]);
    expect(JSON.parse(result.stdout)).toEqual({ params: { lr: "0.1", model: "rf" } });
  });

  it("reads the word after --json as an argument when the command needs it", async () => {
    const result = await runCli(["runs", "show", "--json", "run-1", "-e", "iris", ...u()]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).info.runId).toBe(t.runIds[1]);
  });

  it("refuses an unknown field, naming the fields there are", async () => {
    const result = await runCli(["runs", "list", "--json", "runid", ...u()]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("Unknown JSON field 'runid'");
    expect(result.stderr).toContain("info, params, metrics, tags");
  });
});

describe("metrics history of several runs or keys", () => {
  it("overlays runs in one chart with a legend, and one table column per run", async () => {
    const result = await runCli(
      ["metrics", "history", "run-0", "loss", "-r", "run-1", "-e", "iris", ...u()],
      { env: { FORCE_COLOR: "1" } },
    );
    expect(result.code).toBe(0);
    const lines = result.stdout.split("\n");
    expect(lines[0]).toMatch(/STEP\s+run-0\s+run-1/);
    expect(lines[1]).toMatch(/^\s*0\s+1\s+2\s*$/);
    expect(result.stdout).toContain("\x1b[36m━━\x1b[39m run-0");
    expect(result.stdout).toContain("\x1b[33m━━\x1b[39m run-1");
    // Both colours are in the chart itself.
    const chart = lines.filter((l) => l.includes("┤")).join("\n");
    expect(chart).toContain("\x1b[36m");
    expect(chart).toContain("\x1b[33m");
  });

  it("overlays keys of one run, and gives every series as JSON", async () => {
    const text = await runCli(["metrics", "history", t.runIds[1], "loss", "acc", ...u()]);
    expect(text.stdout).toContain("━━ loss");
    expect(text.stdout).toContain("━━ acc");
    const { json } = await runJson<{
      series: { runId: string; key: string; history: unknown[] }[];
    }>(["metrics", "history", t.runIds[1], "loss", "acc", "-r", t.runIds[0], ...u()]);
    expect(json.series.map((s) => `${s.runId === t.runIds[1] ? 1 : 0}:${s.key}`)).toEqual([
      "1:loss",
      "1:acc",
      "0:loss",
      "0:acc",
    ]);
    expect(json.series[0]?.history).toHaveLength(3);
  });

  it("draws blocks for one series only", async () => {
    const result = await runCli([
      "metrics",
      "history",
      t.runIds[1],
      "loss",
      "acc",
      "--style",
      "blocks",
      ...u(),
    ]);
    expect(result.code).toBe(2);
  });
});

describe("retention: runs delete --older-than / --keep-last", () => {
  /** A tree with runs started 1, 10, 40 and 50 days ago (one still RUNNING) in `a`, 2 in `b`. */
  async function agedTree(): Promise<{
    root: string;
    ids: Record<string, string>;
    done: () => Promise<void>;
  }> {
    const { dir: d, cleanup: done } = await tempDir();
    const root = join(d, "mlruns");
    const store = new FileStore(root);
    const ids: Record<string, string> = {};
    const day = 86_400_000;
    for (const [experiment, runs] of [
      [
        "a",
        [
          ["a1", 1],
          ["a2", 10],
          ["a3", 40, "RUNNING"],
          ["a4", 50],
        ],
      ],
      [
        "b",
        [
          ["b1", 35],
          ["b2", 60],
        ],
      ],
    ] as const) {
      const experimentId = await store.createExperiment(experiment);
      for (const [name, age, status] of runs as readonly (readonly [string, number, string?])[]) {
        const run = await store.createRun({
          experimentId,
          runName: name,
          startTime: Date.now() - age * day,
        });
        await store.logBatch(run.info.runId, { tags: { kind: name === "a4" ? "keep" : "debug" } });
        if (status !== "RUNNING")
          await store.updateRun(run.info.runId, { status: "FINISHED", endTime: Date.now() });
        ids[name] = run.info.runId;
      }
    }
    await store.flush();
    return { root, ids, done };
  }

  it("plans, deletes after --yes, and leaves the rest for gc", async () => {
    const { root, ids, done } = await agedTree();
    try {
      const names = (planned: { runName: string }[]) => planned.map((r) => r.runName).sort();
      const plan = await runJson<{ planned: { runName: string }[]; deleted: string[] }>([
        "runs",
        "delete",
        "--older-than",
        "30d",
        "-u",
        root,
      ]);
      expect(names(plan.json.planned)).toEqual(["a4", "b1", "b2"]);
      expect(plan.json.deleted).toEqual([]);
      const text = await runCli(["runs", "delete", "--older-than", "30d", "-u", root]);
      expect(text.stdout).toContain("a4");
      expect(text.stderr).toContain("Nothing deleted: pass --yes");
      const kept = await runJson<{ planned: { runName: string }[] }>([
        "runs",
        "delete",
        "--keep-last",
        "1",
        "-e",
        "a",
        "-f",
        "tags.kind = 'debug'",
        "-u",
        root,
      ]);
      expect(names(kept.json.planned)).toEqual(["a2"]);
      const both = await runJson<{ deleted: string[] }>([
        "runs",
        "delete",
        "--keep-last",
        "1",
        "--older-than",
        "45d",
        "--yes",
        "-u",
        root,
      ]);
      expect(both.json.deleted.sort()).toEqual([ids.a4, ids.b2].sort());
      const deleted = await runJson<{ runs: { info: { runId: string } }[] }>([
        "runs",
        "list",
        "--view",
        "deleted",
        "-u",
        root,
      ]);
      expect(deleted.json.runs.map((r) => r.info.runId).sort()).toEqual([ids.a4, ids.b2].sort());
      const gc = await runJson<{ items: { id: string }[] }>(["gc", root]);
      expect(gc.json.items.map((i) => i.id).sort()).toEqual([ids.a4, ids.b2].sort());
      const gcTable = await runCli(["gc", root]);
      expect(gcTable.stdout).toMatch(new RegExp(`${ids.a4}\\s+a4\\s+a\\s`));
    } finally {
      await done();
    }
  });

  it("needs runs or a rule, not both", async () => {
    for (const args of [
      [],
      [t.runIds[0], "--older-than", "1d"],
      ["-f", "tags.x = 'y'", t.runIds[0]],
    ]) {
      const result = await runCli(["runs", "delete", ...args, ...u()]);
      expect(result.code, args.join(" ")).toBe(2);
    }
    const duration = await runCli(["runs", "delete", "--older-than", "soon", ...u()]);
    expect(duration.code).toBe(2);
  });

  it.skipIf(SCRIPT === null)("asks on a terminal", async () => {
    const { root, ids, done } = await agedTree();
    try {
      const yes = await runInTerminal(["runs", "delete", "--older-than", "55d", "-u", root], {
        input: "y\n",
      });
      expect(yes.output).toContain("Delete 1 run? [y/N]");
      expect(yes.output).toContain("Deleted 1 run.");
      const { json } = await runJson<{ runs: { info: { runId: string } }[] }>([
        "runs",
        "list",
        "--view",
        "deleted",
        "-u",
        root,
      ]);
      expect(json.runs.map((r) => r.info.runId)).toEqual([ids.b2]);
    } finally {
      await done();
    }
  });
});

describe("completion", () => {
  /** `mlruns --get-yargs-completions <words>` as a shell's script calls it. */
  const complete = async (words: string[], shell = "bash") =>
    (
      await runCli(["--get-yargs-completions", "mlruns", ...words], {
        env: { SHELL: shell, MLFLOW_TRACKING_URI: t.root },
      })
    ).stdout
      .split("\n")
      .filter(Boolean);

  it("offers run ids, names and latest where a command takes a run", async () => {
    const all = await complete(["runs", "show", ""]);
    expect(all).toEqual(expect.arrayContaining([...t.runIds, twin, "run-0", "run-1", "latest"]));
    const prefixed = await complete(["metrics", "history", t.runIds[0].slice(0, 5)]);
    expect(prefixed).toEqual([t.runIds[0]]);
    expect(await complete(["metrics", "history", "x", "loss", "-r", "run-"])).toEqual([
      "run-0",
      "run-1",
    ]);
  });

  it("offers experiment names after -e and where a command takes an experiment", async () => {
    expect(await complete(["runs", "list", "-e", ""])).toEqual(
      expect.arrayContaining(["Default", "iris", "mnist"]),
    );
    expect(await complete(["experiments", "rename", "mn"])).toEqual(["mnist"]);
  });

  it("leaves commands and options to yargs", async () => {
    expect(await complete(["ru"])).toEqual(expect.arrayContaining(["runs", "run"]));
    expect(await complete(["runs", "list", "--fil"])).toEqual(expect.arrayContaining(["--filter"]));
  });

  it("describes candidates for zsh and fish", async () => {
    const zsh = await complete(["runs", "show", t.runIds[0].slice(0, 6)], "/usr/bin/zsh");
    expect(zsh).toEqual([`${t.runIds[0]}:run-0 (iris)`]);
    const fish = await complete(["runs", "show", t.runIds[0].slice(0, 6)], "/usr/bin/fish");
    expect(fish).toEqual([`${t.runIds[0]}\trun-0 (iris)`]);
    const fishCommands = await complete(["runs", "sh"], "/usr/bin/fish");
    expect(fishCommands.some((c) => c.startsWith("show\t"))).toBe(true);
  });

  it("prints a script for each shell", async () => {
    expect((await runCli(["completion", "bash"])).stdout).toContain("complete -o bashdefault");
    expect((await runCli(["completion", "zsh"])).stdout).toContain(
      "compdef _mlruns_complete mlruns",
    );
    expect((await runCli(["completion", "fish"])).stdout).toContain("complete -c mlruns -f -a");
    const fromShell = await runCli(["completion"], { env: { SHELL: "/usr/local/bin/fish" } });
    expect(fromShell.stdout).toContain("complete -c mlruns");
  });

  it("completes in a real bash with the script installed", async () => {
    const bin = join(dir, "bin");
    await mkdir(bin, { recursive: true });
    const shim = join(bin, "mlruns");
    await writeFile(
      shim,
      `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} "$@"\n`,
    );
    await chmod(shim, 0o755);
    const script = (await runCli(["completion", "bash"])).stdout;
    const body = `${script}
COMP_WORDS=(mlruns runs show ${t.runIds[1].slice(0, 5)}); COMP_CWORD=3
_mlruns_complete; printf '%s\\n' "\${COMPREPLY[@]}"
COMP_WORDS=(mlruns runs list -e ir); COMP_CWORD=4
_mlruns_complete; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn("bash", ["--norc", "-c", body], {
        env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, MLFLOW_TRACKING_URI: t.root },
      });
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk;
      });
      child.on("error", reject);
      child.on("close", () => resolve(out));
    });
    expect(output.trim().split("\n")).toEqual([t.runIds[1], "iris"]);
  });
});
