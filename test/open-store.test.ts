/** openStore and localTreePath: which URIs name a local tree, and what each store offers. */
import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { isMlflowError, localTreePath, openStore } from "mlruns";
import { afterEach, describe, expect, it } from "vitest";

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "mlruns-open-"));
  dirs.push(dir);
  return dir;
}

describe("localTreePath", () => {
  it.each([
    ["./mlruns", resolve("mlruns")],
    ["/data/runs", "/data/runs"],
    [pathToFileURL("/data/runs").href, "/data/runs"],
    ["C:\\runs", resolve("C:\\runs")],
  ])("%s is a local tree at %s", (uri, path) => {
    expect(localTreePath(uri)).toBe(path);
  });

  it.each(["memory:", "http://host:5000", "https://host", "s3://bucket/runs", "databricks:"])(
    "%s is not a local tree",
    (uri) => {
      expect(localTreePath(uri)).toBeUndefined();
    },
  );
});

describe("openStore", () => {
  it("a tree offers its folder; memory and servers offer none", async () => {
    const dir = await tempDir();
    expect((await openStore(dir)).root).toBe(dir);
    expect((await openStore(pathToFileURL(dir).href)).root).toBe(dir);
    expect((await openStore("memory:")).root).toBeUndefined();
    expect((await openStore("http://127.0.0.1:9")).root).toBeUndefined();
  });

  it("mustExist refuses a missing tree and creates nothing", async () => {
    const missing = join(await tempDir(), "typo");
    const error = await openStore(missing, { mustExist: true }).catch((e: unknown) => e);
    expect(isMlflowError(error, "RESOURCE_DOES_NOT_EXIST")).toBe(true);
    expect((error as Error).message).toBe(`No mlruns tree at ${missing}`);
    expect(existsSync(missing)).toBe(false);
    // Without it, the first write creates the tree (opening writes nothing).
    const store = await openStore(missing);
    expect(existsSync(missing)).toBe(false);
    await store.createExperiment("first");
    expect(existsSync(join(missing, ".trash"))).toBe(true);
  });

  it("mustExist refuses a folder that holds something else, or a file", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "README.md"), "# a project\n");
    const error = await openStore(dir, { mustExist: true }).catch((e: unknown) => e);
    expect((error as Error).message).toBe(`${dir} is not an mlruns tree`);
    expect(readdirSync(dir)).toEqual(["README.md"]);
  });

  it("a scheme it does not know is refused, not taken for a folder", async () => {
    const error = await openStore("databricks:").catch((e: unknown) => e);
    expect(isMlflowError(error, "INVALID_PARAMETER_VALUE")).toBe(true);
    expect((error as Error).message).toBe("Unsupported tracking URI 'databricks:'");
  });
});
