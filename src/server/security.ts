/**
 * Who may talk to the server, checked before any route runs:
 * - the `Host` header must name this server (its bound name, localhost, a loopback address, an
 *   address of this machine when bound to all interfaces, or an allowed host): a web page on
 *   another name that resolves here (DNS rebinding) is refused, as MLflow refuses it;
 * - a write carrying an `Origin` must come from the server's own origin or an allowed one, so a
 *   page elsewhere cannot change the tree through the user's browser;
 * - with credentials configured, every request but `/health` must carry them: HTTP basic
 *   (MLflow's `MLFLOW_TRACKING_USERNAME`/`PASSWORD`) or a bearer token (`MLFLOW_TRACKING_TOKEN`),
 *   compared in constant time and never written anywhere.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { networkInterfaces, hostname as osHostname } from "node:os";
import { HttpError } from "./http.ts";

export interface Credentials {
  /** HTTP basic auth: both or neither. */
  username?: string;
  password?: string;
  /** A bearer token. */
  token?: string;
}

const LOOPBACK = ["localhost", "127.0.0.1", "::1"];
const ANY = ["0.0.0.0", "::", ""];

/** `[::1]:5000` → `::1`; `Example.com:80` → `example.com`. */
function hostName(header: string): string {
  const trimmed = header.trim().toLowerCase();
  if (trimmed.startsWith("[")) return trimmed.slice(1, trimmed.indexOf("]"));
  const colon = trimmed.lastIndexOf(":");
  return colon === -1 ? trimmed : trimmed.slice(0, colon);
}

/** The names a Host header may carry for a server bound to `host`. */
export function allowedHostNames(host: string, extra: readonly string[] = []): Set<string> {
  const names = new Set([...LOOPBACK, ...extra.map((h) => hostName(h))]);
  names.add(hostName(host.includes(":") && !host.startsWith("[") ? `[${host}]` : host));
  if (ANY.includes(host)) {
    names.add(osHostname().toLowerCase());
    for (const list of Object.values(networkInterfaces())) {
      for (const address of list ?? []) names.add(address.address.toLowerCase());
    }
  }
  return names;
}

export function checkHost(req: IncomingMessage, allowed: Set<string>): void {
  const header = req.headers.host;
  if (header === undefined || !allowed.has(hostName(header))) {
    throw new HttpError(
      403,
      "PERMISSION_DENIED",
      "Invalid Host header - possible DNS rebinding attack detected",
      "Open the server by the name it listens on, or start it with --allowed-hosts",
    );
  }
}

/** A write with an `Origin` from elsewhere (not this server, not an allowed origin) is refused. */
export function checkOrigin(req: IncomingMessage, allowedOrigins: readonly string[]): void {
  const origin = req.headers.origin;
  if (origin === undefined || allowedOrigins.includes(origin)) return;
  let host: string | undefined;
  try {
    host = new URL(origin).host; // "null" (a sandboxed page, a file) parses to nothing
  } catch {
    host = undefined;
  }
  if (host !== undefined && host === (req.headers.host ?? "").toLowerCase()) return;
  throw new HttpError(403, "PERMISSION_DENIED", "Cross-origin request blocked");
}

const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();
const same = (a: string, b: string) => timingSafeEqual(digest(a), digest(b));

/** Whether the request carries the configured credentials (any one accepted kind). */
export function checkAuth(req: IncomingMessage, credentials: Credentials): void {
  const header = req.headers.authorization ?? "";
  const [scheme = "", value = ""] = header.split(/\s+/, 2);
  let ok = false;
  if (scheme.toLowerCase() === "basic" && credentials.username !== undefined) {
    const decoded = Buffer.from(value, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    ok =
      colon !== -1 &&
      same(decoded.slice(0, colon), credentials.username) &&
      same(decoded.slice(colon + 1), credentials.password ?? "");
  } else if (scheme.toLowerCase() === "bearer" && credentials.token !== undefined) {
    ok = same(value, credentials.token);
  }
  if (!ok) {
    throw new HttpError(
      401,
      "UNAUTHENTICATED",
      "Authentication required: this server needs credentials",
      "Set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN",
      { "WWW-Authenticate": 'Basic realm="mlruns"' },
    );
  }
}

export function hasCredentials(credentials: Credentials | undefined): credentials is Credentials {
  return (
    credentials !== undefined &&
    (credentials.token !== undefined || credentials.username !== undefined)
  );
}

export const isLoopback = (host: string) => LOOPBACK.includes(hostName(host)) || host === "[::1]";
