/**
 * The CLI's pure helpers: the command line before yargs, the source name of `mlruns run`, which
 * way a metric is better, the chart, the retention rule and the columns of `runs list`.
 */
import type { Run, RunRecord } from "mlruns";
import { describe, expect, it } from "vitest";
import { prepareArgv, unescapeArgs } from "../cli/argv.ts";
import { chart } from "../cli/chart.ts";
import { runColumns } from "../cli/columns.ts";
import { retentionPlan } from "../cli/commands/runs-lifecycle.ts";
import { goalOf, improves } from "../cli/metric-goal.ts";
import { sourceName } from "../cli/source-name.ts";

describe("prepareArgv", () => {
  it("marks negative numbers yargs would read as options, and unmarks them", () => {
    const { argv } = prepareArgv(["log", "metric", "r", "m", "-1e-3", "--step", "-2", "-inf"]);
    expect(argv[4]).not.toBe("-1e-3");
    expect(argv[6]).toBe("-2"); // yargs reads this one itself
    expect(unescapeArgs({ value: argv[4], list: [argv[7]] })).toEqual({
      value: "-1e-3",
      list: ["-inf"],
    });
  });

  it("leaves the words after -- as they are", () => {
    expect(prepareArgv(["run", "--", "python", "-c", "-1e-3"]).argv).toEqual([
      "run",
      "--",
      "python",
      "-c",
      "-1e-3",
    ]);
  });

  it("takes a field list after --json, with the word kept as an argument as the other reading", () => {
    const joined = prepareArgv(["runs", "list", "--json=info.runId,metrics.acc"]);
    expect(joined.jsonFields).toEqual(["info.runId", "metrics.acc"]);
    expect(joined.alternative).toBeUndefined();
    const spaced = prepareArgv(["runs", "show", "--json", "baseline"]);
    expect(spaced.argv).toEqual(["runs", "show", "--json"]);
    expect(spaced.jsonFields).toEqual(["baseline"]);
    expect(spaced.alternative?.argv).toEqual(["runs", "show", "--json", "baseline"]);
    expect(spaced.alternative?.jsonFields).toBeUndefined();
    expect(prepareArgv(["runs", "list", "--json", "-u", "x"]).jsonFields).toBeUndefined();
  });
});

describe("sourceName", () => {
  it.each([
    [["python", "train.py", "--lr", "0.1"], "train.py"],
    [["python3", "-u", "-W", "ignore", "src/train.py"], "src/train.py"],
    [["/usr/bin/python3.11", "-m", "pkg.train", "--epochs", "3"], "pkg.train"],
    [["python", "-c", "print(1)"], "python"],
    [["node", "--import", "tsx", "train.ts"], "train.ts"],
    [["node", "-e", "1"], "node"],
    [["deno", "run", "-A", "train.ts"], "train.ts"],
    [["sh", "-c", "echo hi"], "sh"],
    [["bash", "-e", "run.sh"], "run.sh"],
    [["Rscript", "fit.R"], "fit.R"],
    [["./train"], "./train"],
    [["make", "train"], "make"],
  ])("%j → %s", (command, name) => {
    expect(sourceName(command)).toBe(name);
  });
});

describe("which way a metric is better", () => {
  const none = { lower: [], higher: [] };
  it.each([
    ["loss", "lower"],
    ["val_loss", "lower"],
    ["test/error", "lower"],
    ["rmse", "lower"],
    ["epoch_time", "lower"],
    ["accuracy", "higher"],
    ["val_acc", "higher"],
    ["f1", "higher"],
    ["roc_auc", "higher"],
    ["top5", "higher"],
    ["lr", undefined],
    ["epoch", undefined],
  ])("%s: %s", (key, goal) => {
    expect(goalOf(key, none)).toBe(goal);
  });

  it("is told for other names, and judges changes by it", () => {
    expect(goalOf("throughput_drop", { lower: ["throughput_drop"], higher: [] })).toBe("lower");
    expect(goalOf("loss", { lower: [], higher: ["loss"] })).toBe("higher");
    expect(improves(-0.1, "lower")).toBe(true);
    expect(improves(0.1, "lower")).toBe(false);
    expect(improves(0.1, "higher")).toBe(true);
    expect(improves(0.1, undefined)).toBeUndefined();
    expect(improves(0, "lower")).toBeUndefined();
  });
});

