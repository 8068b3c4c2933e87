/** `mlruns metrics history <run> <key>`: every point, as a table and a chart in the terminal. */
import { chart } from "../chart.ts";
import { defineCommand, openContext } from "../context.ts";
import { c, formatNumber, formatTime, print, printJson, table } from "../output.ts";

const history = defineCommand<{
  run: string;
  key: string;
  chart: boolean;
  table: boolean;
  style: "braille" | "blocks";
  x: "step" | "time" | "index";
  width?: number;
  height: number;
  limit: number;
}>({
  command: "history <run> <key>",
  describe: "A metric's history: a table and a chart",
  builder: (y) =>
    y
      .positional("run", { type: "string", demandOption: true })
      .positional("key", { type: "string", demandOption: true })
      .option("chart", { type: "boolean", default: true, describe: "draw the chart (--no-chart)" })
      .option("table", { type: "boolean", default: true, describe: "print the table (--no-table)" })
      .option("style", { choices: ["braille", "blocks"], default: "braille" })
      .option("x", { choices: ["step", "time", "index"], default: "step", describe: "x axis" })
      .option("width", { type: "number", describe: "chart width in characters" })
      .option("height", { type: "number", default: 10, describe: "chart height in characters" })
      .option("limit", {
        type: "number",
        default: 20,
        describe: "table rows, the last ones (0: all)",
      })
      .example("$0 metrics history 3f2a... loss", "table and braille chart")
      .example("$0 metrics history 3f2a... loss --style blocks --no-table", "a bar chart only")
      .example("$0 metrics history 3f2a... loss --json", "[{step, value, timestamp}...]"),
  async handler(args) {
    const { store } = await openContext(args);
    const runId = String(args.run);
    const key = String(args.key);
    const points = await store.getMetricHistory(runId, key);
    if (args.json) {
      printJson({
        runId,
        key,
        history: points.map((p) => ({ step: p.step, value: p.value, timestamp: p.timestamp })),
      });
      return;
    }
    if (points.length === 0) {
      print(c.dim(`(no points for metric '${key}' in run ${runId})`));
      return;
    }
    if (args.table) {
      const shown = args.limit > 0 ? points.slice(-args.limit) : points;
      if (shown.length < points.length) {
        print(c.dim(`last ${shown.length} of ${points.length} points (--limit 0 shows all)`));
      }
      table(
        ["STEP", "VALUE", "TIME"],
        shown.map((p) => [String(p.step), formatNumber(p.value), formatTime(p.timestamp)]),
        [0, 1],
      );
    }
    if (args.chart) {
      const xs = points.map((p, i) =>
        args.x === "time" ? p.timestamp : args.x === "index" ? i : p.step,
      );
      const columns = process.stdout.columns ?? 80;
      const width = args.width ?? Math.max(20, Math.min(100, columns - 14));
      if (args.table) print();
      print(c.bold(`${key} by ${args.x}`));
      for (const line of chart(
        points.map((p, i) => ({ x: xs[i] as number, y: p.value })),
        { width, height: args.height, style: args.style },
      )) {
        print(c.cyan(line));
      }
    }
  },
});

export const metrics = defineCommand<object>({
  command: "metrics",
  describe: "Read metric histories",
  builder: (y) => y.command(history).demandCommand(1, "Name a subcommand: history"),
  async handler() {},
});
