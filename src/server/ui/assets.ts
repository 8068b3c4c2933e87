/**
 * The built web UI (`npm run build` writes it to dist/ui): served from memory, each file with
 * its brotli and gzip forms made at build time, hashed names cached for good, and a
 * Content-Security-Policy that lets the page talk to this server only.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { MlflowError } from "../../errors.ts";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

/** Nothing leaves the machine: scripts, styles, images and requests from this origin only. */
export const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
  "img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

interface Asset {
  type: string;
  body: Buffer;
  br?: Buffer;
  gzip?: Buffer;
  immutable: boolean;
}

/**
 * dist/ui beside the built server, beside the bundled CLI (dist/cli/mlruns.js), or in the
 * repository when running from source.
 */
export function findAssetsDir(): string {
  const candidates = ["../../../ui/", "../ui/", "../../../dist/ui/"].map((p) =>
    fileURLToPath(new URL(p, import.meta.url)),
  );
  const found = candidates.find((dir) => existsSync(join(dir, "assets.json")));
  if (!found) {
    throw new MlflowError(
      "INVALID_STATE",
      `The web UI is not built (looked in ${candidates.join(", ")})`,
      { hint: "Build it with `npm run build` in the mlruns checkout" },
    );
  }
  return found;
}

export class Assets {
  readonly #files = new Map<string, Asset>();

  constructor(dir: string) {
    for (const name of readdirSync(dir)) {
      const type = TYPES[extname(name)];
      if (!type) continue;
      const read = (suffix: string) =>
        existsSync(join(dir, name + suffix)) ? readFileSync(join(dir, name + suffix)) : undefined;
      const asset: Asset = {
        type,
        body: readFileSync(join(dir, name)),
        immutable: name !== "index.html",
      };
      const br = read(".br");
      const gzip = read(".gz");
      if (br) asset.br = br;
      if (gzip) asset.gzip = gzip;
      this.#files.set(`/${name}`, asset);
    }
    const index = this.#files.get("/index.html");
    if (!index) {
      throw new MlflowError("INVALID_STATE", `The web UI in ${dir} has no index.html`, {
        hint: "Build it again with `npm run build` in the mlruns checkout",
      });
    }
    this.#files.set("/", index);
  }

  /** Serves `path` if it is one of the UI's files; false otherwise. */
  serve(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    const asset = this.#files.get(path);
    if (!asset) return false;
    const accepts = String(req.headers["accept-encoding"] ?? "");
    const [body, encoding] =
      asset.br && /\bbr\b/.test(accepts)
        ? [asset.br, "br"]
        : asset.gzip && /\bgzip\b/.test(accepts)
          ? [asset.gzip, "gzip"]
          : [asset.body, undefined];
    res.writeHead(200, {
      "content-type": asset.type,
      "content-length": body.length,
      "cache-control": asset.immutable ? "public, max-age=31536000, immutable" : "no-cache",
      "content-security-policy": CSP,
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      vary: "accept-encoding",
      ...(encoding ? { "content-encoding": encoding } : {}),
    });
    res.end(req.method === "HEAD" ? undefined : body);
    return true;
  }
}
