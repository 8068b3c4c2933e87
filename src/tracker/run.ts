/**
 * ActiveRun: the handle training code logs through. Metrics are buffered (a synchronous, cheap
 * call); params, tags and artifacts go to the store at once. Ending flushes and sets the status.
 */
import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import { basename, extname, join } from "node:path";
import type { DatasetInput, RunInfo, RunStatus } from "../entities.ts";
import { invalid, MlflowError } from "../errors.ts";
import { type ParamValue, pyStr } from "../py-format.ts";
import type { SyncRunWriter, TrackingStore } from "../store/store.ts";
import { KeySet, keyClashesWith, validateArtifactPath, validateBatch } from "../validation.ts";
import { type BufferOptions, MetricBuffer } from "./buffer.ts";
import { type LoggedModel, type LogModelOptions, logModel } from "./models.ts";

export interface MetricOptions {
  /** Integer step; 0 when absent, as in MLflow. */
  step?: number;
  /** Milliseconds since the epoch; now when absent. */
  timestamp?: number;
}

export interface RunHandleOptions {
  buffer?: BufferOptions | undefined;
  /** The store's synchronous writer for this run, when it has one. */
  writer?: SyncRunWriter | undefined;
  /** Metric keys the run already has (a resumed run), so clashes are caught at the call. */
  metricKeys?: Iterable<string> | undefined;
}

export class ActiveRun implements AsyncDisposable {
  readonly store: TrackingStore;
  readonly #buffer: MetricBuffer;
  readonly #writer: SyncRunWriter | undefined;
  /** Every metric key of the run: those it had, and those logged (each validated once). */
  readonly #metricKeys: KeySet;
  readonly #onEnd: (run: ActiveRun) => void;
  #info: RunInfo;
  #ended: Promise<RunInfo> | undefined;

