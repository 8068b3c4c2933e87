/**
 * How a one-shot command finds the server running for its tree: `startServer` writes
 * `.mlruns-server.json` at the tree's root (its URL, process, host, a random instance id and
 * whether it asks for credentials; never a secret) and removes it when it closes. The file may
 * outlive a killed server, so `findServer` trusts it only when the process is alive on this host
 * and `/health` at that URL answers with the same instance id.
 */
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import http from "node:http";
import { hostname } from "node:os";
import { join } from "node:path";
import { replaceFile } from "../atomic.ts";
import { isProcessAlive } from "../process-alive.ts";
import { DISCOVERY_FILE } from "../tree-files.ts";

/** The header `/health` carries, naming the server instance. */
export const INSTANCE_HEADER = "x-mlruns-instance";

export interface Discovery {
  url: string;
  pid: number;
  host: string;
  instance: string;
  /** Whether requests need credentials. */
  auth: boolean;
  startedAt: number;
}

export function newInstance(): string {
  return randomBytes(12).toString("hex");
}

export async function writeDiscovery(root: string, discovery: Discovery): Promise<void> {
  await replaceFile(join(root, DISCOVERY_FILE), `${JSON.stringify(discovery, null, 2)}\n`);
}

/** Removes the file if it still names this instance (another server may have started since). */
export async function removeDiscovery(root: string, instance: string): Promise<void> {
  const found = await readDiscovery(root);
  if (found?.instance === instance) await fs.rm(join(root, DISCOVERY_FILE), { force: true });
}

async function readDiscovery(root: string): Promise<Discovery | undefined> {
  try {
    const parsed = JSON.parse(await fs.readFile(join(root, DISCOVERY_FILE), "utf8")) as Discovery;
    const valid =
      typeof parsed?.url === "string" &&
      typeof parsed.instance === "string" &&
      Number.isInteger(parsed.pid) &&
      typeof parsed.host === "string";
    return valid ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The server running for the tree at `root`, checked live; undefined when there is none (or
 * the file is stale: a dead process, another host, another server on that port).
 */
export async function findServer(
  root: string,
  options: { timeoutMs?: number } = {},
): Promise<{ url: string; auth: boolean } | undefined> {
  const found = await readDiscovery(root);
  if (found === undefined || found.host !== hostname() || !isProcessAlive(found.pid))
    return undefined;
  const instance = await healthInstance(found.url, options.timeoutMs ?? 1000);
  if (instance !== found.instance) return undefined;
  return { url: found.url, auth: found.auth };
}

/**
 * The instance id `/health` at `url` answers with; undefined for no answer in time, or an error.
 * Through node:http, as the REST store talks: a command that starts `fetch` pays for loading it.
 */
async function healthInstance(url: string, timeoutMs: number): Promise<string | undefined> {
  const client = url.startsWith("https:") ? await import("node:https") : http;
  return new Promise((resolve) => {
    const request = client.get(`${url}/health`, { agent: false }, (response) => {
      response.resume();
      const ok = (response.statusCode ?? 0) >= 200 && (response.statusCode ?? 0) < 300;
      const header = response.headers[INSTANCE_HEADER];
      resolve(ok && typeof header === "string" ? header : undefined);
    });
    request.setTimeout(timeoutMs, () => request.destroy());
    request.on("error", () => resolve(undefined));
  });
}
