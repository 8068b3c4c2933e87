/**
 * Vitest global set-up for the `browser` project: the build is there (the tests run the built
 * `mlruns ui`), and so is Chromium. A missing Chromium is installed from the system's packages
 * (Debian/Ubuntu: `apt-get install chromium`, as root, as CI runs); when it cannot be, the run
 * fails here, loudly, naming what to install.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { CHROMIUM } from "../helpers/chromium.ts";
import { REPO_ROOT } from "../helpers/mlflow-env.ts";

function install(): void {
  const root = process.getuid?.() === 0;
  if (!root || !existsSync("/usr/bin/apt-get")) {
    throw new Error(
      `Chromium is missing at ${CHROMIUM} and cannot be installed here (needs apt-get as root). ` +
        "Install it (Debian/Ubuntu: sudo apt-get install chromium) or set CHROMIUM_PATH.",
    );
  }
  process.stderr.write("browser tests: installing chromium (apt-get install -y chromium)\n");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  execFileSync("apt-get", ["update"], { stdio: "inherit", env });
  execFileSync("apt-get", ["install", "-y", "--no-install-recommends", "chromium"], {
    stdio: "inherit",
    env,
  });
  if (!existsSync(CHROMIUM))
    throw new Error(`apt-get installed chromium, but ${CHROMIUM} is missing`);
}

export default async function setup(): Promise<void> {
  if (!existsSync(join(REPO_ROOT, "dist", "ui", "assets.json"))) {
    throw new Error("The web UI is not built: run `npm run build` before the browser tests");
  }
  if (!existsSync(CHROMIUM)) install();
}
