/**
 * Matching a request to its route. Paths are matched on their raw segments, each decoded once:
 * a segment that decodes to `.` or `..`, or holds a `/`, `\` or NUL, is refused before any
 * route sees it, so no percent-encoding or dot segment can move a path elsewhere (nothing is
 * normalized away, as URL parsers do).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { invalid } from "../errors.ts";
import type { TrackingStore } from "../store/store.ts";
import type { Message, Schema } from "./message.ts";

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  /** Path parameters: `:name` segments, and `*name` as the decoded rest joined by `/`. */
  params: Record<string, string>;
  query: URLSearchParams;
  store: TrackingStore;
  /** The request message: from the query string for GET, else from the JSON body. */
  read<S extends Schema>(schema: S): Promise<Message<S>>;
  /** Whether the server handles no request (streams excepted): for work done in the background. */
  idle(): boolean;
}

/** What a handler answers: a JSON value, or STREAMED when it wrote the response itself. */
export const STREAMED = Symbol("streamed");
export type Handler = (ctx: RequestContext) => Promise<unknown>;

export interface Route {
  method: Method;
  /** `:name` matches one segment, `*name` the rest. A path under `/api/` also answers under `/ajax-api/`. */
  path: string;
  handler: Handler;
  /** Changes data: refused by a read-only server and from other origins. Default: not GET. */
  writes?: boolean;
  /** The largest request body it reads, in bytes (default: the server's JSON limit). */
  maxBody?: number;
  /** Served only when the server is started with this feature. */
  feature?: "ui";
}

export interface Match {
  route: Route;
  params: Record<string, string>;
}

interface Compiled {
  route: Route;
  parts: string[];
}

/** The decoded segments of a raw request path, or an error for an unsafe one. */
export function pathSegments(rawPath: string): string[] {
  const segments = rawPath.split("/").slice(1);
  return segments.map((raw) => {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      throw invalid(`Invalid path: bad percent-encoding in '${raw}'`);
    }
    if (segment === "." || segment === ".." || /[/\\\0]/.test(segment)) {
      throw invalid("Invalid path: it must not contain '.', '..', '\\' or encoded '/' segments");
    }
    return segment;
  });
}

export class Router {
  readonly #byMethod = new Map<string, Compiled[]>();

  constructor(routes: readonly Route[]) {
    for (const route of routes) {
      const variants = route.path.startsWith("/api/")
        ? [route.path, route.path.replace(/^\/api\//, "/ajax-api/")]
        : [route.path];
      for (const path of variants) {
        const list = this.#byMethod.get(route.method) ?? [];
        list.push({ route, parts: path.split("/").slice(1) });
        this.#byMethod.set(route.method, list);
      }
    }
  }

  /** The route for a method and decoded segments; `methods` lists who else has the path. */
  match(method: string, segments: string[]): Match | { methods: string[] } | undefined {
    const found = this.#find(this.#byMethod.get(method) ?? [], segments);
    if (found !== undefined) return found;
    const methods = [...this.#byMethod]
      .filter(([m, list]) => m !== method && this.#find(list, segments) !== undefined)
      .map(([m]) => m);
    return methods.length > 0 ? { methods } : undefined;
  }

  #find(list: Compiled[], segments: string[]): Match | undefined {
    for (const { route, parts } of list) {
      const params = matchParts(parts, segments);
      if (params !== undefined) return { route, params };
    }
    return undefined;
  }
}

function matchParts(parts: string[], segments: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    if (part.startsWith("*")) {
      const rest = segments.slice(i);
      if (rest.length === 0 || rest.some((s) => s === "")) return undefined;
      params[part.slice(1)] = rest.join("/");
      return params;
    }
    const segment = segments[i];
    if (segment === undefined) return undefined;
    if (part.startsWith(":")) {
      if (segment === "") return undefined;
      params[part.slice(1)] = segment;
    } else if (part !== segment) {
      return undefined;
    }
  }
  return parts.length === segments.length ? params : undefined;
}
