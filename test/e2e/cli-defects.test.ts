/**
 * The built CLI on what a new user tripped over (issue 12): huge histories, unknown
 * subcommands, filter errors, values starting with `-`, labels and hints, `mlruns run`'s source
 * name, bad environment variables, broken pipes and absurd chart sizes.
 */
import { spawn } from "node:child_process";
import { appendFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { FileStore } from "mlruns";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  assertBuilt,
  CLI,
  runCli,
  runJson,
  type SampleTree,
  sampleTree,
  tempDir,
} from "./helpers.ts";

let dir: string;
let t: SampleTree;
let cleanup: () => Promise<void>;
/** A run with one metric of 300,000 points. */
let bigRun: string;
const BIG = 300_000;

beforeAll(async () => {
  assertBuilt();
  ({ dir, cleanup } = await tempDir());
  t = await sampleTree(dir);
  const store = new FileStore(t.root);
  const run = await store.createRun({ experimentId: t.experimentId, runName: "big" });
  bigRun = run.info.runId;
  const start = 1_700_000_000_000;
  for (let from = 0; from < BIG; from += 10_000) {
    const metrics = Array.from({ length: 10_000 }, (_, i) => {
      const step = from + i;
      // A spike in the middle, narrower than one column of the chart.
      return {
        key: "loss",
        value: step === 150_000 ? 50 : Math.sin(step / 9000),
        step,
        timestamp: start + step,
      };
    });
    await store.logBatch(bigRun, { metrics });
  }
  await store.flush();
});
afterAll(async () => {
  await cleanup();
});

const u = () => ["--tracking-uri", t.root];

describe("metrics history on a long metric (item 2)", () => {
  it("draws 300,000 points, keeping each column's min and max", async () => {
    const result = await runCli(["metrics", "history", bigRun, "loss", "--limit", "3", ...u()]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`last 3 of ${BIG} points`);
    // The spike is the top of the y axis, so the one point at 50 was kept.
    expect(result.stdout).toMatch(/^\s*50 ┤/m);
  });

  it("--tail 5 prints the last 5 of 300,000 points", async () => {
    const result = await runCli([
      "metrics",
      "history",
      bigRun,
      "loss",
      "--tail",
      "5",
      "--no-chart",
      ...u(),
    ]);
    expect(result.stderr).toBe("");
    const lines = result.stdout.trim().split("\n");
    expect(lines[0]).toContain(`last 5 of ${BIG} points`);
    expect(lines.slice(2).map((line) => Number(line.trim().split(/\s+/)[0]))).toEqual(
      Array.from({ length: 5 }, (_, i) => BIG - 5 + i),
    );
  });

  it("reads the history asked for alone: another metric's damaged file does not stop it", async () => {
    const root = join(dir, "half-broken");
    const store = new FileStore(root);
    const experimentId = await store.createExperiment("half-broken");
    const { runId } = (await store.createRun({ experimentId, runName: "half" })).info;
    await store.logBatch(runId, {
      metrics: [
        { key: "good", value: 1.5, step: 7, timestamp: 1_700_000_000_000 },
        { key: "bad", value: 2, step: 0, timestamp: 1_700_000_000_000 },
      ],
    });
    await appendFile(join(root, experimentId, runId, "metrics", "bad"), "not a metric line\n");
    const result = await runCli(["metrics", "history", runId, "good", "--no-chart", "-u", root]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^\s*7\s+1\.5\s/m);
  });

  it("prints all 300,000 rows with --limit 0", async () => {
    const result = await runCli([
      "metrics",
      "history",
      bigRun,
      "loss",
      "--limit",
      "0",
      "--no-chart",
      ...u(),
    ]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split("\n")).toHaveLength(BIG + 1);
  });
});

describe("an unknown subcommand (item 4)", () => {
  for (const [args, word, suggestion] of [
    [["runs", "lst"], "mlruns runs lst", "mlruns runs list"],
    [["exp", "lsx"], "mlruns experiments lsx", "mlruns experiments ls"],
    [["metrics", "hist"], "mlruns metrics hist", "mlruns metrics history"],
    [["models", "lst"], "mlruns models lst", "mlruns models list"],
    [["runz"], "mlruns runz", "mlruns runs"],
  ] as const) {
    it(`names '${word}'`, async () => {
      const result = await runCli([...args, ...u()]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`Unknown command '${word}'. Did you mean '${suggestion}'?`);
    });
  }
});

