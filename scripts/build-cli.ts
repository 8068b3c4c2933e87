/**
 * Bundles the CLI (dist/cli/main.js and everything it imports, runtime dependencies included)
 * into dist/cli/mlruns.js, the package's `bin`, and the chunks it loads on demand
 * (dist/cli/chunks/): a short command reads and compiles only the code it runs, which is most
 * of its time (README, Benchmarks). Identifiers are kept, so a --verbose stack trace stays
 * readable. Part of `npm run build`.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";

const root = fileURLToPath(new URL("../..", import.meta.url));
const cli = join(root, "dist", "cli");

/**
 * The CLI imports the library as `mlruns` (its index), but a module the start of a command
 * reaches through that index takes every module the index names with it: esbuild splits by file,
 * not by the names used. So each `import { … } from "mlruns"` is bundled as imports from the
 * modules that define those names, and what a command loads lazily stays out of its start.
 */
function libraryByName(): Plugin {
  // The sources, as for `import("mlruns")` (tsconfig's paths), so that each module is bundled once.
  const index = join(root, "src", "index.ts");
  const home = new Map<string, string>();
  for (const m of readFileSync(index, "utf8").matchAll(
    /export\s*(type\s*)?\{([^}]*)\}\s*from\s*"([^"]+)"/g,
  )) {
    if (m[1] !== undefined) continue;
    for (const name of (m[2] as string)
      .split(",")
      .map((n) => n.trim())
      .filter((n) => n !== "" && !n.startsWith("type "))) {
      if (name.includes(" ")) throw new Error(`build-cli: renamed export '${name}' in ${index}`);
      home.set(name, join(dirname(index), m[3] as string));
    }
  }
  return {
    name: "library-by-name",
    setup(b) {
      b.onLoad({ filter: /[\\/]dist[\\/]cli[\\/].*\.js$/ }, (args) => {
        const source = readFileSync(args.path, "utf8");
        const contents = source.replace(
          /import\s*\{([^}]*)\}\s*from\s*"mlruns";/g,
          (_statement, list: string) =>
            list
              .split(",")
              .map((n) => n.trim())
              .filter(Boolean)
              .map((name) => {
                const file = home.get(name);
                if (file === undefined)
                  throw new Error(`build-cli: '${name}' is not exported by ${index}`);
                return `import { ${name} } from ${JSON.stringify(file)};`;
              })
              .join(""),
        );
        if (/from\s*"mlruns"/.test(contents)) {
          throw new Error(`build-cli: an import of "mlruns" in ${args.path} is not of names`);
        }
        return { contents, loader: "js", resolveDir: dirname(args.path) };
      });
    },
  };
}

/**
 * The string-width copies under yargs create an `Intl.Segmenter` when loaded: loading ICU's
 * break rules costs 10 ms, paid by every command though only help and non-ASCII text are
 * measured with it. Here it is created on first use. The build fails if the line changes.
 */
function segmenterOnUse(): Plugin {
  const eager = "const segmenter = new Intl.Segmenter();";
  const lazy =
    "let segmenterMade; const segmenter = { segment: (text) => (segmenterMade ??= new Intl.Segmenter()).segment(text) };";
  return {
    name: "segmenter-on-use",
    setup(b) {
      b.onLoad({ filter: /[\\/]node_modules[\\/]string-width[\\/]index\.js$/ }, (args) => {
        const source = readFileSync(args.path, "utf8");
        if (!source.includes(eager)) throw new Error(`build-cli: no '${eager}' in ${args.path}`);
        return {
          contents: source.replace(eager, lazy),
          loader: "js",
          resolveDir: dirname(args.path),
        };
      });
    },
  };
}

await build({
  entryPoints: { mlruns: join(cli, "main.js") },
  outdir: cli,
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  splitting: true,
  platform: "node",
  format: "esm",
  target: "node20",
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: "none",
  plugins: [libraryByName(), segmenterOnUse()],
  // CommonJS dependencies inside an ES module bundle call require() for Node's built-ins.
  banner: {
    js: 'import { createRequire as __mlrunsRequire } from "node:module"; const require = __mlrunsRequire(import.meta.url);',
  },
  logLevel: "warning",
});
