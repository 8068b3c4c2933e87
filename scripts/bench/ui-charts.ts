/**
 * The UI bench's charts (`npm run bench -- ui`): 10 runs of a 1,000,000-point metric each,
 * logged through a FileStore so the writer kept their history summaries; the chart timed on a
 * first look, warm, cold (no summaries, as for another program's runs), cold after the table
 * was shown a while (summaries built in the background), and live.
 */
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileStore, type Metric } from "mlruns";
import type { Page } from "playwright-core";
import { routes } from "../../src/server/routes.ts";
import { launchBrowser, startUi } from "../../test/helpers/chromium.ts";
import type { Row } from "./report.ts";
import { benchCacheDir } from "./search-tree.ts";
import { cpuOf, inPage, median, ms, type Report, TIMINGS, type Timing } from "./ui-page.ts";

export const CHART_RUNS = 10;
export const CHART_POINTS = Number(process.env.MLRUNS_BENCH_CHART_POINTS ?? 1_000_000);
/** How long after the table shows the realistic cold chart is asked (seconds). */
export const CHART_AFTER_S = Number(process.env.MLRUNS_BENCH_CHART_AFTER_S ?? 10);

/**
 * 10 runs with CHART_POINTS points of `loss` each, logged through a FileStore once and cached,
 * with the history summaries their writer kept (in `summaries`, a cache folder of its own).
 */
