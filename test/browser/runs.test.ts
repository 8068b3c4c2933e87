/**
 * The experiments list and the runs table in a real Chromium, over a tree with known runs,
 * served by the built `mlruns ui`: what a person sees (rows, values, the filter and its caret
 * error, sort, folding, columns, selection, keyboard, the URL), live changes made by another
 * process, accessibility, and that no request leaves 127.0.0.1.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatNumber } from "../../ui/src/format.ts";
import {
  axeViolations,
  type Browser,
  foreignRequests,
  inAnotherProcess,
  launchBrowser,
  screenshotPath,
  startUi,
  type UiServer,
} from "../helpers/chromium.ts";
import { lossAt, SWEEP, type UiTree, writeUiTree } from "../helpers/ui-tree.ts";

/** Names of the runs rows on screen, top to bottom. */
async function rowNames(page: Page): Promise<string[]> {
  return page.$$eval(".tbody .tr[data-run-id]", (rows) =>
    rows
      .map((r) => ({ y: (r as unknown as { offsetTop: number }).offsetTop, r }))
      .sort((a, b) => a.y - b.y)
      .map(({ r }) => r.querySelector(".name a")?.textContent ?? ""),
  );
}

async function cellOf(page: Page, run: string, header: string): Promise<string> {
  const headers = await page.$$eval(".thead .th", (ths) =>
    ths.map((th) => th.textContent?.replace(/[▲▼]/g, "").trim()),
  );
  const index = headers.indexOf(header);
  if (index < 0) throw new Error(`no column ${header} in ${headers.join(", ")}`);
  const row = page.locator(".tbody .tr", {
    has: page.locator(".name a", { hasText: new RegExp(`^${run}$`) }),
  });
  return (await row.locator(".td").nth(index).textContent()) ?? "";
}

