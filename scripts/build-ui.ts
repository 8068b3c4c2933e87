/**
 * Builds the web UI (ui/) into dist/ui: one minified script and one stylesheet with hashed
 * names, the page that loads them, brotli and gzip forms of each, and assets.json (names and
 * sizes; the server requires it). Part of `npm run build`.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { build } from "esbuild";

const root = fileURLToPath(new URL("../..", import.meta.url));
const out = join(root, "dist", "ui");

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const result = await build({
  entryPoints: { app: join(root, "ui", "src", "main.tsx") },
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2022",
  jsx: "automatic",
  jsxImportSource: "preact",
  entryNames: "[name]-[hash]",
  outdir: out,
  metafile: true,
  legalComments: "none",
  logLevel: "warning",
});
const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
const script = outputs.find((n) => n.endsWith(".js"));
const style = outputs.find((n) => n.endsWith(".css"));
if (!script || !style) throw new Error(`esbuild wrote ${outputs.join(", ")}`);
const page = readFileSync(join(root, "ui", "index.html"), "utf8")
  .replace("{{script}}", script)
  .replace("{{style}}", style);
writeFileSync(join(out, "index.html"), page);

const files: Record<string, { bytes: number; br: number; gzip: number }> = {};
for (const name of ["index.html", script, style]) {
  const body = readFileSync(join(out, name));
  const br = brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } });
  const gzip = gzipSync(body, { level: 9 });
  writeFileSync(join(out, `${name}.br`), br);
  writeFileSync(join(out, `${name}.gz`), gzip);
  files[name] = { bytes: body.length, br: br.length, gzip: gzip.length };
}
writeFileSync(join(out, "assets.json"), `${JSON.stringify({ script, style, files }, null, 2)}\n`);
