/**
 * A run's page, its artifacts, the compare page's plots and the registry pages in a real
 * Chromium over the built `mlruns ui`: the values a person reads, the previews of each kind of
 * file, markdown that cannot run a script, and plots that actually drew.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  axeViolations,
  type Browser,
  foreignRequests,
  launchBrowser,
  screenshotPath,
  startUi,
  type UiServer,
} from "../helpers/chromium.ts";
import { type UiTree, writeUiTree } from "../helpers/ui-tree.ts";

/** `label → value` of a key-value table in the section titled `title`. */
async function keyValues(page: Page, title: string): Promise<Record<string, string>> {
  const section = page.locator("section.card", { has: page.locator("h2", { hasText: title }) });
  const rows = await section
    .locator("table.kv tr")
    .evaluateAll((trs) =>
      trs.map((tr) => [
        tr.querySelector("th")?.textContent?.trim() ?? "",
        tr.querySelector("td")?.textContent?.trim() ?? "",
      ]),
    );
  return Object.fromEntries(rows);
}

/** Pixels of a canvas that are not transparent. */
function inkOf(page: Page, selector: string): Promise<number> {
  return page.$eval(selector, (canvas) => {
    const el = canvas as unknown as {
      width: number;
      height: number;
      getContext(
        kind: "2d",
      ): { getImageData(...box: number[]): { data: Uint8ClampedArray } } | null;
    };
    const data =
      el.getContext("2d")?.getImageData(0, 0, el.width, el.height).data ?? new Uint8ClampedArray();
    let ink = 0;
    for (let i = 3; i < data.length; i += 4) if ((data[i] as number) > 0) ink++;
    return ink;
  });
}

