/**
 * The HTTP exchange's connections (http-transport.ts): kept alive, but each closed after
 * REQUESTS_PER_CONNECTION requests, so that a server of several worker processes gets new
 * connections in whichever worker is free rather than all of ours queued in one.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exchange, makeAgents, REQUESTS_PER_CONNECTION } from "../src/http-transport.ts";

let server: http.Server;
let url: URL;
let connections = 0;

beforeAll(async () => {
  server = http.createServer((_req, res) => res.end("{}"));
  server.on("connection", () => connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/ping`);
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe("exchange's connections", () => {
  it(`carry at most ${REQUESTS_PER_CONNECTION} requests each, then a new one is opened`, async () => {
    const agents = makeAgents({ insecureTls: false });
    const requests = REQUESTS_PER_CONNECTION * 2 + 3;
    connections = 0;
    for (let i = 0; i < requests; i++) {
      const response = await exchange({ method: "GET", url, headers: {}, timeoutMs: 5000 }, agents);
      expect(response.status).toBe(200);
    }
    expect(connections).toBe(Math.ceil(requests / REQUESTS_PER_CONNECTION));
    agents.http.destroy();
  });
});