async function ensureChartTree(): Promise<{
  root: string;
  summaries: string;
  experimentId: string;
  runIds: string[];
}> {
  const root = join(benchCacheDir(), `chart-logged-${CHART_RUNS}x${CHART_POINTS}`);
  const summaries = `${root}.summaries`;
  const marker = join(root, ".bench-tree.json");
  if (existsSync(marker)) return { ...JSON.parse(readFileSync(marker, "utf8")), summaries };
  console.error(`logging ${CHART_RUNS} runs x ${CHART_POINTS} points under ${root}…`);
  rmSync(root, { recursive: true, force: true });
  rmSync(summaries, { recursive: true, force: true });
  const cacheBefore = process.env.XDG_CACHE_HOME;
  process.env.XDG_CACHE_HOME = summaries;
  try {
    const store = new FileStore(root);
    const experimentId = await store.createExperiment("chart");
    const runIds: string[] = [];
    for (let r = 0; r < CHART_RUNS; r++) {
      const run = await store.createRun({ experimentId, runName: `long-${r}` });
      const t0 = 1_700_000_000_000;
      for (let from = 0; from < CHART_POINTS; from += 1000) {
        const metrics: Metric[] = [];
        for (let step = from; step < Math.min(CHART_POINTS, from + 1000); step++) {
          const spike = step % 250_000 === 1234 ? 10 : 0;
          const value =
            2 * Math.exp(-step / (CHART_POINTS / 5)) +
            0.01 * Math.sin(step / 50) +
            r * 0.05 +
            spike;
          metrics.push({ key: "loss", value, timestamp: t0 + step * 10, step });
        }
        await store.logBatch(run.info.runId, { metrics });
      }
      await store.updateRun(run.info.runId, { status: "FINISHED", endTime: Date.now() });
      runIds.push(run.info.runId);
    }
    // The search index too, as a first look at the table would have built it: the chart's
    // first look is what is measured.
    await store.searchRuns({ experimentIds: [experimentId] });
    await store.close();
    const tree = { root, experimentId, runIds };
    writeFileSync(marker, JSON.stringify(tree));
    return { ...tree, summaries };
  } finally {
    if (cacheBefore === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = cacheBefore;
  }
}

/**
 * A short run beside the long ones, where the live benchmark logs its points (the long
 * histories stay as they are): created once, its id kept in a marker file.
 */
async function ensureLiveRun(tree: { root: string; experimentId: string }): Promise<string> {
  const marker = join(tree.root, ".bench-live-run.json");
  if (existsSync(marker))
    return (JSON.parse(readFileSync(marker, "utf8")) as { runId: string }).runId;
  const store = new FileStore(tree.root);
  const run = await store.createRun({ experimentId: tree.experimentId, runName: "training" });
  await store.logBatch(run.info.runId, {
    metrics: [{ key: "loss", value: 1, timestamp: Date.now(), step: 0 }],
  });
  writeFileSync(marker, JSON.stringify({ runId: run.info.runId }));
  return run.info.runId;
}

// In-page code, as source text: it runs in the browser, where the DOM is (this project's
// TypeScript has no DOM types outside ui/).

/** One load of the chart: asked to drawn, the fetch, the server's sampling, its process's CPU. */
interface ChartLoad {
  draw: number;
  fetch: number;
  sample: number;
  sampleCpu: number;
  cpu: number;
}

/** Waits until the chart is drawn again (its data-drawn stamp differs from `before`). */
const REDRAWN = `({ before }) => new Promise((done) => {
  const check = () => {
    if (document.querySelector("figure.chart")?.getAttribute("data-drawn") !== before) done();
    else setTimeout(check, 5);
  };
  check();
})`;

/** Charts of 10 runs of long histories: first look, warm, cold, cold after the table, live. */
export async function chartBench(
  report: Report,
  load: () => string | undefined,
  rows: Row[],
): Promise<Row[]> {
  if (!routes.some((r) => r.path.endsWith("/metrics/get-history-bulk-interval"))) {
    // The page would fall back to whole histories: 10 million points as JSON measure nothing.
    report(`chart of ${CHART_RUNS} runs x ${CHART_POINTS.toLocaleString("en")} points`, "n/a");
    return rows;
  }
  const chart = await ensureChartTree();
  const liveRun = await ensureLiveRun(chart);
  const points = CHART_POINTS.toLocaleString("en");
  const chartUrl = (url: string, runIds: string[]) =>
    `${url}/#/runs?e=${chart.experimentId}&v=charts&k=loss&sel=${runIds.join(",")}`;
  /**
   * Opens the chart `loads` times in a server with the cache folder `cache` (the history
   * summaries); each load's time from asking to drawn, the fetch of the sampled histories, the
   * server's CPU time. Undefined (and reported) when the chart fails. `before` runs first, in
   * the same server and page (a look at the table).
   */
  const chartLoads = async (
    cache: string,
    loads: number,
    label: string,
    before?: (page: Page, server: { url: string; pid: number }) => Promise<void>,
  ) => {
    const server = await startUi(chart.root, { XDG_CACHE_HOME: cache });
    const browser = await launchBrowser();
    try {
      const { page } = browser;
      await before?.(page, server);
      const measured: ChartLoad[] = [];
      for (let i = 0; i < loads; i++) {
        await page.goto("about:blank");
        const cpuBefore = cpuOf(server.pid);
        await page.goto(chartUrl(server.url, chart.runIds), { timeout: 1_200_000 });
        const drawn = await page
          .waitForSelector("figure.chart[data-draw-ms]", { timeout: 1_200_000 })
          .then((el) => el.getAttribute("data-draw-ms"))
          .catch(
            async (error: Error) =>
              `failed: ${(await page.textContent("figure.chart .error").catch(() => "")) || error.message}`,
          );
        if (drawn === null || drawn.startsWith("failed")) {
          report(label, String(drawn));
          return undefined;
        }
        const timings = await inPage<Timing[]>(page, TIMINGS, "get-history-bulk-interval");
        const slowest = timings.reduce((a, b) => (b.fetch > a.fetch ? b : a));
        measured.push({
          draw: Number(drawn),
          fetch: slowest.fetch,
          sample: slowest.server ?? Number.NaN,
          sampleCpu: slowest.cpu ?? Number.NaN,
          cpu: cpuOf(server.pid) - cpuBefore,
        });
      }
      return measured;
    } finally {
      await browser.close();
      await server.stop();
    }
  };
  const reportLoads = (label: string, loads: ChartLoad[]) => {
    const of = (field: keyof ChartLoad) => median(loads.map((load) => load[field]));
    report(label, ms(of("draw")), `goal < 500 ms; load average ${load()}`);
    report(
      "  of which the sampled histories' fetch (the server's sampling: wall / CPU) / the rest in the page (JSON, columns, drawing)",
      `${ms(of("fetch"))} (${ms(of("sample"))} / ${ms(of("sampleCpu"))}) / ${ms(of("draw") - of("fetch"))}`,
    );
    report("  the server process's CPU time for the load", ms(of("cpu")));
  };

  // A first look at runs mlruns logged: the summaries their writer kept (a copy, so that each
  // bench starts from what the writer left), then the next looks.
  const kept = mkdtempSync(join(tmpdir(), "mlruns-bench-cache-"));
  // Cold: an empty cache folder, as for runs another program wrote; the first chart builds
  // the summaries.
  const empty = mkdtempSync(join(tmpdir(), "mlruns-bench-cache-"));
  const later = mkdtempSync(join(tmpdir(), "mlruns-bench-cache-"));
  /**
   * Opens the table of the chart tree's runs, then waits until CHART_AFTER_S seconds after its
   * rows show; reports when the summaries of the 10 long histories were all in the cache folder
   * `cache`, and the server's CPU time until then.
   */
  const lookAtTable = async (
    page: Page,
    server: { url: string; pid: number },
    cache: string,
    report: Report,
  ) => {
    await page.goto(`${server.url}/#/runs?e=${chart.experimentId}`);
    await page.waitForSelector(".tbody .tr[data-run-id]");
    const shown = performance.now();
    const cpuBefore = cpuOf(server.pid);
    // A summary holds a record of 160 bytes per whole block of 256 lines, after 48 bytes.
    const whole = 48 + Math.floor(CHART_POINTS / 256) * 160;
    const dir = join(cache, "mlruns", "history");
    const complete = () =>
      existsSync(dir)
        ? readdirSync(dir).filter((f) => statSync(join(dir, f)).size >= whole).length
        : 0;
    let summed: number | undefined;
    let cpu = 0;
    while (performance.now() - shown < CHART_AFTER_S * 1000) {
      if (summed === undefined && complete() === CHART_RUNS) {
        summed = performance.now() - shown;
        cpu = cpuOf(server.pid) - cpuBefore;
      }
      await new Promise((done) => setTimeout(done, 20));
    }
    report(
      `  summaries built in the background after the table showed: all ${CHART_RUNS} in / the server's CPU until then (load ${load()})`,
      summed === undefined
        ? `not all within ${CHART_AFTER_S} s (${complete()} of ${CHART_RUNS})`
        : `${ms(summed)} / ${ms(cpu)}`,
    );
  };
  try {
    cpSync(chart.summaries, kept, { recursive: true });
    const first = await chartLoads(kept, 4, "chart (summaries kept by the writer)");
    if (first === undefined) return rows;
    reportLoads(
      `chart of ${CHART_RUNS} runs x ${points} points, first look (summaries kept by the writer): asked to drawn`,
      first.slice(0, 1),
    );
    reportLoads(
      `chart of ${CHART_RUNS} runs x ${points} points, warm: asked to drawn (median of 3)`,
      first.slice(1),
    );
    const cold = await chartLoads(empty, 1, "chart (no summaries)");
    if (cold === undefined) return rows;
    reportLoads(
      `chart of ${CHART_RUNS} runs x ${points} points, cold (written by another program, no summaries yet): asked to drawn`,
      cold,
    );
    // As a person does: the table of the runs first, the chart asked a while later; meanwhile
    // the server sums up the long histories of the runs on screen.
    const ahead = await chartLoads(later, 1, "chart (table first)", (page, server) =>
      lookAtTable(page, server, later, report),
    );
    if (ahead === undefined) return rows;
    reportLoads(
      `chart of ${CHART_RUNS} runs x ${points} points, cold tree, table shown, chart asked ${CHART_AFTER_S} s later: asked to drawn`,
      ahead,
    );
  } finally {
    rmSync(kept, { recursive: true, force: true });
    rmSync(empty, { recursive: true, force: true });
    rmSync(later, { recursive: true, force: true });
  }

  const chartServer = await startUi(chart.root, { XDG_CACHE_HOME: chart.summaries });
  const chartBrowser = await launchBrowser();
  try {
    const { page } = chartBrowser;
    // Live: the long runs and a short one that trains, charted together; a point the training
    // process flushes, until the chart is drawn again (every run's sampled history fetched).
    await page.goto("about:blank");
    await page.goto(chartUrl(chartServer.url, [...chart.runIds, liveRun]));
    await page.waitForSelector("figure.chart[data-drawn]", { timeout: 1_200_000 });
    await new Promise((done) => setTimeout(done, 1000)); // the page names its runs to the server
    const before = await page.getAttribute("figure.chart", "data-drawn");
    const writer = new FileStore(chart.root);
    const step = (await writer.getMetricHistory(liveRun, "loss")).length;
    const started = performance.now();
    await writer.logBatch(liveRun, {
      metrics: [{ key: "loss", value: 1 / (step + 1), timestamp: Date.now(), step }],
    });
    await inPage(page, REDRAWN, { before });
    report(
      `live: a point flushed to a run charted with the ${CHART_RUNS} long ones, until the chart is redrawn`,
      ms(performance.now() - started),
      "goal < 2 s",
    );
  } finally {
    await chartBrowser.close();
    await chartServer.stop();
  }
  report("load average (1 min) at the end", String(load()));
  return rows;
}
