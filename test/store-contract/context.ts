/** What every part of the TrackingStore contract shares: the store under test and its helpers. */
import type { DatasetInput, Metric, Run } from "../../src/entities.ts";
import { type ErrorCode, isMlflowError, type MlflowError } from "../../src/errors.ts";
import type { CreateRunOptions, TrackingStore } from "../../src/store/store.ts";

export interface StoreUnderTest {
  store: TrackingStore;
  cleanup?: () => Promise<void>;
}

export interface ContractOptions {
  /** Test name → why this store cannot pass it. */
  skip?: Record<string, string>;
  /** A custom artifact location this store can hold artifacts in (every store must have one). */
  customArtifacts: {
    /** A fresh location for an experiment, unique to `label`. */
    location: (label: string) => string;
    /**
     * The bytes of `path` under a run's artifact URI, read from the storage itself (not through
     * the store): proves the files are where the URI says. Absent for stores without storage.
     */
    stored?: (artifactUri: string, path: string) => Promise<Uint8Array | undefined>;
  };
}

/** The helpers each part of the contract is given. */
export interface Contract {
  /** `it`, or `it.skip` with the reason when the store lists the title in `options.skip`. */
  test: (title: string, fn: () => Promise<void>) => void;
  /** The store of the running test (a fresh one for each test). */
  store: () => TrackingStore;
  /** A name no other test uses, also on a shared server. */
  unique: (label: string) => string;
  newExperiment: (label: string, tags?: Record<string, string>) => Promise<string>;
  newRun: (
    label: string,
    extra?: Omit<CreateRunOptions, "experimentId">,
  ) => Promise<{ experimentId: string; run: Run; runId: string }>;
  /** Writes `files` (relative path → content) under a fresh local folder; returns its path. */
  localTree: (files: Record<string, string | Uint8Array>) => Promise<string>;
  text: (bytes: Uint8Array) => string;
  unknownRunId: () => string;
  UNKNOWN_EXPERIMENT: string;
  options: ContractOptions;
}

/** A fixed, realistic clock for metric points (2023-11-14). */
export const T = 1_700_000_000_000;

/** Awaits `promise`, expects an MlflowError (with one of `codes` if given) and returns it. */
export async function expectMlflowError(
  promise: Promise<unknown>,
  codes?: ErrorCode | ErrorCode[],
): Promise<MlflowError> {
  let outcome: { error: unknown } | undefined;
  try {
    await promise;
  } catch (error) {
    outcome = { error };
  }
  const wanted = codes === undefined ? undefined : ([] as ErrorCode[]).concat(codes);
  if (outcome === undefined) {
    throw new Error(
      `expected an MlflowError${wanted ? ` (${wanted.join(" or ")})` : ""}, but it resolved`,
    );
  }
  const { error } = outcome;
  if (!isMlflowError(error)) {
    throw new Error(`expected an MlflowError, got: ${String(error)}`, { cause: error });
  }
  if (wanted !== undefined && !wanted.includes(error.code)) {
    throw new Error(`expected ${wanted.join(" or ")}, got ${error.code}: ${error.message}`, {
      cause: error,
    });
  }
  return error;
}

export const point = (key: string, value: number, timestamp: number, step: number): Metric => ({
  key,
  value,
  timestamp,
  step,
});

/** (step, timestamp, value) of a metric, for compact comparisons. */
export const sv = (m: Metric | undefined) =>
  m === undefined ? undefined : [m.step, m.timestamp, m.value];

export const iris = (digest = "a1b2c3d4"): DatasetInput["dataset"] => ({
  name: "iris",
  digest,
  sourceType: "local",
  source: '{"uri": "data/iris.csv"}',
  schema: null,
  profile: null,
});
