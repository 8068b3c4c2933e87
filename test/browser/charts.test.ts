/**
 * Charts in a real Chromium over the built `mlruns ui`: every run drawn (counted by its colour's
 * pixels on the canvas), x as step, wall or relative time, log scale, smoothing, zoom, hover with
 * every run's value, and a point logged by another process appearing within 2 s.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PALETTE } from "../../ui/src/format.ts";
import {
  type Browser,
  colorsDrawn,
  foreignRequests,
  inAnotherProcess,
  launchBrowser,
  screenshotPath,
  startUi,
  type UiServer,
} from "../helpers/chromium.ts";
import { SWEEP, type UiTree, writeUiTree } from "../helpers/ui-tree.ts";

const LOSS = "figure.chart[data-metric=loss]";
const SWEEP_NAMES = SWEEP.map(({ lr, depth }) => `lr-${lr}-d${depth}`);

/** Hovers the plot at a fraction of its width; the tooltip's lines. */
async function hoverAt(page: Page, fraction: number): Promise<string[]> {
  const over = page.locator(`${LOSS} .u-over`);
  const tip = page.locator(`${LOSS} .chart-tip`);
  // A chart redrawn with new data (a zoom's answer) replaces its plot: hover again until the
  // plot there now shows its tip.
  await expect
    .poll(
      async () => {
        const box = await over.boundingBox();
        if (!box) return false;
        await page.mouse.move(0, 0);
        await page.mouse.move(box.x + box.width * fraction, box.y + box.height / 2);
        return tip.isVisible();
      },
      { timeout: 15_000 },
    )
    .toBe(true);
  return tip.locator("div").allTextContents();
}

