import { cp, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { applyGc, planGc } from "../src/gc.ts";
import { FileStore } from "../src/store/file/index.ts";

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "mlruns-gc-"));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe("gc", () => {
  it("removes a deleted run's artifacts at a custom location with the run", async () => {
    const dir = await tempDir();
    const store = new FileStore(join(dir, "mlruns"));
    const location = join(dir, "artifacts");
    const experimentId = await store.createExperiment("custom", {
      artifactLocation: pathToFileURL(location).href,
    });
    const [gone, kept] = [
      (await store.createRun({ experimentId })).info.runId,
      (await store.createRun({ experimentId })).info.runId,
    ];
    await writeFile(join(dir, "a.txt"), "a");
    for (const runId of [gone, kept]) await store.logArtifact(runId, join(dir, "a.txt"));
    await store.deleteRun(gone);
    const plan = await planGc(store.root);
    expect(plan.items.map((i) => [i.id, i.paths])).toEqual([
      [gone, [join(store.root, experimentId, gone), join(location, gone, "artifacts")]],
    ]);
    await applyGc(plan);
    expect(await readdir(join(location, kept, "artifacts"))).toEqual(["a.txt"]);
    expect(await readdir(join(location, gone))).toEqual([]);
  });

  it("in a copy of a tree, never touches the original's artifacts", async () => {
    const dir = await tempDir();
    const original = join(dir, "mlruns");
    const store = new FileStore(original);
    const { runId } = (await store.createRun({ experimentId: "0" })).info;
    await writeFile(join(dir, "a.txt"), "a");
    await store.logArtifact(runId, join(dir, "a.txt"));
    const copy = join(dir, "copy");
    await cp(original, copy, { recursive: true });
    await new FileStore(copy).deleteRun(runId);
    const plan = await planGc(copy);
    expect(plan.items.map((i) => i.paths)).toEqual([[join(copy, "0", runId)]]);
    await applyGc(plan);
    expect(await readFile(join(original, "0", runId, "artifacts", "a.txt"), "utf8")).toBe("a");
  });
});
