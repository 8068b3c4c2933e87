/**
 * What a short command loads: the built CLI is split so that a command compiles only the code it
 * runs (scripts/build-cli.ts). A module-loading hook records every file the process loads, and
 * the test looks in them for what a command must not carry: the file store and its YAML parser
 * through a server, the server, sync, bundles and verify everywhere. A static import that pulls
 * one of them back into the start of every command fails here.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type RunningServer, startServer } from "mlruns";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertBuilt, runCli, sampleTree, tempDir } from "./helpers.ts";

/** A marker of each part, as it reads in the bundle (identifiers are kept). */
const PARTS = {
  fileStore: "FileStore=class",
  restStore: "RestStore=class",
  yaml: "YAMLParseError",
  server: "function startServer(",
  sync: "function watchSync(",
  bundles: "function exportBundle(",
  verify: "function verifyTree(",
} as const;
type Part = keyof typeof PARTS;

let dir: string;
let cleanup: () => Promise<void>;
let root: string;
let server: RunningServer;

beforeAll(async () => {
  assertBuilt();
  ({ dir, cleanup } = await tempDir("mlruns-cli-start-"));
  ({ root } = await sampleTree(dir));
  await writeFile(
    join(dir, "hooks.mjs"),
    `import { appendFileSync } from "node:fs";
export async function load(url, context, next) {
  if (url.startsWith("file:")) appendFileSync(process.env.MLRUNS_LOADED_LOG, url + "\\n");
  return next(url, context);
}
`,
  );
  await writeFile(
    join(dir, "register.mjs"),
    `import { register } from "node:module";\nregister("./hooks.mjs", import.meta.url);\n`,
  );
  server = await startServer({ root: join(dir, "served"), port: 0, log: () => {} });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await cleanup?.();
});

/** Runs the command and returns the parts found in the files it loaded. */
async function partsLoaded(name: string, args: string[]): Promise<Part[]> {
  const log = join(dir, `${name}.loaded`);
  await writeFile(log, "");
  const result = await runCli(args, {
    env: { NODE_OPTIONS: `--import ${join(dir, "register.mjs")}`, MLRUNS_LOADED_LOG: log },
  });
  expect(result.code, result.stderr).toBe(0);
  const files = (await readFile(log, "utf8")).split("\n").filter(Boolean);
  expect(files.some((f) => f.endsWith("/dist/cli/mlruns.js"))).toBe(true);
  const text = (await Promise.all(files.map((f) => readFile(fileURLToPath(f), "utf8")))).join("");
  return (Object.keys(PARTS) as Part[]).filter((part) => text.includes(PARTS[part]));
}

describe("the start of a command", () => {
  it("`--help` loads no store and none of the long commands", async () => {
    expect(await partsLoaded("help", ["--help"])).toEqual([]);
    expect(await partsLoaded("list-help", ["runs", "list", "--help"])).toEqual([]);
  });

  it("`runs list` on a tree loads the file store and its YAML parser, nothing else", async () => {
    expect(await partsLoaded("tree", ["runs", "list", "-u", root])).toEqual(["fileStore", "yaml"]);
  });

  it("`runs list` through a server loads the REST store alone", async () => {
    expect(await partsLoaded("server", ["runs", "list", "-u", server.url])).toEqual(["restStore"]);
  });
});
