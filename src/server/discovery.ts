/**
 * How a one-shot command finds the server running for its tree: `startServer` writes
 * `.mlruns-server.json` at the tree's root (its URL, process, host, a random instance id and
 * whether it asks for credentials; never a secret) and removes it when it closes. The file may
 * outlive a killed server, so `findServer` trusts it only when the process is alive on this host
 * and `/health` at that URL answers with the same instance id.
 */
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
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
  try {
    const response = await fetch(`${found.url}/health`, {
      signal: AbortSignal.timeout(options.timeoutMs ?? 1000),
    });
    await response.body?.cancel();
    if (!response.ok || response.headers.get(INSTANCE_HEADER) !== found.instance) return undefined;
  } catch {
    return undefined;
  }
  return { url: found.url, auth: found.auth };
}
