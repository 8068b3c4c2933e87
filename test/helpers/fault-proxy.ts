/**
 * A small HTTP proxy on 127.0.0.1 in front of a real server that misbehaves on purpose: every
 * `failEvery`-th request is answered 503 without reaching the server, and every `hangEvery`-th is
 * never answered at all (the client's timeout must save it). Started with `hold`, it keeps every
 * request waiting until `release()`. `set()` switches a fault on for every request until the next
 * `set()`: an answer with a status of its own, or an answer held back for a while (a slow server:
 * the request is done, the client waits for its answer, and may give up). Bounded: it only serves the test.
 */
import {
  createServer,
  request as forward,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";

/** A fault for every request: answer `status` at once, or forward and answer after `delayMs`. */
export interface Fault {
  status?: number;
  delayMs?: number;
}

export interface FaultProxy {
  url: string;
  /** How many requests were failed, delayed or left hanging. */
  faults(): number;
  /** Applies `fault` to every request from now on; `{}` lets them through again. */
  set(fault: Fault): void;
  /** Lets the requests held so far, and every later one, through. */
  release(): void;
  stop(): Promise<void>;
}

export async function startFaultProxy(
  target: string,
  options: { failEvery?: number; hangEvery?: number; hold?: boolean },
): Promise<FaultProxy> {
  const upstream = new URL(target);
  let count = 0;
  let faults = 0;
  const hanging = new Set<ServerResponse>();
  let held: (() => void)[] | undefined = options.hold ? [] : undefined;
  let fault: Fault = {};
  const delays = new Set<NodeJS.Timeout>();
  const server: Server = createServer((req, res) => {
    // The body stays unread, buffered, until the request is handled.
    if (held) held.push(() => handle(req, res));
    else handle(req, res);
  });
  function handle(req: IncomingMessage, res: ServerResponse): void {
    count++;
    if (fault.status !== undefined) {
      faults++;
      req.resume();
      res.writeHead(fault.status, { "content-type": "application/json" });
      const code = fault.status === 401 ? "UNAUTHENTICATED" : "TEMPORARILY_UNAVAILABLE";
      res.end(JSON.stringify({ error_code: code, message: "injected fault" }));
      return;
    }
    if (fault.delayMs !== undefined) {
      faults++;
      pass(req, res, fault.delayMs);
      return;
    }
    if (options.hangEvery && count % options.hangEvery === 0) {
      faults++;
      hanging.add(res);
      req.resume();
      return;
    }
    if (options.failEvery && count % options.failEvery === 0) {
      faults++;
      req.resume();
      res.writeHead(503, { "content-type": "application/json" });
      res.end(JSON.stringify({ error_code: "TEMPORARILY_UNAVAILABLE", message: "injected fault" }));
      return;
    }
    pass(req, res);
  }
  /** Forwards at once; the answer waits `delayMs` (the server did the work, the client waits). */
  function pass(req: IncomingMessage, res: ServerResponse, delayMs = 0): void {
    const proxied = forward(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
      },
      (answer) => {
        const reply = () => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        };
        if (delayMs === 0) return reply();
        const timer = setTimeout(() => {
          delays.delete(timer);
          reply();
        }, delayMs);
        delays.add(timer);
      },
    );
    proxied.on("error", () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(proxied);
  }
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    faults: () => faults,
    set(next) {
      fault = { ...next };
    },
    release() {
      const waiting = held ?? [];
      held = undefined;
      for (const go of waiting) go();
    },
    async stop() {
      for (const timer of delays) clearTimeout(timer);
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
