/**
 * The worker thread of a local-first tracker: runs a Pusher over the tree and the server, so
 * that the training loop's thread never waits on the network. Asked to drain, it answers on its
 * own port and counts the answer in a shared cell, so that a main thread blocked in
 * `process.on("exit")` can wait for the answer (Atomics.wait) and read it synchronously.
 */
import { type MessagePort, parentPort, workerData } from "node:worker_threads";
import type { HttpConfig } from "../config.ts";
import { FileStore } from "../store/file/index.ts";
import { RestStore } from "../store/rest/index.ts";
import { type DrainResult, Pusher } from "./pusher.ts";

export interface PushWorkerData {
  root: string;
  target: string;
  /** The tracker's HTTP settings, credentials included (never written anywhere). */
  http: Omit<HttpConfig, "onRetry">;
  experiments: string[];
  intervalMs?: number;
  /** Counts drain answers posted on `port`. */
  answers: Int32Array;
  port: MessagePort;
}

export type PushRequest = { kind: "poke" } | { kind: "drain"; id: number; deadline: number };

export interface DrainAnswer {
  kind: "drained";
  id: number;
  result?: DrainResult;
  /** The drain itself failed (the tree could not be read). */
  error?: string;
}

const data = workerData as PushWorkerData;
const pusher = new Pusher({
  source: new FileStore(data.root, { onProblem: () => {} }),
  target: new RestStore(data.target, data.http),
  experiments: data.experiments,
  ...(data.intervalMs === undefined ? {} : { intervalMs: data.intervalMs }),
});

parentPort?.on("message", (request: PushRequest) => {
  if (request.kind === "poke") {
    pusher.poke();
    return;
  }
  void pusher
    .drain(request.deadline)
    .then(
      (result): DrainAnswer => ({ kind: "drained", id: request.id, result }),
      (error: unknown): DrainAnswer => ({
        kind: "drained",
        id: request.id,
        error: error instanceof Error ? error.message : String(error),
      }),
    )
    .then((answer) => {
      data.port.postMessage(answer);
      Atomics.add(data.answers, 0, 1);
      Atomics.notify(data.answers, 0);
    });
});
