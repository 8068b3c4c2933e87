import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { FileStore } from "../../src/store/file/index.ts";
import { MemoryStore } from "../../src/store/memory/index.ts";
import { sync } from "../../src/sync/index.ts";

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

it("a dry run from a tree writes nothing to it, not even the tree's id", async () => {
  const dir = await mkdtemp(join(tmpdir(), "mlruns-dry-"));
  dirs.push(dir);
  const root = join(dir, "mlruns");
  const writer = new FileStore(root, { searchIndex: { file: null } });
  const experimentId = await writer.createExperiment("dry");
  await writer.createRun({ experimentId });
  const before = (await readdir(root, { recursive: true })).sort();
  const source = new FileStore(root, { searchIndex: { file: null } });
  const report = await sync({ source, target: new MemoryStore(), dryRun: true, ledgerPath: null });
  expect(report.counts.created).toBe(1);
  expect((await readdir(root, { recursive: true })).sort()).toEqual(before);
});