describe("charts in a browser", () => {
  let dir: string;
  let tree: UiTree;
  let server: UiServer;
  let browser: Browser;
  let page: Page;
  const charts = (params = "", metrics = "loss") =>
    `${server.url}/#/runs?e=${tree.experimentId}&v=charts&k=${metrics}&sel=${tree.childIds.join(",")}${params}`;
  /** Opens `url` in a fresh document and waits for the loss chart's first draw. */
  async function open(url: string): Promise<void> {
    await page.goto("about:blank");
    await page.goto(url);
    await page.waitForSelector(`${LOSS}[data-drawn] canvas`);
  }
  /** Waits for a fresh draw after `action`. */
  async function redrawn(action: () => Promise<unknown>): Promise<void> {
    const before = await page.getAttribute(LOSS, "data-drawn").catch(() => null);
    await action();
    await expect.poll(() => page.getAttribute(LOSS, "data-drawn")).not.toBe(before);
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mlruns-ui-charts-"));
    tree = await writeUiTree(join(dir, "mlruns"));
    server = await startUi(tree.root);
    browser = await launchBrowser();
    page = browser.page;
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("draws every selected run on the chart, and keeps the spike", async () => {
    await open(charts());
    await expect.poll(() => colorsDrawn(page, `${LOSS} canvas`, PALETTE.slice(0, 6))).toBe(6);
    expect(await colorsDrawn(page, `${LOSS} canvas`, PALETTE.slice(6))).toBe(0);
    expect(await page.locator(".legend li").count()).toBe(6);
    const [, ...values] = await hoverAt(page, 120 / 199);
    expect(values).toHaveLength(6);
    expect(values.some((line) => /lr-0\.1-d18 5\.1/.test(line.trim()))).toBe(true);
  });

  it("asks for sampled histories and names the runs from the table's endpoint, never runs/get", async () => {
    // runs/get reads every point of every metric of a run: seconds for a long history, with
    // the server's one thread busy meanwhile.
    const asked = browser.requests.length;
    await open(charts());
    await expect.poll(() => page.locator(".legend li").allTextContents()).toEqual(SWEEP_NAMES);
    const requests = browser.requests.slice(asked);
    expect(requests.filter((u) => u.includes("/metrics/get-history-bulk-interval?"))).toHaveLength(
      1,
    );
    expect(requests.filter((u) => /\/runs\/get\?|\/metrics\/get-history\?/.test(u))).toEqual([]);
  });

  it("shows every run's value on hover, largest first", async () => {
    const [title, ...values] = await hoverAt(page, 0.5);
    expect(title).toMatch(/^step \d+$/);
    const numbers = values.map((line) => Number(line.trim().split(" ").pop()));
    expect(numbers).toHaveLength(6);
    expect(numbers).toEqual([...numbers].sort((a, b) => b - a));
  });

  it("plots against wall time and relative time", async () => {
    await redrawn(() => page.selectOption(".chart-controls select", "wall"));
    expect(await colorsDrawn(page, `${LOSS} canvas`, PALETTE.slice(0, 6))).toBe(6);
    expect((await hoverAt(page, 0.5))[0]).toMatch(/^2026-01-15 \d\d:\d\d:\d\d$/);
    await redrawn(() => page.selectOption(".chart-controls select", "rel"));
    expect((await hoverAt(page, 0.99))[0]).toMatch(/^\d+m \d+s$/);
    expect(decodeURIComponent(page.url())).toContain("xa=rel");
    await redrawn(() => page.selectOption(".chart-controls select", "step"));
  });

  it("draws on a log scale, and smooths with the raw curve faint behind", async () => {
    await redrawn(() => page.check("label:has-text('Log scale') input"));
    expect(await colorsDrawn(page, `${LOSS} canvas`, PALETTE.slice(0, 6))).toBe(6);
    await open(charts("&log=1&s=0.9"));
    expect(await colorsDrawn(page, `${LOSS} canvas`, PALETTE.slice(0, 6))).toBe(6);
    const smoothed = (await hoverAt(page, 120 / 199)).find((l) => l.includes("lr-0.1-d18")) ?? "";
    const value = Number(smoothed.trim().split(" ").pop());
    expect(value).toBeGreaterThan(0.1);
    expect(value).toBeLessThan(2); // the spike of 5.17 is smoothed away
  });

  it("zooms on a dragged range, fetching that range again, and resets on double-click", async () => {
    await open(charts());
    const over = page.locator(`${LOSS} .u-over`);
    const reset = page.locator(`${LOSS} button:text-is('Reset zoom')`);
    const asked = browser.requests.length;
    // Dragged again if the plot was built anew under the mouse (a live refresh) meanwhile.
    await expect
      .poll(
        async () => {
          const box = await over.boundingBox();
          if (!box) return 0;
          await page.mouse.move(box.x + box.width * 0.25, box.y + 20);
          await page.mouse.down();
          await page.mouse.move(box.x + box.width * 0.5, box.y + 20, { steps: 5 });
          await page.mouse.up();
          return reset.count();
        },
        { timeout: 10_000 },
      )
      .toBe(1);
    // The zoomed range is asked again (sampled from the server, or whole from an older one).
    await expect
      .poll(() =>
        browser.requests
          .slice(asked)
          .some(
            (u) => /metrics\/get-history.*metric_key=loss/.test(u) && !u.includes("max_results=60"),
          ),
      )
      .toBe(true);
    const [title] = await hoverAt(page, 0.01);
    expect(Number(title?.split(" ")[1])).toBeGreaterThanOrEqual(45);
    await over.dblclick();
    await expect.poll(() => reset.count()).toBe(0);
  });

  it("saves the charts screenshot", async () => {
    await page.setViewportSize({ width: 1280, height: 720 });
    await open(charts("&s=0.6", "loss,accuracy"));
    await page.screenshot({ path: screenshotPath("charts.png") });
  });

  it("shows a point that another process logs within 2 s", async () => {
    await open(charts());
    expect((await hoverAt(page, 0.999))[0]).toBe("step 199");
    await inAnotherProcess(`
      const store = new FileStore(${JSON.stringify(tree.root)});
      await store.logBatch(${JSON.stringify(tree.childIds[0])}, { metrics: [{ key: "loss", value: 0.01, timestamp: Date.now(), step: 400 }] });
    `);
    await expect
      .poll(async () => (await hoverAt(page, 0.999))[0], { timeout: 2000 })
      .toBe("step 400");
  });

  it("made no request outside 127.0.0.1, and the page threw nothing", () => {
    expect(foreignRequests(browser.requests, server.url)).toEqual([]);
    expect(browser.errors).toEqual([]);
  });
});
