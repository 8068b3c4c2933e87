/**
 * The browser tests' parts: the built `mlruns ui` over a tree, on 127.0.0.1 and a free port, and
 * a real headless Chromium (Debian's, through playwright-core) with the flags this closed
 * network needs and a fresh profile. Every request the page makes is recorded, so a test can
 * prove that none left 127.0.0.1.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { REPO_ROOT } from "./mlflow-env.ts";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Every URL the page asked for. */
  requests: string[];
  /** Uncaught errors in the page. */
  errors: string[];
  close(): Promise<void>;
}

export async function launchBrowser(options: { dark?: boolean } = {}): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), "mlruns-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1400, height: 900 },
    colorScheme: options.dark ? "dark" : "light",
    timezoneId: "UTC",
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const requests: string[] = [];
  context.on("request", (request) => requests.push(request.url()));
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  return {
    context,
    page,
    requests,
    errors,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

export interface UiServer {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string;
  /** The server's process. */
  pid: number;
  stop(): Promise<void>;
}

/**
 * `mlruns ui <root> --port 0 --no-open --json`, as a user runs it; resolves once it listens.
 * `env` is added to the server's environment (e.g. XDG_CACHE_HOME for an empty cache).
 */
export function startUi(root: string, env: Record<string, string> = {}): Promise<UiServer> {
  const cli = join(REPO_ROOT, "dist", "cli", "mlruns.js");
  const child: ChildProcess = spawn(
    process.execPath,
    [cli, "ui", root, "--port", "0", "--no-open", "--json"],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } },
  );
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  return new Promise((ready, fail) => {
    let out = "";
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString();
      let url: string;
      let pid: number;
      try {
        ({ url, pid } = JSON.parse(out) as { url: string; pid: number });
      } catch {
        return; // not all of it yet
      }
      ready({
        url: url.replace(/\/$/, ""),
        pid,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            child.once("exit", () => done());
            child.kill("SIGTERM");
          }),
      });
    });
    child.once("exit", (code) => fail(new Error(`mlruns ui exited with ${code}: ${stderr}`)));
  });
}

/** Where screenshots go: MLRUNS_SCREENSHOTS (the README's pictures), else an ignored folder. */
export function screenshotPath(name: string): string {
  const dir = resolve(REPO_ROOT, process.env.MLRUNS_SCREENSHOTS ?? ".cache/screenshots");
  mkdirSync(dir, { recursive: true });
  return join(dir, name);
}

/** Every request went to the UI's own origin (or stayed inside the page: data:, blob:). */
export function foreignRequests(requests: string[], url: string): string[] {
  const origin = new URL(url).origin;
  return requests.filter((r) => !r.startsWith(`${origin}/`) && !/^(data|blob):/.test(r));
}

/**
 * How many of `colors` (CSS hex) appear on a canvas, each in at least `minPixels` pixels: the
 * number of runs a chart actually drew.
 */
export async function colorsDrawn(
  page: Page,
  selector: string,
  colors: string[],
  minPixels = 20,
): Promise<number> {
  return page.$eval(
    selector,
    (canvas, args) => {
      const { colors, minPixels } = args as { colors: string[]; minPixels: number };
      // The page's canvas (the test's TypeScript has no DOM types).
      const el = canvas as unknown as {
        width: number;
        height: number;
        getContext(
          kind: "2d",
        ): { getImageData(...box: number[]): { data: Uint8ClampedArray } } | null;
      };
      const ctx = el.getContext("2d");
      if (!ctx) return 0;
      const { data } = ctx.getImageData(0, 0, el.width, el.height);
      const rgb = colors.map((c) => [1, 3, 5].map((i) => Number.parseInt(c.slice(i, i + 2), 16)));
      const counts = rgb.map(() => 0);
      for (let i = 0; i < data.length; i += 4) {
        if ((data[i + 3] as number) < 200) continue;
        rgb.forEach(([r, g, b], k) => {
          if (
            Math.abs((data[i] as number) - (r as number)) < 12 &&
            Math.abs((data[i + 1] as number) - (g as number)) < 12 &&
            Math.abs((data[i + 2] as number) - (b as number)) < 12
          ) {
            counts[k] = (counts[k] as number) + 1;
          }
        });
      }
      return counts.filter((n) => n >= minPixels).length;
    },
    { colors, minPixels },
  );
}

/** Runs `code` (an ES module body with `FileStore` in scope) in a separate Node process. */
export function inAnotherProcess(code: string): Promise<string> {
  const library = join(REPO_ROOT, "dist", "src", "index.js");
  const source = `import { FileStore } from ${JSON.stringify(library)};\n${code}`;
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", source], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      err += c.toString();
    });
    child.once("exit", (code) => (code === 0 ? done(out.trim()) : fail(new Error(err))));
  });
}

const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** axe-core's WCAG 2 A and AA violations on the page as it is now (`id (nodes)` each). */
export async function axeViolations(page: Page): Promise<string[]> {
  // Evaluated through the debugger protocol: the page's CSP rightly refuses inline scripts.
  await page.evaluate(AXE);
  return page.evaluate(async () => {
    const axe = (
      globalThis as unknown as {
        axe: { run(o: unknown): Promise<{ violations: { id: string; nodes: unknown[] }[] }> };
      }
    ).axe;
    const result = await axe.run({ runOnly: ["wcag2a", "wcag2aa"] });
    return result.violations.map((v) => `${v.id} (${v.nodes.length})`);
  });
}
