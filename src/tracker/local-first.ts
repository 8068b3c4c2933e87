/**
 * Local-first mode's background push, seen from the training process: a worker thread
 * (sync/push-worker.ts) pushes the tracker's experiment from the local tree to the server while
 * the runs train, so no call of the training loop waits on the network or fails because of the
 * server. When the process ends (or `close()`), it waits a bounded time for a last complete
 * push, then says on stderr what is left and the one command that pushes it.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  MessageChannel,
  type MessagePort,
  receiveMessageOnPort,
  Worker,
} from "node:worker_threads";
import type { HttpConfig } from "../config.ts";
import { MlflowError } from "../errors.ts";
import { publicUri } from "../sync/identity.ts";
import type { DrainAnswer, PushRequest, PushWorkerData } from "../sync/push-worker.ts";
import type { DrainResult } from "../sync/pusher.ts";
import { onProcessEnd } from "./lifecycle.ts";

export interface BackgroundPushOptions {
  /** The local tree, an absolute path. */
  root: string;
  /** The server. */
  target: string;
  http: HttpConfig;
  experimentId: string;
  experimentName: string;
  /** How long the process waits at its end for the push (ms). */
  exitTimeoutMs: number;
  /** Pause between passes (ms; default 1000). */
  intervalMs?: number;
}

/** How long past the deadline the worker may take to say what is left (reading the tree). */
const ANSWER_GRACE_MS = 3000;

export class BackgroundPush {
  readonly #options: BackgroundPushOptions;
  readonly #worker: Worker;
  readonly #port: MessagePort;
  readonly #answers = new Int32Array(new SharedArrayBuffer(4));
  readonly #waiting = new Map<number, (answer: DrainAnswer) => void>();
  readonly #unhook: () => void;
  #requests = 0;
  /** Why the worker stopped, if it did. */
  #failure: string | undefined;
  #finished: Promise<DrainResult | undefined> | undefined;
  #reported = false;

  constructor(options: BackgroundPushOptions) {
    this.#options = options;
    const script = new URL("../sync/push-worker.js", import.meta.url);
    if (!existsSync(fileURLToPath(script))) {
      throw new MlflowError(
        "INVALID_STATE",
        `Local-first mode runs its push from the built package, and ${fileURLToPath(script)} is missing`,
        { hint: "Build mlruns (npm run build), or import it from its package." },
      );
    }
    const { port1, port2 } = new MessageChannel();
    const { onRetry: _onRetry, ...http } = options.http;
    const data: PushWorkerData = {
      root: options.root,
      target: options.target,
      // Short retries inside a pass: the pusher tries the whole pass again, re-reading the tree.
      http: {
        ...http,
        maxRetries: Math.min(http.maxRetries, 2),
        backoffFactor: Math.min(http.backoffFactor, 0.5),
      },
      experiments: [options.experimentId],
      answers: this.#answers,
      port: port2,
      ...(options.intervalMs === undefined ? {} : { intervalMs: options.intervalMs }),
    };
    this.#worker = new Worker(script, {
      workerData: data,
      transferList: [port2],
      execArgv: workerExecArgv(process.execArgv),
    });
    this.#worker.unref();
    this.#worker.on("error", (error) => {
      this.#failure = error.message;
    });
    this.#worker.on("exit", (code) => {
      this.#failure ??= `its thread exited with code ${code}`;
      for (const resolve of this.#waiting.values()) resolve({ kind: "drained", id: 0 });
    });
    this.#port = port1;
    this.#port.on("message", (answer: DrainAnswer) => this.#waiting.get(answer.id)?.(answer));
    this.#port.unref();
    this.#unhook = onProcessEnd({
      finish: () => this.#finish(options.exitTimeoutMs).then(() => {}),
      finishSync: () => this.#finishSync(options.exitTimeoutMs),
    });
  }

  /** Pushes again now (a run started or ended) instead of at the next pass. */
  poke(): void {
    if (this.#failure === undefined) this.#send({ kind: "poke" });
  }

  /**
   * Waits up to `timeoutMs` (the exit timeout by default) for everything to reach the server,
   * stops pushing, and says on stderr what is left. Resolves with what the push found, or
   * undefined when it could not tell.
   */
  close(timeoutMs = this.#options.exitTimeoutMs): Promise<DrainResult | undefined> {
    this.#unhook();
    return this.#finish(timeoutMs);
  }

  #send(request: PushRequest): void {
    this.#worker.postMessage(request);
  }

  #finish(timeoutMs: number): Promise<DrainResult | undefined> {
    this.#finished ??= (async () => {
      const answer = await this.#drain(timeoutMs);
      this.#report(answer, timeoutMs);
      await this.#worker.terminate();
      return answer?.result;
    })();
    return this.#finished;
  }

  /** On `process.exit()`: the same, with the main thread blocked while the worker pushes. */
  #finishSync(timeoutMs: number): void {
    if (this.#reported) return;
    this.#report(this.#drainSync(timeoutMs), timeoutMs);
  }

  async #drain(timeoutMs: number): Promise<DrainAnswer | undefined> {
    if (this.#failure !== undefined) return undefined;
    const id = ++this.#requests;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await new Promise<DrainAnswer | undefined>((resolve) => {
        this.#waiting.set(id, resolve);
        timer = setTimeout(() => resolve(undefined), timeoutMs + ANSWER_GRACE_MS);
        this.#send({ kind: "drain", id, deadline: Date.now() + timeoutMs });
      });
    } finally {
      clearTimeout(timer);
      this.#waiting.delete(id);
    }
  }

  #drainSync(timeoutMs: number): DrainAnswer | undefined {
    if (this.#failure !== undefined) return undefined;
    const id = ++this.#requests;
    const until = Date.now() + timeoutMs + ANSWER_GRACE_MS;
    this.#send({ kind: "drain", id, deadline: Date.now() + timeoutMs });
    for (;;) {
      const seen = Atomics.load(this.#answers, 0);
      for (
        let got = receiveMessageOnPort(this.#port);
        got;
        got = receiveMessageOnPort(this.#port)
      ) {
        const answer = got.message as DrainAnswer;
        if (answer.id === id) return answer;
      }
      const left = until - Date.now();
      if (left <= 0) return undefined;
      Atomics.wait(this.#answers, 0, seen, left);
    }
  }

  #report(answer: DrainAnswer | undefined, waitedMs: number): void {
    if (this.#reported) return;
    this.#reported = true;
    const lines = describeLeft(answer, this.#failure, {
      ...this.#options,
      exitTimeoutMs: waitedMs,
    });
    if (lines.length > 0) process.stderr.write(lines.map((line) => `mlruns: ${line}\n`).join(""));
  }
}

/**
 * The process's Node options minus those that name its own code (`-e <code>`, `--input-type`),
 * which a worker refuses: a training script run with `node --input-type=module -e` still pushes.
 */
export function workerExecArgv(execArgv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i] ?? "";
    if (["-e", "--eval", "-p", "--print"].includes(arg)) i++;
    else if (!/^(--input-type|--eval=|--print=)/.test(arg)) kept.push(arg);
  }
  return kept;
}

