/**
 * `npm run bench -- ui`: the web UI in the real headless Chromium, served by the built
 * `mlruns ui` (a separate process, as a user runs it), over the search benchmark's tree of
 * 100,000 runs (its 4 experiments opened together in one table) and a tree of 10 runs with a
 * 1,000,000-point metric each. Measured in the page: first table paint, filter round trip,
 * frame times while scrolling, a jump to the middle, chart draw time, bytes shipped, page memory.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { get } from "node:http";
import { join } from "node:path";
import { FileStore } from "mlruns";
import type { Page } from "playwright-core";
import { routes } from "../../src/server/routes.ts";
import { formatMetricLine } from "../../src/store/file/metric-lines.ts";
import { launchBrowser, startUi } from "../../test/helpers/chromium.ts";
import type { Row } from "./report.ts";
import { benchCacheDir, ensureSearchTree } from "./search-tree.ts";

const CHART_RUNS = 10;

/** GET without a deadline: a cold first search of 100,000 runs can outlast fetch's 5 minutes. */
function getText(url: string): Promise<string> {
  return new Promise((done, fail) => {
    get(url, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => {
        body += c.toString();
      });
      res.on("end", () => (res.statusCode === 200 ? done(body) : fail(new Error(body))));
    }).on("error", fail);
  });
}
const CHART_POINTS = Number(process.env.MLRUNS_BENCH_CHART_POINTS ?? 1_000_000);

const ms = (value: number) => `${value.toFixed(value < 10 ? 1 : 0)} ms`;
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[
    Math.min(values.length - 1, Math.floor(values.length * p))
  ] as number;

/** 10 runs with CHART_POINTS points of `loss` each, written once and cached. */
async function ensureChartTree(): Promise<{
  root: string;
  experimentId: string;
  runIds: string[];
}> {
  const root = join(benchCacheDir(), `chart-${CHART_RUNS}x${CHART_POINTS}`);
  const marker = join(root, ".bench-tree.json");
  if (existsSync(marker)) return JSON.parse(readFileSync(marker, "utf8"));
  console.error(`writing ${CHART_RUNS} runs x ${CHART_POINTS} points under ${root}…`);
  mkdirSync(root, { recursive: true });
  const store = new FileStore(root);
  const experimentId = await store.createExperiment("chart");
  const runIds: string[] = [];
  for (let r = 0; r < CHART_RUNS; r++) {
    const run = await store.createRun({ experimentId, runName: `long-${r}` });
    await store.updateRun(run.info.runId, { status: "FINISHED", endTime: Date.now() });
    const file = join(root, experimentId, run.info.runId, "metrics", "loss");
    const chunk = 100_000;
    const t0 = 1_700_000_000_000;
    writeFileSync(file, "");
    for (let from = 0; from < CHART_POINTS; from += chunk) {
      let text = "";
      for (let step = from; step < Math.min(CHART_POINTS, from + chunk); step++) {
        const spike = step % 250_000 === 1234 ? 10 : 0;
        const value =
          2 * Math.exp(-step / (CHART_POINTS / 5)) + 0.01 * Math.sin(step / 50) + r * 0.05 + spike;
        text += formatMetricLine({ key: "loss", value, timestamp: t0 + step * 10, step });
      }
      writeFileSync(file, text, { flag: "a" });
    }
    runIds.push(run.info.runId);
  }
  const tree = { root, experimentId, runIds };
  writeFileSync(marker, JSON.stringify(tree));
  return tree;
}

// In-page code, as source text: it runs in the browser, where the DOM is (this project's
// TypeScript has no DOM types outside ui/).

/** Applies a filter and times it until the run count shows the answer (or the error shows). */
const FILTER_ROUND_TRIP = `(text) => new Promise((done) => {
  const input = document.querySelector("#filter-input");
  const count = document.querySelector("[data-testid=run-count]");
  const before = count.textContent;
  const started = performance.now();
  const observer = new MutationObserver(() => {
    if (count.textContent !== before || document.querySelector("#filter-error")) {
      observer.disconnect();
      requestAnimationFrame(() => done(performance.now() - started));
    }
  });
  observer.observe(count, { childList: true, characterData: true, subtree: true });
  input.value = text;
  input.dispatchEvent(new Event("input", { bubbles: true }));
  input.form.requestSubmit();
})`;