describe("filter errors (item 5)", () => {
  it("keep the filter and the caret under the bad token, with a hint", async () => {
    const filter = "metrics.acc > 1 or metrics.loss < 2";
    const result = await runCli(["runs", "list", "-f", filter, ...u()]);
    expect(result.code).toBe(1);
    const lines = result.stderr.trimEnd().split("\n");
    expect(lines[0]).toContain(
      "Invalid clause(s) in filter string: 'or' [INVALID_PARAMETER_VALUE]",
    );
    expect(lines[1]).toBe(`  ${filter}`);
    expect(lines[2]).toBe(`  ${" ".repeat(filter.indexOf("or"))}^`);
    expect(lines[3]).toMatch(/hint: MLflow filters have no OR/);
    const json = await runCli(["runs", "list", "-f", filter, "--json", ...u()]);
    const { error } = JSON.parse(json.stderr);
    expect(error.message.split("\n")).toHaveLength(3);
    expect(error.hint).toMatch(/no OR/);
  });

  it("hint at quoting a string value", async () => {
    const result = await runCli(["runs", "list", "-f", "params.model = rf", ...u()]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/hint: Quote strings: params\.model = 'rf'/);
  });
});

describe("values starting with - (item 7)", () => {
  it("logs negative metrics and a tag value after --", async () => {
    const run = t.runIds[1];
    for (const args of [
      ["metric", run, "m1", "-0.5"],
      ["metric", run, "m2", "-inf"],
      ["metric", run, "m3", "-1e-3", "--step", "2"],
      ["metric", run, "m4", "--", "-Infinity"],
      ["tag", run, "t1", "--", "-x"],
      ["param", run, "p1", "--", "--weird"],
    ]) {
      const result = await runCli([...u(), "log", ...args]);
      expect(result.stderr, args.join(" ")).toBe("");
      expect(result.code, args.join(" ")).toBe(0);
    }
    const { json } = await runJson<{
      metrics: Record<string, { value: number | string; step: number }>;
      tags: Record<string, string>;
      params: Record<string, string>;
    }>(["runs", "show", run, ...u()]);
    expect(json.metrics.m1?.value).toBe(-0.5);
    expect(json.metrics.m2?.value).toBe("-Infinity");
    expect(json.metrics.m3).toMatchObject({ value: -0.001, step: 2 });
    expect(json.metrics.m4?.value).toBe("-Infinity");
    expect(json.tags.t1).toBe("-x");
    expect(json.params.p1).toBe("--weird");
  });

  it("says where such a value goes when it is missing", async () => {
    const result = await runCli(["log", "tag", t.runIds[1], "t2", ...u()]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("goes after --");
    const extra = await runCli([...u(), "log", "tag", t.runIds[1], "t2", "--", "-a", "-b"]);
    expect(extra.code).toBe(2);
    expect(extra.stderr).toContain("Unexpected argument(s) after --: -a -b");
  });
});

describe("labels, exit codes, help and hints (item 8)", () => {
  it("labels the time axis with clock times, not epoch milliseconds", async () => {
    const result = await runCli([
      "metrics",
      "history",
      t.runIds[0],
      "loss",
      "-x",
      "time",
      "--no-table",
      ...u(),
    ]);
    expect(result.code).toBe(0);
    const axis = result.stdout.trimEnd().split("\n").at(-1) ?? "";
    expect(axis).not.toMatch(/1\.7e\+12|1700000001/);
    const clock = (ms: number) => {
      const d = new Date(ms);
      return [d.getHours(), d.getMinutes(), d.getSeconds()]
        .map((n) => String(n).padStart(2, "0"))
        .join(":");
    };
    expect(axis).toContain(clock(1_700_000_001_000));
    expect(axis).toContain(clock(1_700_000_001_002));
  });

  it("exits 1 for a missing key and lists the run's metrics", async () => {
    const result = await runCli(["metrics", "history", t.runIds[0], "nokey", ...u()]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("has no metric 'nokey' [RESOURCE_DOES_NOT_EXIST]");
    expect(result.stderr).toContain("Its metrics: acc, loss");
  });

  it("shows a --json example of the shape the command prints", async () => {
    const help = await runCli(["metrics", "history", "--help"]);
    expect(help.stdout).toContain("{ runId, key, history: [...] }");
    const { json } = await runJson(["metrics", "history", t.runIds[0], "loss", ...u()]);
    expect(Object.keys(json)).toEqual(["runId", "key", "history"]);
  });

  it("colours metric changes by better or worse, not by sign", async () => {
    // Run 1 has the higher loss (worse) and the higher accuracy (better) than run 0.
    const result = await runCli(["runs", "compare", ...t.runIds, ...u()], {
      env: { FORCE_COLOR: "1" },
    });
    const row = (key: string) => result.stdout.split("\n").find((l) => l.includes(key)) ?? "";
    expect(row("metrics.loss")).toContain("\x1b[31m(+0.333333)");
    expect(row("metrics.acc")).toContain("\x1b[32m(+0.1)");
    const told = await runCli(["runs", "compare", ...t.runIds, "--higher-better", "loss", ...u()], {
      env: { FORCE_COLOR: "1" },
    });
    expect(told.stdout.split("\n").find((l) => l.includes("metrics.loss"))).toContain(
      "\x1b[32m(+0.333333)",
    );
  });

  it("names a command, not a library method, in the hint for a missing artifact", async () => {
    const result = await runCli(["artifacts", "get", t.runIds[0], "nope.txt", ...u()]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`mlruns artifacts list ${t.runIds[0]} -r`);
    expect(result.stderr).not.toMatch(/listArtifacts/);
  });

  it("shows help for `completion --help` instead of the script", async () => {
    const result = await runCli(["completion", "--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Examples:");
    expect(result.stdout).not.toContain("complete ");
  });

  it("counts in words: 1 experiment, 1 error", async () => {
    const { dir: d, cleanup: c } = await tempDir();
    try {
      const root = join(d, "mlruns");
      await runCli(["init", root]);
      const ok = await runCli(["verify", root]);
      expect(ok.stdout).toContain("1 experiment, 0 runs, 0 metric files, 0 registered models");
      const store = new FileStore(root);
      const run = await store.createRun({ experimentId: "0" });
      await store.logBatch(run.info.runId, {
        metrics: [{ key: "m", value: 1, step: 0, timestamp: 1 }],
      });
      await appendFile(join(root, "0", run.info.runId, "metrics", "m"), "garbage\n");
      const bad = await runCli(["verify", root]);
      expect(bad.stdout).toContain(": 1 error, 0 warnings");
    } finally {
      await c();
    }
  });
});

describe("mlruns run's source name (item 9)", () => {
  it("is the script, not the interpreter", async () => {
    const script = join(dir, "train.py");
    await writeFile(script, "print('trained')\n");
    const result = await runCli(["run", ...u(), "--", "python3", "-u", script, "--lr", "0.1"]);
    expect(result.code).toBe(0);
    const id = /run ([0-9a-f]{32})/.exec(result.stderr)?.[1] as string;
    const { json } = await runJson<{ tags: Record<string, string> }>(["runs", "show", id, ...u()]);
    expect(json.tags["mlflow.source.name"]).toBe(script);
    expect(json.tags["mlruns.command"]).toBe(`python3 -u ${script} --lr 0.1`);
  });
});

describe("a bad environment variable (item 11)", () => {
  it("is a usage error naming the variable, with a hint", async () => {
    for (const [name, value] of [
      ["MLFLOW_MOCK_MODE", "ture"],
      ["MLFLOW_HTTP_REQUEST_TIMEOUT", "soon"],
    ] as const) {
      const result = await runCli(["runs", "list", ...u()], { env: { [name]: value } });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`${name}="${value}"`);
      expect(result.stderr).toContain("[USAGE]");
      expect(result.stderr).toMatch(/hint: Set .* or unset it/);
      expect(result.stderr).not.toContain("INTERNAL_ERROR");
    }
  });
});

describe("issue 11 item 16: pipes and sizes", () => {
  it("stops quietly when the reader of a long table goes away", async () => {
    const command = `set -o pipefail; ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} metrics history ${bigRun} loss --limit 0 --no-chart -u ${JSON.stringify(t.root)} | head -n 2`;
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
      (resolve) => {
        const child = spawn("bash", ["-c", command]);
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk: Buffer) => {
          stdout += chunk;
        });
        child.stderr.on("data", (chunk: Buffer) => {
          stderr += chunk;
        });
        child.on("close", (code) => resolve({ code, stdout, stderr }));
      },
    );
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout.split("\n")[0]).toMatch(/STEP\s+VALUE\s+TIME/);
  });

  it("refuses a chart wider than 1000 characters", async () => {
    for (const args of [
      ["--width", "1e9"],
      ["--width", "0"],
      ["--height", "1e6"],
      ["--limit", "-1"],
    ]) {
      const result = await runCli(["metrics", "history", t.runIds[0], "loss", ...args, ...u()]);
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stderr, args.join(" ")).toMatch(/must be a whole number from \d+ to \d+/);
    }
  });
});
