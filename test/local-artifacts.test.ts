import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isMlflowError } from "../src/errors.ts";
import { collectLocalArtifacts, joinArtifactPath } from "../src/local-artifacts.ts";

let root = "";
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "mlruns-local-artifacts-"));
  await mkdir(join(root, "model", "data", "empty"), { recursive: true });
  await writeFile(join(root, "model", "MLmodel"), "abc");
  await writeFile(join(root, "model", "data", "w.bin"), new Uint8Array(10));
  await writeFile(join(root, "notes.txt"), "hello");
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  return undefined;
}

describe("collectLocalArtifacts", () => {
  it("places a file under its base name", async () => {
    const { files, dirs } = await collectLocalArtifacts(join(root, "notes.txt"));
    expect(dirs).toEqual([]);
    expect(files).toEqual([{ path: "notes.txt", localPath: join(root, "notes.txt"), size: 5 }]);
  });

  it("places a file under an artifact path", async () => {
    const { files } = await collectLocalArtifacts(join(root, "notes.txt"), "a/b");
    expect(files.map((f) => f.path)).toEqual(["a/b/notes.txt"]);
  });

  it("walks a directory under its name, empty folders included", async () => {
    const { files, dirs } = await collectLocalArtifacts(join(root, "model"), "out");
    expect(dirs).toEqual(["out/model", "out/model/data", "out/model/data/empty"]);
    expect(files.map((f) => [f.path, f.size])).toEqual([
      ["out/model/MLmodel", 3],
      ["out/model/data/w.bin", 10],
    ]);
  });

  it("rejects artifact paths that climb out, and missing local paths", async () => {
    for (const promise of [
      collectLocalArtifacts(join(root, "notes.txt"), "../x"),
      collectLocalArtifacts(join(root, "notes.txt"), "/abs"),
      collectLocalArtifacts(join(root, "missing.txt")),
    ]) {
      expect(isMlflowError(await rejection(promise), "INVALID_PARAMETER_VALUE")).toBe(true);
    }
  });

  it("rejects a symlink loop", async () => {
    const loop = join(root, "loop");
    await mkdir(loop);
    await symlink(loop, join(loop, "self"));
    expect(isMlflowError(await rejection(collectLocalArtifacts(loop)))).toBe(true);
  });
});

describe("joinArtifactPath", () => {
  it("skips empty parts", () => {
    expect(joinArtifactPath(undefined, "a", "", "b")).toBe("a/b");
    expect(joinArtifactPath()).toBe("");
  });
});