describe("a run's page, artifacts, compare and registry in a browser", () => {
  let dir: string;
  let tree: UiTree;
  let server: UiServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mlruns-ui-run-"));
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

  it("shows the run's info, params, tags, dataset and latest metrics", async () => {
    await page.goto(`${server.url}/#/run/${tree.baselineId}`);
    await expect.poll(() => page.textContent("h1")).toBe("baseline");
    const info = await keyValues(page, "Run");
    expect(info).toMatchObject({
      "Run id": tree.baselineId,
      Status: "FINISHED",
      Source: "train.py",
    });
    expect(await keyValues(page, "Params")).toEqual({ depth: "18", lr: "0.05", optimizer: "sgd" });
    expect(await keyValues(page, "Tags")).toEqual({ team: "vision" });
    const metrics = page.locator("section[aria-labelledby=run-metrics] tr");
    expect(await metrics.locator("th").allTextContents()).toEqual(["accuracy", "loss"]);
    expect(await metrics.nth(0).locator("td.num").textContent()).toBe("0.74875");
    const dataset = page.locator("section[aria-labelledby=run-datasets] tbody td");
    expect(await dataset.allTextContents()).toEqual([
      "imagenet-mini",
      "a1b2c3d4",
      "local /data/imagenet-mini",
      "training",
    ]);
  });

  it("renders the description's markdown, and its HTML only as text", async () => {
    const markdown = page.locator(".markdown");
    await expect.poll(() => markdown.locator("h3").textContent()).toBe("Baseline");
    expect(await markdown.locator("strong").textContent()).toBe("default");
    expect(await markdown.locator("a").getAttribute("href")).toBe(
      "https://arxiv.org/abs/1512.03385",
    );
    expect(await markdown.locator("a").getAttribute("rel")).toBe("noopener noreferrer");
    expect(await page.locator("main script").count()).toBe(0);
    expect(await markdown.textContent()).toContain("<script>alert(1)</script>");
  });

  it("previews JSON pretty, YAML and MLmodel as text, CSV as a table, images as images", async () => {
    const open = async (path: string) => {
      await page.goto(
        `${server.url}/#/run/${tree.baselineId}?t=artifacts&a=${encodeURIComponent(path)}`,
      );
      await page.waitForSelector(`.preview[data-artifact="${path}"]`);
    };
    await open("config.json");
    await expect
      .poll(() => page.textContent(".artifact-text"))
      .toBe(JSON.stringify({ layers: [64, 128], dropout: 0.1 }, null, 2));
    await open("config.yaml");
    await expect.poll(() => page.textContent(".artifact-text")).toContain("model: resnet18");
    await open("model/MLmodel");
    await expect.poll(() => page.textContent(".artifact-text")).toContain("artifact_path: model");
    await open("eval/metrics.csv");
    await expect
      .poll(() => page.locator(".csv th").allTextContents())
      .toEqual(["class", "precision", "recall"]);
    expect(await page.locator(".csv tbody tr").nth(1).locator("td").allTextContents()).toEqual([
      "dog",
      "0.87",
      "0.9",
    ]);
    await open("images/tiny.png");
    await expect
      .poll(() =>
        page.$eval(
          ".artifact-image",
          (img) => (img as unknown as { naturalWidth: number }).naturalWidth,
        ),
      )
      .toBe(2);
    const download = page.locator(".preview a.button", { hasText: "Download" });
    expect(await download.getAttribute("download")).toBe("tiny.png");
    const response = await page.request.get(
      new URL((await download.getAttribute("href")) as string, `${server.url}/`).href,
    );
    expect(response.status()).toBe(200);
    expect((await response.body()).subarray(1, 4).toString()).toBe("PNG");
  });

  it("browses folders: the tree opens where the chosen file is", async () => {
    await page.goto(`${server.url}/#/run/${tree.baselineId}?t=artifacts`);
    const tree_ = page.locator("ul.tree").first();
    await expect
      .poll(() => tree_.locator(":scope > li > button").allTextContents())
      .toEqual(["▸ eval/", "▸ images/", "▸ logs/", "▸ model/", "config.json", "config.yaml"]);
    await page.click("button:text-is('▸ logs/')");
    await page.click("button:text-is('train.log')");
    await expect
      .poll(() => page.textContent(".artifact-text"))
      .toBe("epoch 1 done\nepoch 2 done\n");
    expect(decodeURIComponent(page.url())).toContain("a=logs/train.log");
  });

  it("draws parallel coordinates and a scatter of the compared runs", async () => {
    await page.goto(`${server.url}/#/compare?r=${tree.childIds.join(",")}&sx=p:lr&sy=m:accuracy`);
    await page.waitForSelector("canvas[data-plot=parallel]");
    await expect.poll(() => inkOf(page, "canvas[data-plot=parallel]")).toBeGreaterThan(2000);
    await expect.poll(() => inkOf(page, "canvas[data-plot=scatter]")).toBeGreaterThan(300);
    expect(await page.getAttribute("canvas[data-plot=scatter]", "aria-label")).toBe(
      "accuracy against lr",
    );
    await page.selectOption("label:has-text('Colour by') select", "loss");
    expect(await page.getAttribute("canvas[data-plot=parallel]", "aria-label")).toBe(
      "Differing params against loss",
    );
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.screenshot({ path: screenshotPath("compare.png") });
    await page.setViewportSize({ width: 1400, height: 900 });
  });

  it("lists registered models, and a model's versions linked to their runs", async () => {
    await page.goto(`${server.url}/#/models`);
    const row = page.locator("table.grid tbody tr", { hasText: "resnet-classifier" });
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.textContent()).toContain("@champion → v2");
    expect(await row.textContent()).toContain("task=classification");
    await row.locator("a").click();
    await expect.poll(() => page.locator("table.versions tbody tr").count()).toBe(2);
    const versions = await page
      .locator("table.versions tbody tr")
      .evaluateAll((trs) =>
        trs.map((tr) =>
          [...tr.querySelectorAll("td")].slice(0, 3).map((td) => td.textContent?.trim()),
        ),
      );
    expect(versions).toEqual([
      ["v2", "None", "@champion"],
      ["v1", "Staging", ""],
    ]);
    await page.click("table.versions tbody tr:nth-child(2) a");
    await expect.poll(() => page.textContent("h1")).toBe("baseline");
  });

  it("passes an accessibility check (WCAG 2 A and AA) on the run, compare and model pages", async () => {
    for (const [path, ready] of [
      [`#/run/${tree.baselineId}`, "section[aria-labelledby=run-metrics] tr"],
      [`#/run/${tree.baselineId}?t=artifacts&a=eval/metrics.csv`, ".csv th"],
      [`#/compare?r=${tree.childIds.join(",")}`, "canvas[data-plot=scatter]"],
      ["#/models/resnet-classifier", "table.versions tbody tr"],
    ] as const) {
      await page.goto("about:blank");
      await page.goto(`${server.url}/${path}`);
      await page.waitForSelector(ready);
      expect(await axeViolations(page), path).toEqual([]);
    }
  });

  it("made no request outside 127.0.0.1, and the page threw nothing", () => {
    expect(foreignRequests(browser.requests, server.url)).toEqual([]);
    expect(browser.errors).toEqual([]);
  });
});
