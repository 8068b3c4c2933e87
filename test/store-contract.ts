/**
 * The behaviour every TrackingStore owes: one suite, run against FileStore, MemoryStore and
 * RestStore (the last against a real MLflow server). Each test makes its own experiment with a
 * unique name, so the suite also runs against a shared server. A store that cannot pass a test
 * lists it in `options.skip` with the reason; a skip naming no test fails the suite.
 *
 * Comments marked "server:" note where a real MLflow server behaves differently from MLflow's
 * FileStore, for whoever writes the RestStore's skips or mapping.
 */
import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { CreateRunOptions, TrackingStore } from "../src/store/store.ts";
import { artifactsContract } from "./store-contract/artifacts.ts";
import type { Contract, ContractOptions, StoreUnderTest } from "./store-contract/context.ts";
import { experimentsContract } from "./store-contract/experiments.ts";
import { historyPagesContract } from "./store-contract/history-pages.ts";
import { inputsContract } from "./store-contract/inputs.ts";
import { metricsContract } from "./store-contract/metrics.ts";
import { runDataContract } from "./store-contract/run-data.ts";
import { runsContract } from "./store-contract/runs.ts";
import { sampledHistoryContract } from "./store-contract/sampled-history.ts";
import { checksContract } from "./store-contract-checks.ts";

export {
  type ContractOptions,
  expectMlflowError,
  type StoreUnderTest,
} from "./store-contract/context.ts";

export function describeTrackingStore(
  name: string,
  makeStore: () => Promise<StoreUnderTest>,
  options: ContractOptions,
): void {
  const skip = options.skip ?? {};
  const skipped = new Set<string>();
  const test = (title: string, fn: () => Promise<void>) => {
    const reason = skip[title];
    if (reason === undefined) return it(title, fn);
    skipped.add(title);
    return it.skip(`${title} (skipped: ${reason})`, fn);
  };

  describe(`TrackingStore contract: ${name}`, () => {
    let current: StoreUnderTest | undefined;
    let scratch = "";
    const store = (): TrackingStore => {
      if (current === undefined) throw new Error("no store");
      return current.store;
    };
    const unique = (label: string) => `contract-${label}-${randomUUID()}`;
    const newExperiment = (label: string, tags?: Record<string, string>) =>
      store().createExperiment(unique(label), tags === undefined ? {} : { tags });
    const newRun = async (label: string, extra: Omit<CreateRunOptions, "experimentId"> = {}) => {
      const experimentId = await newExperiment(label);
      const run = await store().createRun({ experimentId, ...extra });
      return { experimentId, run, runId: run.info.runId };
    };
    /** Writes `files` (relative path → content) under a fresh local folder; returns its path. */
    const localTree = async (files: Record<string, string | Uint8Array>): Promise<string> => {
      const root = join(scratch, randomUUID());
      await mkdir(root, { recursive: true });
      for (const [path, content] of Object.entries(files)) {
        await mkdir(dirname(join(root, path)), { recursive: true });
        await writeFile(join(root, path), content);
      }
      return root;
    };
    const text = (bytes: Uint8Array) => Buffer.from(bytes).toString("utf8");
    const unknownRunId = () => randomUUID().replaceAll("-", "");
    const UNKNOWN_EXPERIMENT = "999999999999999999";

    beforeAll(async () => {
      scratch = await mkdtemp(join(tmpdir(), "mlruns-contract-"));
    });
    afterAll(async () => {
      await rm(scratch, { recursive: true, force: true });
    });
    beforeEach(async () => {
      current = await makeStore();
    });
    afterEach(async () => {
      await current?.cleanup?.();
      current = undefined;
    });

    const contract: Contract = {
      test,
      store,
      unique,
      newExperiment,
      newRun,
      localTree,
      text,
      unknownRunId,
      UNKNOWN_EXPERIMENT,
      options,
    };
    experimentsContract(contract);
    runsContract(contract);
    metricsContract(contract);
    runDataContract(contract);
    sampledHistoryContract(contract);
    historyPagesContract(contract);
    inputsContract(contract);
    artifactsContract(contract);
    checksContract(contract);

    it("skip list names only tests of this suite", () => {
      expect(Object.keys(skip).filter((title) => !skipped.has(title))).toEqual([]);
    });
  });
}