describe("the runs table in a browser", () => {
  let dir: string;
  let tree: UiTree;
  let server: UiServer;
  let browser: Browser;
  let page: Page;
  const runs = (params: string) => `${server.url}#/runs?e=${tree.experimentId}${params}`;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mlruns-ui-"));
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

  it("lists the experiments with their run counts", async () => {
    await page.goto(server.url);
    const table = page.locator("table.experiments tbody tr");
    await expect.poll(() => table.count()).toBe(3);
    const rows = await table.evaluateAll((trs) =>
      trs.map((tr) =>
        [...tr.querySelectorAll("td")].slice(1, 3).map((td) => td.textContent?.trim()),
      ),
    );
    expect(rows).toContainEqual(["vision/resnet", "9"]);
    expect(rows).toContainEqual(["nlp/bert", "2"]);
    expect(rows).toContainEqual(["Default", "0"]);
    await page.fill("[data-search]", "bert");
    await expect.poll(() => table.count()).toBe(1);
    expect(page.url()).toContain("q=bert");
  });

  it("shows the runs newest first, parents folded, with the values logged", async () => {
    await page.goto(runs("&c=p:lr,m:loss"));
    await expect.poll(() => rowNames(page)).toEqual(["diverged", "sweep", "baseline"]);
    expect(await cellOf(page, "baseline", "lr")).toBe("0.05");
    expect(await cellOf(page, "baseline", "loss")).toBe(
      formatNumber(2 * Math.exp(-(199 / 60)) + 0.2),
    );
    expect(await cellOf(page, "diverged", "Status")).toBe("FAILED");
    expect(await cellOf(page, "diverged", "loss")).toBe("NaN");
    await expect.poll(() => page.textContent("[data-testid=run-count]")).toBe("9 runs");
  });

  it("unfolds a sweep's children under their parent", async () => {
    await page.click('button.fold[aria-label^="Unfold 6 child runs of sweep"]');
    await expect.poll(async () => (await rowNames(page)).length).toBe(9);
    const names = await rowNames(page);
    expect(names.slice(0, 2)).toEqual(["diverged", "sweep"]);
    expect(names.slice(2, 8).sort()).toEqual([
      "lr-0.01-d18",
      "lr-0.01-d50",
      "lr-0.03-d18",
      "lr-0.03-d50",
      "lr-0.1-d18",
      "lr-0.1-d50",
    ]);
    expect(names[8]).toBe("baseline");
    expect(page.url()).toContain(`x=${tree.parentId}`);
  });

  it("sorts by a metric column, both ways", async () => {
    await page.goto(runs(`&f=${encodeURIComponent("params.optimizer = 'adam'")}&c=m:loss`));
    await expect.poll(async () => (await rowNames(page)).length).toBe(6);
    const losses = async () => {
      const out: number[] = [];
      for (const name of await rowNames(page)) out.push(Number(await cellOf(page, name, "loss")));
      return out;
    };
    const final = SWEEP.map((_p, i) => lossAt(i, 199));
    await page.click(".thead button.sort:text-is('loss')");
    await expect.poll(() => decodeURIComponent(page.url())).toContain("o=metrics.`loss`+DESC");
    const descending = [...final].sort((a, b) => b - a).map((v) => Number(formatNumber(v)));
    await expect.poll(losses).toEqual(descending);
    expect(await page.getAttribute(".thead .th:has(button:text-is('loss'))", "aria-sort")).toBe(
      "descending",
    );
    await page.click(".thead button.sort:text-is('loss')");
    await expect.poll(losses).toEqual([...descending].reverse());
  });

  it("shows MLflow's message with a caret for an invalid filter, and keeps the rows", async () => {
    await page.goto(runs(""));
    await expect.poll(() => rowNames(page)).toEqual(["diverged", "sweep", "baseline"]);
    await page.fill("#filter-input", "metrics.loss >> 1");
    await page.press("#filter-input", "Enter");
    const error = page.locator("#filter-error pre");
    await expect.poll(() => error.count()).toBe(1);
    const lines = ((await error.textContent()) ?? "").split("\n");
    expect(lines[0]).toMatch(/comparator '>>'/);
    expect(lines[1]).toBe("metrics.loss >> 1");
    expect(lines[2]).toBe(`${" ".repeat("metrics.loss ".length)}^`);
    expect(await page.textContent("#filter-error p")).toMatch(
      /^A filter is clauses joined with AND/,
    );
    expect(await page.getAttribute("#filter-input", "aria-invalid")).toBe("true");
    expect(await rowNames(page)).toEqual(["diverged", "sweep", "baseline"]);
  });

  it("narrows the rows with a valid filter; children whose parent is filtered out stand alone", async () => {
    await page.fill("#filter-input", "params.depth = '50'");
    await page.press("#filter-input", "Enter");
    await expect
      .poll(async () => (await rowNames(page)).sort())
      .toEqual(["lr-0.01-d50", "lr-0.03-d50", "lr-0.1-d50"]);
    expect(await page.locator("#filter-error").count()).toBe(0);
    await expect.poll(() => page.textContent("[data-testid=run-count]")).toBe("3 runs");
  });

  it("applies a filter set and submitted in one go (a paste and Enter, a script)", async () => {
    await page.evaluate(`(() => {
      const input = document.querySelector("#filter-input");
      input.value = "attributes.run_name LIKE '%-d18'";
      input.dispatchEvent(new Event("input", { bubbles: true }));
      input.form.requestSubmit();
    })()`);
    await expect
      .poll(async () => (await rowNames(page)).sort())
      .toEqual(["lr-0.01-d18", "lr-0.03-d18", "lr-0.1-d18"]);
  });

  it("adds a metric's min and max from the column picker", async () => {
    await page.goto(
      runs(`&x=${tree.parentId}&f=${encodeURIComponent("attributes.run_name LIKE 'lr-%'")}`),
    );
    await expect.poll(async () => (await rowNames(page)).length).toBe(6);
    await page.click("button:text-is('Columns')");
    const metric = page.locator(".picker-metric", { hasText: "loss" });
    await metric.locator("label:has-text('max') input").check();
    await metric.locator("label:has-text('min') input").check();
    await page.click("button:text-is('Done')");
    const spike = Math.max(...Array.from({ length: 200 }, (_, s) => lossAt(0, s)));
    const low = Math.min(...Array.from({ length: 200 }, (_, s) => lossAt(0, s)));
    await expect.poll(() => cellOf(page, "lr-0.1-d18", "loss (max)")).toBe(formatNumber(spike));
    expect(await cellOf(page, "lr-0.1-d18", "loss (min)")).toBe(formatNumber(low));
    expect(page.url()).toContain("c=m%3Aloss%3Amax%2Cm%3Aloss%3Amin");
  });

  it("reproduces a view from its URL: filter, order, columns, selection", async () => {
    const [a, b] = tree.childIds as [string, string];
    const url = runs(
      `&f=${encodeURIComponent("params.depth = '18'")}&o=${encodeURIComponent("params.`lr` ASC")}&c=p:lr,p:depth&sel=${a},${b}`,
    );
    await page.goto("about:blank");
    await page.goto(url);
    // Params are strings, ordered as strings (MLflow's rule): "0.05" comes before "0.1".
    await expect
      .poll(() => rowNames(page))
      .toEqual(["lr-0.01-d18", "lr-0.03-d18", "baseline", "lr-0.1-d18", "diverged"]);
    expect(await page.inputValue("#filter-input")).toBe("params.depth = '18'");
    expect(await page.getAttribute(".thead .th:has(button:text-is('lr'))", "aria-sort")).toBe(
      "ascending",
    );
    const checked = await page.$$eval(".tbody .tr.selected .name a", (as) =>
      as.map((x) => x.textContent).sort(),
    );
    expect(checked).toEqual(["lr-0.03-d18", "lr-0.1-d18"]);
    expect(await page.textContent("button:has-text('Compare')")).toContain("2");
  });

  it("shows deleted runs on request", async () => {
    await page.goto(runs(""));
    await expect.poll(async () => (await rowNames(page)).includes("scratch")).toBe(false);
    await page.check("label:has-text('Show deleted') input");
    await expect.poll(async () => (await rowNames(page)).includes("scratch")).toBe(true);
    expect(await page.locator(".tr.deleted .name a", { hasText: "scratch" }).count()).toBe(1);
  });

  it("works from the keyboard: j and k move, x selects, Enter opens the run", async () => {
    await page.goto(runs(""));
    await expect.poll(() => rowNames(page)).toEqual(["diverged", "sweep", "baseline"]);
    await page.focus(".table-scroll");
    await page.keyboard.press("j");
    await page.keyboard.press("j");
    await page.keyboard.press("k");
    await page.keyboard.press("x");
    await expect.poll(() => page.url()).toContain(`sel=${tree.parentId}`);
    await page.keyboard.press("Enter");
    await expect.poll(() => page.url()).toContain(`#/run/${tree.parentId}`);
    await expect.poll(() => page.textContent("h1")).toBe("sweep");
  });

  it("compares the selected runs: differing params only, metric deltas", async () => {
    const ids = (tree.childIds.slice(0, 3) as string[]).join(",");
    await page.goto(runs(`&x=${tree.parentId}&sel=${ids}`));
    await page.click("button:has-text('Compare 3')");
    await expect.poll(() => decodeURIComponent(page.url())).toContain(`#/compare?r=${ids}`);
    const params = page.locator(
      "#compare-params ~ * table tbody th, section[aria-labelledby=compare-params] tbody th",
    );
    await expect.poll(() => params.allTextContents()).toEqual(["lr"]);
    await page.uncheck("label:has-text('Only differing') input");
    await expect.poll(() => params.allTextContents()).toEqual(["depth", "lr", "optimizer"]);
    const accuracy = page.locator("section[aria-labelledby=compare-metrics] tr", {
      has: page.locator("th", { hasText: /^accuracy$/ }),
    });
    await expect
      .poll(() => accuracy.locator("td").allTextContents())
      .toEqual(["0.7", "0.74 (+0.04)", "0.78 (+0.08)"]);
  });

  it("saves the runs table screenshot", async () => {
    await page.setViewportSize({ width: 1400, height: 640 });
    await page.goto(
      runs(`&x=${tree.parentId}&c=p:lr,p:depth,m:loss,m:accuracy&sel=${tree.childIds[2]}`),
    );
    await expect.poll(async () => (await rowNames(page)).length).toBe(9);
    await page.screenshot({ path: screenshotPath("runs-table.png") });
    await page.setViewportSize({ width: 1400, height: 900 });
  });

  it("shows a run another process creates, and its status when it ends, within 2 s", async () => {
    await page.goto(runs(""));
    await expect.poll(() => rowNames(page)).toEqual(["diverged", "sweep", "baseline"]);
    const id = await inAnotherProcess(`
      const store = new FileStore(${JSON.stringify(tree.root)});
      const run = await store.createRun({ experimentId: ${JSON.stringify(tree.experimentId)}, runName: "live-run" });
      await store.logBatch(run.info.runId, { metrics: [{ key: "loss", value: 0.5, timestamp: Date.now(), step: 1 }] });
      console.log(run.info.runId);
    `);
    await expect.poll(() => rowNames(page), { timeout: 2000 }).toContain("live-run");
    expect(await cellOf(page, "live-run", "Status")).toBe("RUNNING");
    await inAnotherProcess(`
      const store = new FileStore(${JSON.stringify(tree.root)});
      await store.updateRun(${JSON.stringify(id)}, { status: "FINISHED", endTime: Date.now() });
    `);
    await expect.poll(() => cellOf(page, "live-run", "Status"), { timeout: 2000 }).toBe("FINISHED");
  });

  it("passes an accessibility check (WCAG 2 A and AA) on the experiments and the runs", async () => {
    await page.goto(server.url);
    await expect.poll(() => page.locator("table.experiments tbody tr").count()).toBeGreaterThan(0);
    expect(await axeViolations(page)).toEqual([]);
    await page.goto(runs(`&x=${tree.parentId}&c=p:lr,m:loss`));
    await expect.poll(async () => (await rowNames(page)).length).toBe(10);
    expect(await axeViolations(page)).toEqual([]);
    const dark = await launchBrowser({ dark: true });
    try {
      await dark.page.goto(runs(`&x=${tree.parentId}&c=p:lr,m:loss`));
      await expect.poll(async () => (await rowNames(dark.page)).length).toBe(10);
      expect(await axeViolations(dark.page)).toEqual([]);
    } finally {
      await dark.close();
    }
  });

  it("made no request outside 127.0.0.1, and the page threw nothing", () => {
    expect(browser.requests.length).toBeGreaterThan(20);
    expect(foreignRequests(browser.requests, server.url)).toEqual([]);
    expect(browser.errors).toEqual([]);
  });
});
