/**
 * Vitest global set-up for the `compat` and `e2e` projects: one `mlflow server` per pinned MLflow
 * version, shared by every test file that only reads and writes through it (a cold start imports
 * MLflow's Python: 4–9 s of CPU, 10–40 s on two busy cores). A server starts on the first file
 * that asks for it, through a small broker on 127.0.0.1 whose address the set-up provides (the
 * workers are other processes), and all of them stop when the run ends. Both projects' set-ups
 * share one broker: set-ups run in the main process, each project in its own module graph.
 * Tests that kill, restart, slow or break a server start their own (`startMlflowServer`).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { TestProject } from "vitest/node";
import { type MlflowServer, startMlflowServer } from "./mlflow-server.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /**
     * `http://127.0.0.1:<port>` of the broker: `GET /<version>` (or `/<version>?basic-auth`)
     * answers a SharedMlflowServer.
     */
    mlflowBroker: string;
  }
}

interface Broker {
  url: string;
  users: number;
  close(): Promise<void>;
}

const KEY = Symbol.for("mlruns.test.mlflowBroker");
const shared = globalThis as { [KEY]?: Promise<Broker> };

async function openBroker(): Promise<Broker> {
  const servers = new Map<string, Promise<MlflowServer>>();
  const http: Server = createServer((request, response) => {
    const asked = new URL(request.url ?? "/", "http://broker");
    const version = decodeURIComponent(asked.pathname.slice(1));
    const basicAuth = asked.searchParams.has("basic-auth");
    const key = `${version}${basicAuth ? " basic-auth" : ""}`;
    let server = servers.get(key);
    if (server === undefined) {
      // Fresh clones start it on a loaded machine: give it the time a busy start takes.
      server = startMlflowServer({ version, basicAuth, readyTimeout: 240 });
      servers.set(key, server);
    }
    server.then(
      ({ url, dir, admin }) => {
        response.writeHead(200, { "Content-Type": "application/json" });
        response.end(JSON.stringify({ url, version, dir, admin }));
      },
      (error: unknown) => {
        response.writeHead(500, { "Content-Type": "text/plain" });
        response.end(error instanceof Error ? error.message : String(error));
      },
    );
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    users: 0,
    async close() {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      const started = await Promise.allSettled(servers.values());
      await Promise.all(
        started.map((s) => (s.status === "fulfilled" ? s.value.stop() : undefined)),
      );
    },
  };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  shared[KEY] ??= openBroker();
  const broker = await shared[KEY];
  broker.users++;
  project.provide("mlflowBroker", broker.url);
  return async () => {
    if (--broker.users > 0) return;
    delete shared[KEY];
    await broker.close();
  };
}