  constructor(
    store: TrackingStore,
    info: RunInfo,
    onEnd: (run: ActiveRun) => void,
    options: RunHandleOptions = {},
  ) {
    this.store = store;
    this.#info = info;
    this.#onEnd = onEnd;
    this.#writer = options.writer;
    this.#metricKeys = new KeySet(options.metricKeys);
    const { writer } = options;
    this.#buffer = new MetricBuffer(
      {
        write: (metrics) => store.logBatch(info.runId, { metrics }),
        writeSync: writer && ((metrics) => writer.logMetrics(metrics)),
      },
      options.buffer,
    );
  }

  get id(): string {
    return this.#info.runId;
  }

  /** The run's info as of its start or its end. */
  get info(): RunInfo {
    return { ...this.#info };
  }

  get ended(): boolean {
    return this.#ended !== undefined;
  }

  /**
   * Logs one metric point; buffered, so it costs little inside a training loop. A bad point, or
   * a key that clashes with another of the run (`acc` beside `acc/top5`), is refused here.
   */
  logMetric(key: string, value: number, options: MetricOptions = {}): void {
    const now = Date.now();
    const timestamp = options.timestamp ?? now;
    const step = options.step ?? 0;
    const plain =
      this.#metricKeys.has(key) &&
      typeof value === "number" &&
      Number.isSafeInteger(step) &&
      Number.isSafeInteger(timestamp) &&
      timestamp >= 0;
    if (!plain) {
      validateBatch({ metrics: [{ key, value, timestamp, step }] });
      if (!this.#metricKeys.has(key)) {
        const other = this.#metricKeys.clashWith(key);
        if (other !== undefined) throw keyClashesWith("metric", key, other);
        this.#metricKeys.add(key);
      }
    }
    if (this.#ended) throw invalid(`Run ${this.id} has ended; log through a new or resumed run`);
    this.#buffer.add(key, value, timestamp, step, now);
  }

  /** Logs several metrics at the same step and time. */
  logMetrics(metrics: Record<string, number>, options: MetricOptions = {}): void {
    const timestamp = options.timestamp ?? Date.now();
    for (const [key, value] of Object.entries(metrics))
      this.logMetric(key, value, { ...options, timestamp });
  }

  /** Logs a param; the value is stored as Python's `str()` would print it (`True`, `[1, 2]`). */
  async logParam(key: string, value: ParamValue): Promise<void> {
    await this.logParams({ [key]: value });
  }

  async logParams(params: Record<string, ParamValue>): Promise<void> {
    const strings = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, pyStr(v)]));
    await this.store.logBatch(this.id, { params: strings });
  }

  async setTag(key: string, value: string): Promise<void> {
    await this.setTags({ [key]: value });
  }

  async setTags(tags: Record<string, string>): Promise<void> {
    await this.store.logBatch(this.id, {
      tags: Object.fromEntries(Object.entries(tags).map(([k, v]) => [k, String(v)])),
    });
  }

  /** Copies a file (to `<artifactPath>/<name>`) or a directory (to `<artifactPath>/<dirname>/`). */
  async logArtifact(localPath: string, artifactPath?: string): Promise<void> {
    await this.store.logArtifact(this.id, localPath, artifactPath);
  }

  /** Copies the contents of a directory under `artifactPath` (the artifact root when absent). */
  async logArtifacts(localDir: string, artifactPath?: string): Promise<void> {
    const entries = (await fs.readdir(localDir)).sort();
    for (const entry of entries)
      await this.store.logArtifact(this.id, join(localDir, entry), artifactPath);
  }

  /** Writes `text` as the artifact `artifactFile` (a path such as `notes/summary.md`). */
  async logText(text: string | Uint8Array, artifactFile: string): Promise<void> {
    validateArtifactPath(artifactFile);
    const dir = await fs.mkdtemp(join(tmpdir(), "mlruns-artifact-"));
    try {
      const file = join(dir, basename(artifactFile));
      await fs.writeFile(file, text);
      const parent = artifactFile.includes("/")
        ? artifactFile.slice(0, artifactFile.lastIndexOf("/"))
        : undefined;
      await this.store.logArtifact(this.id, file, parent);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }

  /** Writes an object as JSON, or as YAML when `artifactFile` ends in `.yaml` or `.yml`. */
  async logDict(value: unknown, artifactFile: string): Promise<void> {
    const yaml = [".yaml", ".yml"].includes(extname(artifactFile).toLowerCase());
    // Loaded on use: a tracker that writes no YAML does not compile the YAML library.
    const text = yaml
      ? (await import("yaml")).stringify(value)
      : `${JSON.stringify(value, null, 2)}\n`;
    await this.logText(text, artifactFile);
  }

  /**
   * Logs a model folder (with an `MLmodel` file MLflow reads) under `artifactPath`, appends it to
   * the run's `mlflow.log-model.history` tag, and registers it when `registeredModelName` is set.
   */
  async logModel(options: LogModelOptions): Promise<LoggedModel> {
    return logModel(this.store, this.id, options);
  }

  /** Records datasets this run used (context such as `training` goes in the tags). */
  async logInputs(inputs: DatasetInput[]): Promise<void> {
    await this.store.logInputs(this.id, inputs);
  }

  /** Writes every buffered metric point now. */
  async flush(): Promise<void> {
    await this.#buffer.flush();
  }

  /**
   * Flushes and ends the run with `status` (FINISHED by default); ending twice is a no-op. When
   * buffered points could not be written, a run meant to be FINISHED ends FAILED and the
   * returned promise rejects with what was lost.
   */
  end(status: RunStatus = "FINISHED"): Promise<RunInfo> {
    this.#ended ??= (async () => {
      let failure: { error: unknown } | undefined;
      try {
        await this.#buffer.flush();
      } catch (error) {
        failure = { error };
      }
      try {
        this.#info = await this.store.updateRun(this.id, {
          status: failure && status === "FINISHED" ? "FAILED" : status,
          endTime: Date.now(),
        });
      } finally {
        this.#onEnd(this);
      }
      if (failure) throw failure.error;
      return this.info;
    })();
    return this.#ended;
  }

  /**
   * Ends the run before returning, for `process.exit()`: buffered points and the status are
   * written synchronously. A store that cannot write synchronously (a server) leaves the run
   * RUNNING and its buffered points unsent, and this throws saying so.
   */
  endSync(status: RunStatus): void {
    const writer = this.#writer;
    if (writer === undefined) {
      throw new MlflowError(
        "INVALID_STATE",
        `Run ${this.id} was left RUNNING and ${this.#buffer.size} buffered metric points were ` +
          `not sent: ${this.store.uri} cannot be written to while the process exits`,
        { hint: "Await run.end() (or use tracker.withRun) before calling process.exit()" },
      );
    }
    let failure: { error: unknown } | undefined;
    try {
      this.#buffer.flushSync();
    } catch (error) {
      failure = { error };
    }
    try {
      this.#info = writer.end(failure && status === "FINISHED" ? "FAILED" : status, Date.now());
      this.#ended ??= Promise.resolve(this.info);
    } finally {
      this.#onEnd(this);
    }
    if (failure) throw failure.error;
  }

  /** `await using run = await tracker.startRun()` ends the run FINISHED when the scope exits. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.end();
  }
}
