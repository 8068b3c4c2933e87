import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import LongestGroupsFirst from "./test/sequencer.ts";

/**
 * Test groups: `unit` needs nothing but Node; `compat` runs the real MLflow (the set-up creates
 * its Python environments on first use); `e2e` spawns the built CLI; `slow` holds the long
 * crash and concurrency trials; `browser` opens the built web UI in a real headless Chromium
 * (installed by its set-up when missing); `cloud` runs artifact stores against real S3, GCS and
 * Azure emulators (installed on first use). `npm test` runs them all.
 *
 * The groups run side by side, two more files at a time than there are cores (vitest's default
 * is one fewer, a single file on two cores): most files spend much of their time waiting for the
 * processes they start (MLflow, Python, the CLI, the writers they kill) or for the faults they
 * stage (a server held 30 s, requests left hanging); with one file more, the cores still sat
 * nearly a third idle. `--maxWorkers` overrides it.
 */
export default defineConfig({
  // Tests import the package by its name, as users do, but from source.
  resolve: { alias: { mlruns: fileURLToPath(new URL("./src/index.ts", import.meta.url)) } },
  test: {
    maxWorkers: availableParallelism() + 2,
    // Long histories keep their summaries in the user's cache (history-summary.ts): the tests'
    // go to the checkout's own, not the home folder, one folder per temporary tree they made.
    env: { XDG_CACHE_HOME: fileURLToPath(new URL("./.cache/xdg", import.meta.url)) },
    sequence: { sequencer: LongestGroupsFirst },
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["test/**/*.test.ts"],
          exclude: [
            "test/compat/**",
            "test/e2e/**",
            "test/slow/**",
            "test/browser/**",
            "test/cloud/**",
          ],
          // Not a speed limit (the benchmarks measure speed): a loaded machine runs a test that
          // takes a second here for far longer than the 5 s default.
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: "compat",
          include: ["test/compat/**/*.test.ts"],
          globalSetup: ["test/compat/setup.ts", "test/helpers/shared-mlflow-setup.ts"],
          testTimeout: 300_000,
          hookTimeout: 900_000,
        },
      },
      {
        extends: true,
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          globalSetup: ["test/helpers/shared-mlflow-setup.ts"],
          testTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: "browser",
          include: ["test/browser/**/*.test.ts"],
          globalSetup: ["test/browser/setup.ts"],
          // A page answers in milliseconds; a busy machine needs more than the 1 s default.
          expect: { poll: { timeout: 10_000 } },
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: "cloud",
          include: ["test/cloud/**/*.test.ts"],
          globalSetup: ["test/cloud/setup.ts"],
          testTimeout: 300_000,
          hookTimeout: 900_000,
        },
      },
      {
        extends: true,
        test: {
          name: "slow",
          include: ["test/slow/**/*.test.ts"],
          globalSetup: ["test/compat/setup.ts"],
          // The trials take as long as the machine's load makes them (200 crash trials took 15+
          // minutes beside 20 other processes on two cores); a stuck writer fails its own trial
          // within two minutes (test/slow/writer.ts).
          testTimeout: 3_600_000,
          hookTimeout: 900_000,
        },
      },
    ],
  },
});