describe("chart", () => {
  it("draws a million points in one pass and keeps a one-point spike", () => {
    const points = Array.from({ length: 1_000_000 }, (_, i) => ({
      x: i,
      y: i === 500_001 ? 100 : Math.sin(i / 1000),
    }));
    const lines = chart([points], { width: 40, height: 5 });
    expect(lines[0]).toMatch(/^\s*100 ┤/);
    // The spike reaches the top row in the middle column, only there.
    const top = [...(lines[0]?.split("┤")[1] ?? "")];
    const marked = top.flatMap((char, i) => (char.codePointAt(0) !== 0x2800 ? [i] : []));
    expect(marked.length).toBeGreaterThan(0);
    expect(Math.min(...marked)).toBeGreaterThanOrEqual(18);
    expect(Math.max(...marked)).toBeLessThanOrEqual(21);
  });

  it("keeps each column's lowest value too", () => {
    const points = Array.from({ length: 100_000 }, (_, i) => ({ x: i, y: i === 77 ? -5 : 1 }));
    const lines = chart([points], { width: 20, height: 4 });
    expect(lines[3]).toMatch(/^\s*-5 ┤[^\u2800]/);
  });

  it("overlays series, painting each character by the series with most dots there", () => {
    const rising = Array.from({ length: 50 }, (_, i) => ({ x: i, y: i }));
    const falling = Array.from({ length: 50 }, (_, i) => ({ x: i, y: 49 - i }));
    const painted = chart([rising, falling], {
      width: 20,
      height: 4,
      paint: (series, text) => `<${series}>${text}</${series}>`,
    }).join("\n");
    expect(painted).toContain("<0>");
    expect(painted).toContain("<1>");
  });

  it("labels the x axis with the formatter given", () => {
    const lines = chart(
      [
        [
          { x: 0, y: 1 },
          { x: 10, y: 2 },
        ],
      ],
      {
        width: 20,
        formatX: (x) => `t${x}`,
      },
    );
    expect(lines.at(-1)?.trim()).toMatch(/^t0\s+t10$/);
  });

  it("skips non-finite values and says when nothing is left", () => {
    expect(chart([[{ x: 0, y: Number.NaN }]])).toEqual(["(no finite values to chart)"]);
  });
});

describe("retentionPlan", () => {
  const day = 86_400_000;
  const now = 100 * day;
  const run = (id: string, experimentId: string, ageDays: number, status = "FINISHED"): Run =>
    ({
      info: { runId: id, experimentId, startTime: now - ageDays * day, status },
    }) as unknown as Run;
  // Newest first per experiment, as the search returns them.
  const runs = [
    run("a1", "1", 1),
    run("a2", "1", 10),
    run("a3", "1", 40, "RUNNING"),
    run("a4", "1", 50),
    run("b1", "2", 35),
    run("b2", "2", 60),
  ];
  const ids = (rule: { olderThanMs?: number; keepLast?: number }) =>
    retentionPlan(runs, rule, now).map((r) => r.info.runId);

  it("deletes what is older, never a running run", () => {
    expect(ids({ olderThanMs: 30 * day })).toEqual(["a4", "b1", "b2"]);
  });

  it("keeps the newest N of each experiment", () => {
    expect(ids({ keepLast: 1 })).toEqual(["a2", "a4", "b2"]);
  });

  it("with both, deletes what is past the newest N and older", () => {
    expect(ids({ keepLast: 1, olderThanMs: 45 * day })).toEqual(["a4", "b2"]);
  });
});

describe("runColumns", () => {
  const record = (name: string, params: Record<string, string>, metrics: Record<string, number>) =>
    ({
      info: {
        runId: name,
        runName: name,
        experimentId: "1",
        status: "FINISHED",
        startTime: 0,
        endTime: null,
      },
      params,
      metrics,
      tags: {},
    }) as unknown as RunRecord;
  const runs = [
    record("a", { lr: "0.1", model: "rf" }, { acc: 0.9, loss: 0.1 }),
    record("b", { lr: "0.01", model: "rf" }, { acc: 0.8, loss: 0.1 }),
    record("c", { model: "rf" }, { acc: Number.NaN }),
  ];
  const names = new Map([["1", "iris"]]);

  it("adds what the search names and what varies, not what is the same", () => {
    const { columns } = runColumns(runs, names, { chosen: [], searchTexts: ["metrics.loss < 1"] });
    expect(columns.map((c) => c.header)).toEqual([
      "RUN ID",
      "NAME",
      "EXPERIMENT",
      "STATUS",
      "STARTED",
      "DURATION",
      "metrics.loss",
      "params.lr",
      "metrics.acc",
    ]);
    expect(columns[2]?.cell(runs[0] as RunRecord)).toBe("iris");
  });

  it("takes the columns chosen, and refuses one it does not know", () => {
    const { columns } = runColumns(runs, names, {
      chosen: ["name", "params.model", "metric.acc"],
      searchTexts: [],
    });
    expect(columns.map((c) => c.cell(runs[1] as RunRecord))).toEqual(["b", "rf", "0.8"]);
    expect(() => runColumns(runs, names, { chosen: ["bogus"], searchTexts: [] })).toThrow(
      /Unknown column 'bogus'/,
    );
  });
});