/** Scrolls the table by `step` px a frame for `frames` frames; the frame times seen. */
const SCROLL_FRAMES = `({ frames, step }) => new Promise((done) => {
  const box = document.querySelector(".table-scroll");
  const times = [];
  let last = performance.now();
  let n = 0;
  const tick = (now) => {
    times.push(now - last);
    last = now;
    box.scrollTop += step;
    if (++n < frames) requestAnimationFrame(tick);
    else done(times.slice(1));
  };
  requestAnimationFrame(tick);
})`;

/** Jumps to the middle of the table; the time until no row there is a placeholder. */
const JUMP = `() => new Promise((done) => {
  const box = document.querySelector(".table-scroll");
  const started = performance.now();
  box.scrollTop = box.scrollHeight / 2;
  const check = () => {
    const pending = box.querySelectorAll(".tr.pending").length;
    const filled = box.querySelectorAll(".tbody .tr[data-run-id]").length;
    if (pending === 0 && filled > 0) done(performance.now() - started);
    else requestAnimationFrame(check);
  };
  requestAnimationFrame(check);
})`;

const inPage = <T>(page: Page, fn: string, arg?: unknown): Promise<T> =>
  page.evaluate(`(${fn})(${arg === undefined ? "" : JSON.stringify(arg)})`) as Promise<T>;

