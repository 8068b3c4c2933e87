/**
 * Bundles the CLI (dist/cli/main.js and everything it imports, runtime dependencies included)
 * into dist/cli/mlruns.js, the package's `bin`: one file to read and compile instead of some
 * two hundred modules to resolve, which is most of a short command's time (README, Benchmarks).
 * Identifiers are kept, so a --verbose stack trace stays readable. Part of `npm run build`.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("../..", import.meta.url));

await build({
  entryPoints: [join(root, "dist", "cli", "main.js")],
  outfile: join(root, "dist", "cli", "mlruns.js"),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: "none",
  // CommonJS dependencies inside an ES module bundle call require() for Node's built-ins.
  banner: {
    js: 'import { createRequire as __mlrunsRequire } from "node:module"; const require = __mlrunsRequire(import.meta.url);',
  },
  logLevel: "warning",
});
