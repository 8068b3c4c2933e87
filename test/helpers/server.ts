/**
 * `mlruns server` for tests: `startServer` on a fresh temp tree, on 127.0.0.1 and a free port,
 * and a raw HTTP client that sends paths and headers exactly as given (no URL normalization), for
 * the requests no real client would send. The real clients are RestStore and Python's mlflow.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningServer, type ServerOptions, startServer } from "../../src/server/index.ts";

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
  json(): unknown;
}

export interface CallOptions {
  /** Sent as JSON with Content-Type application/json (unless headers say otherwise). */
  json?: unknown;
  body?: string | Buffer;
  headers?: Record<string, string>;
}

/** One request to `base` with the path sent verbatim. */
export function call(
  base: string,
  method: string,
  path: string,
  { json, body, headers = {} }: CallOptions = {},
): Promise<Reply> {
  const url = new URL(base);
  const payload = json !== undefined ? Buffer.from(JSON.stringify(json)) : body;
  const sent: Record<string, string> = { ...headers };
  if (json !== undefined && !Object.keys(sent).some((h) => h.toLowerCase() === "content-type")) {
    sent["Content-Type"] = "application/json";
  }
  if (payload !== undefined) sent["Content-Length"] = String(Buffer.byteLength(payload));
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, method, path, headers: sent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const buffer = Buffer.concat(chunks);
          const text = buffer.toString("utf8");
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: buffer,
            text,
            json: () => JSON.parse(text),
          });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

export interface TestServer extends RunningServer {
  call(method: string, path: string, options?: CallOptions): Promise<Reply>;
  /** Warnings and errors the server logged. */
  log: string[];
  /** Closes the server and removes its tree. */
  stop(): Promise<void>;
}

export async function startTestServer(
  options: Omit<ServerOptions, "root" | "port"> & { root?: string } = {},
): Promise<TestServer> {
  const dir = options.root === undefined ? await mkdtemp(join(tmpdir(), "mlruns-srv-")) : undefined;
  const root = options.root ?? join(dir as string, "mlruns");
  const lines: string[] = [];
  const server = await startServer({ log: (line) => lines.push(line), ...options, root, port: 0 });
  return {
    ...server,
    log: lines,
    call: (method, path, callOptions) => call(server.url, method, path, callOptions),
    async stop() {
      await server.close();
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    },
  };
}