export async function uiBench(): Promise<Row[]> {
  const rows: Row[] = [];
  const tree = await ensureSearchTree();
  const watches = readFileSync("/proc/sys/fs/inotify/max_user_watches", "utf8").trim();
  const server = await startUi(tree.root);
  const browser = await launchBrowser();
  try {
    const { page } = browser;
    const cdp = await browser.context.newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Performance.enable");
    const bytes = new Map<string, number>();
    const urls = new Map<string, string>();
    cdp.on("Network.requestWillBeSent", (e) => urls.set(e.requestId, e.request.url));
    cdp.on("Network.loadingFinished", (e) =>
      bytes.set(urls.get(e.requestId) ?? e.requestId, e.encodedDataLength),
    );

    const ids = tree.experimentIds.join(",");
    const window = `${server.url}/_mlruns/api/runs?${tree.experimentIds.map((id) => `experiment_id=${id}`).join("&")}&limit=1`;
    const started = performance.now();
    await getText(window);
    rows.push({
      what: `first window of ${tree.runs.toLocaleString("en")} runs, server just started (index file on disk)`,
      ours: ms(performance.now() - started),
      mlflow: "",
      ratio: "",
    });

    // First paint: navigation start to the first rows drawn.
    const paints: number[] = [];
    for (let i = 0; i < 3; i++) {
      bytes.clear();
      await page.goto("about:blank");
      await page.goto(`${server.url}/#/runs?e=${ids}&c=p:p1,m:m0,m:m3`);
      await page.waitForSelector(".tbody .tr[data-run-id]");
      paints.push(await inPage<number>(page, "() => performance.now()"));
    }
    rows.push({
      what: `first table paint, ${tree.runs.toLocaleString("en")} runs (median of 3)`,
      ours: ms(median(paints)),
      mlflow: "",
      ratio: "goal < 1 s",
    });
    const assets = [...bytes].filter(
      ([url]) => !url.includes("/_mlruns/") && !url.includes("/ajax-api/"),
    );
    const assetBytes = assets.reduce((s, [, b]) => s + b, 0);
    const apiBytes = [...bytes]
      .filter(([url]) => url.includes("/_mlruns/api/"))
      .reduce((s, [, b]) => s + b, 0);
    rows.push({
      what: `bytes shipped for the first page: page, script, style (brotli); ${assets.length} files`,
      ours: kb(assetBytes),
      mlflow: "",
      ratio: "goal < 200 KB",
    });
    rows.push({
      what: "bytes of the first table window (100 rows, 3 chosen columns)",
      ours: kb(apiBytes),
      mlflow: "",
      ratio: "",
    });

    const filters = [
      "metrics.m3 > 0.5 and params.p1 = 'v7'",
      "params.p2 = 'v3'",
      "metrics.m0 < 0.1",
      "tags.team = 'cv' and metrics.m1 > 0.9",
      "",
    ];
    const trips: number[] = [];
    for (const filter of filters) trips.push(await inPage<number>(page, FILTER_ROUND_TRIP, filter));
    rows.push({
      what: `filter round trip, ${tree.runs.toLocaleString("en")} runs (median of ${filters.length}; Enter to rows shown)`,
      ours: ms(median(trips)),
      mlflow: "",
      ratio: "goal < 200 ms",
    });

    await page.waitForSelector(".tbody .tr[data-run-id]");
    const frames = await inPage<number[]>(page, SCROLL_FRAMES, { frames: 300, step: 900 });
    rows.push({
      what: "scrolling, 900 px a frame for 300 frames: median / p95 / max frame",
      ours: `${ms(median(frames))} / ${ms(percentile(frames, 0.95))} / ${ms(Math.max(...frames))}`,
      mlflow: "",
      ratio: `${frames.filter((f) => f > 1000 / 30).length} frames over 33 ms`,
    });
    const jump = await inPage<number>(page, JUMP);
    rows.push({
      what: "jump to the middle of the table until its rows are filled",
      ours: ms(jump),
      mlflow: "",
      ratio: "",
    });

    const metrics = (await cdp.send("Performance.getMetrics")).metrics;
    const metric = (name: string) => metrics.find((m) => m.name === name)?.value ?? Number.NaN;
    rows.push({
      what: `page memory with ${tree.runs.toLocaleString("en")} runs after scrolling: JS heap, DOM nodes`,
      ours: `${(metric("JSHeapUsedSize") / 2 ** 20).toFixed(1)} MB, ${metric("Nodes")} nodes`,
      mlflow: "",
      ratio: "",
    });
  } finally {
    await browser.close();
    await server.stop();
  }

  if (!routes.some((r) => r.path.endsWith("/metrics/get-history-bulk-interval"))) {
    // The page would fall back to whole histories: 10 million points as JSON measure nothing.
    rows.push({
      what: `chart of ${CHART_RUNS} runs x ${CHART_POINTS.toLocaleString("en")} points`,
      ours: "n/a",
      mlflow: "",
      ratio: "the server has no get-history-bulk-interval yet",
    });
    return rows;
  }
  const chart = await ensureChartTree();
  const chartServer = await startUi(chart.root);
  const chartBrowser = await launchBrowser();
  try {
    const { page } = chartBrowser;
    const draws: number[] = [];
    for (let i = 0; i < 3; i++) {
      await page.goto("about:blank");
      await page.goto(
        `${chartServer.url}/#/runs?e=${chart.experimentId}&v=charts&k=loss&sel=${chart.runIds.join(",")}`,
      );
      const drawn = await page
        .waitForSelector("figure.chart[data-draw-ms]", { timeout: 120_000 })
        .then((el) => el.getAttribute("data-draw-ms"))
        .catch(
          async () =>
            `failed: ${(await page.textContent("figure.chart .error").catch(() => "")) ?? "no chart"}`,
        );
      if (drawn === null || drawn.startsWith("failed")) {
        rows.push({
          what: `chart of ${CHART_RUNS} runs x ${CHART_POINTS.toLocaleString("en")} points`,
          ours: String(drawn),
          mlflow: "",
          ratio: "",
        });
        return rows;
      }
      draws.push(Number(drawn));
    }
    rows.push({
      what: `chart of ${CHART_RUNS} runs x ${CHART_POINTS.toLocaleString("en")} points: asked to drawn (median of 3)`,
      ours: ms(median(draws)),
      mlflow: "",
      ratio: "goal < 500 ms",
    });
  } finally {
    await chartBrowser.close();
    await chartServer.stop();
  }
  rows.push({
    what: `(fs.inotify.max_user_watches was ${watches})`,
    ours: "",
    mlflow: "",
    ratio: "",
  });
  return rows;
}