/** A word for a POSIX shell: as it is when safe, else single-quoted. */
function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}

const count = (n: number, noun: string) => `${n.toLocaleString("en")} ${noun}${n === 1 ? "" : "s"}`;

/** What the end of a background push tells the user: nothing when everything went. */
export function describeLeft(
  answer: DrainAnswer | undefined,
  failure: string | undefined,
  options: Pick<BackgroundPushOptions, "root" | "target" | "experimentName" | "exitTimeoutMs">,
): string[] {
  const server = publicUri(options.target);
  const command =
    `npx mlruns sync ${shellWord(options.root)} --to ${shellWord(server)} ` +
    `-e ${shellWord(options.experimentName)}`;
  const result = answer?.result;
  const lines: string[] = [];
  for (const issue of result?.issues ?? []) {
    const where = issue.sourceRunId ?? issue.experiment ?? "";
    lines.push(`left: ${where} ${issue.what}: ${issue.message}`);
  }
  if (result?.done) {
    if (lines.length > 0) lines.push(`the server at ${server} refused the items above`);
    return lines;
  }
  const experiment = `experiment '${options.experimentName}'`;
  const waited = `after waiting ${options.exitTimeoutMs / 1000} s (MLFLOW_LOCAL_FIRST_EXIT_TIMEOUT)`;
  if (result === undefined) {
    const why = failure ?? answer?.error;
    const what =
      why === undefined ? `did not tell in time what is left ${waited}` : `stopped (${why})`;
    lines.push(
      `the background push to ${server} ${what}; the runs of ${experiment} may not all be there yet. They are safe in ${options.root}.`,
    );
  } else if (result.pending.length === 0) {
    return lines;
  } else {
    const points = result.pending.reduce((sum, run) => sum + run.points, 0);
    const runs = result.pending.length === 1 ? "1 run" : `${result.pending.length} runs`;
    const why = result.error === undefined ? "" : `: ${result.error}`;
    lines.push(
      `${runs} of ${experiment} (up to ${count(points, "metric point")}) not yet all on ${server} ${waited}${why}. They are safe in ${options.root}.`,
    );
  }
  lines.push(`push them with: ${command}`);
  return lines;
}
