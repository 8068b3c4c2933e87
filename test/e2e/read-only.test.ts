/**
 * Read commands write nothing: pointed at a folder that is not an mlruns tree (a project, an
 * empty folder, a file) they say so and leave it as it was; on a tree they add nothing but the
 * search index cache. Only `init` and the first write create a tree.
 */
import { mkdir, readdir, rm, stat, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertBuilt, runCli, sampleTree, tempDir } from "./helpers.ts";

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});
beforeAll(() => assertBuilt());

async function fresh(): Promise<string> {
  const { dir, cleanup } = await tempDir("mlruns-readonly-");
  cleanups.push(cleanup);
  return dir;
}

/** Every path under `dir` with its size and mtime: what a write would change. */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    const s = await stat(path);
    out.push(`${relative(dir, path)} ${s.isDirectory() ? "dir" : s.size} ${s.mtimeMs}`);
  }
  return out.sort();
}

const RUN = "0123456789abcdef0123456789abcdef";

/** The read commands, aimed at `target` (a tree's folder or a tracking URI). */
const readCommands = (target: string): string[][] => [
  ["runs", "list", "-u", target],
  ["runs", "show", RUN, "-u", target],
  ["experiments", "list", "-u", target],
  ["metrics", "history", RUN, "loss", "-u", target],
  ["artifacts", "list", RUN, "-u", target],
  ["models", "list", "-u", target],
  ["gc", target],
  ["sync", target, "--to", "http://127.0.0.1:9", "--dry-run"],
];

describe("read commands on what is not an mlruns tree", () => {
  it("a project folder: each says so, exits 1, and writes nothing", async () => {
    const dir = join(await fresh(), "project");
    await mkdir(join(dir, "src"), { recursive: true });
    await writeFile(join(dir, "README.md"), "# a project\n");
    const before = await snapshot(dir);
    for (const args of readCommands(dir)) {
      const { code, stderr } = await runCli(args);
      expect(stderr, args.join(" ")).toContain(
        `${dir} is not an mlruns tree [RESOURCE_DOES_NOT_EXIST]`,
      );
      expect(stderr).toContain("hint:");
      expect(code).toBe(1);
    }
    expect(await snapshot(dir)).toEqual(before);
  });

  it("a file: a clear error, no errno", async () => {
    const file = join(await fresh(), "passwd");
    await writeFile(file, "root:x:0:0::/root:/bin/sh\n");
    for (const args of readCommands(file)) {
      const { code, stderr } = await runCli(args);
      expect(stderr, args.join(" ")).toContain(`${file} is a file, not an mlruns tree`);
      expect(stderr).not.toMatch(/ENOTDIR|EEXIST|INTERNAL_ERROR/);
      expect(code).toBe(1);
    }
  });

  it("an empty folder: no tree there, and it stays empty", async () => {
    const dir = join(await fresh(), "empty");
    await mkdir(dir);
    for (const args of readCommands(dir)) {
      const { code, stderr } = await runCli(args);
      expect(stderr, args.join(" ")).toContain(
        `No mlruns tree at ${dir} [RESOURCE_DOES_NOT_EXIST]`,
      );
      expect(code).toBe(1);
    }
    expect(await readdir(dir)).toEqual([]);
  });

  it("init makes a tree anywhere, and then the reads work", async () => {
    const dir = join(await fresh(), "project");
    await mkdir(dir);
    await writeFile(join(dir, "README.md"), "# a project\n");
    expect((await runCli(["init", dir])).code).toBe(0);
    expect((await readdir(dir)).sort()).toEqual([".trash", "0", "README.md"]);
    const { code, stdout } = await runCli(["experiments", "list", "-u", dir]);
    expect(stdout).toContain("Default");
    expect(code).toBe(0);
  });
});

describe("read commands on a tree", () => {
  it("add nothing to it but the search index cache", async () => {
    const dir = await fresh();
    const { root, runIds } = await sampleTree(dir);
    // MLflow's trees may lack .trash and experiment 0; reading must not add them.
    await rm(join(root, ".trash"), { recursive: true });
    await rm(join(root, "0"), { recursive: true });
    const before = await snapshot(root);
    for (const args of [
      ["runs", "list", "-u", root],
      ["runs", "show", runIds[0], "-u", root],
      ["experiments", "list", "-u", root],
      ["metrics", "history", runIds[0], "loss", "-u", root],
      ["artifacts", "list", runIds[0], "-u", root],
      ["models", "list", "-u", root],
      ["gc", root],
      ["verify", root],
    ]) {
      const { code, stderr } = await runCli(args);
      expect(stderr, args.join(" ")).not.toContain("error");
      expect(code, args.join(" ")).toBe(0);
    }
    const after = (await snapshot(root)).filter((line) => !line.startsWith(".mlruns-index.json "));
    expect(after).toEqual(before);
  });
});
