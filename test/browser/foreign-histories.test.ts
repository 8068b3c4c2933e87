/**
 * A table of runs whose long histories another program wrote, in a real Chromium over the built
 * `mlruns ui`: while the table is on screen the server sums up those histories (no chart asked
 * yet), so the chart asked after draws from their summaries.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Browser, launchBrowser, startUi, type UiServer } from "../helpers/chromium.ts";
import {
  type ForeignTree,
  keptLines,
  until,
  WHOLE_LINES,
  writeForeignTree,
} from "../helpers/foreign-tree.ts";

describe("long histories another program wrote", () => {
  let dir: string;
  let tree: ForeignTree;
  let cache: string;
  let server: UiServer;
  let browser: Browser;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mlruns-ui-foreign-"));
    tree = await writeForeignTree(join(dir, "mlruns"), 2);
    cache = join(dir, "cache");
    server = await startUi(tree.root, { XDG_CACHE_HOME: cache });
    browser = await launchBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("are summed up while their runs' table is on screen, before any chart asks; the chart then draws", async () => {
    const { page } = browser;
    await page.goto(`${server.url}/#/runs?e=${tree.experimentId}`);
    await page.waitForSelector(".tbody .tr[data-run-id]");
    await until(() => tree.files.every((file) => keptLines(file, cache) === WHOLE_LINES));
    const asked: string[] = [];
    page.on("request", (request) => asked.push(request.url()));
    await page.goto(
      `${server.url}/#/runs?e=${tree.experimentId}&v=charts&k=loss&sel=${tree.ids.join(",")}`,
    );
    await page.waitForSelector("figure.chart[data-metric=loss][data-drawn] canvas");
    expect(asked.some((url) => url.includes("get-history-bulk-interval"))).toBe(true);
  }, 120_000);
});
