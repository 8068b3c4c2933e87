/**
 * Hostile and damaged bundles: each is refused with a message saying why, and the tree it was to
 * go into is left exactly as it was (no file, no folder, no staging leftover), nor is anything
 * written outside it.
 */

import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { exportBundle } from "../../src/bundle/export.ts";
import { importBundle } from "../../src/bundle/import.ts";
import { syncBundle } from "../../src/bundle/index.ts";
import { FileStore } from "../../src/store/file/index.ts";
import { MemoryStore } from "../../src/store/memory/index.ts";
import { archiveOf, bundleItems, forge, type Item, tempDir, treeState } from "./helpers.ts";

const quiet = { onProblem: () => {} };
let dir: string;
let bundle: string;
let bytes: Buffer;
let target: FileStore;

beforeAll(async () => {
  dir = await tempDir();
  const source = new FileStore(join(dir, "source"), quiet);
  const experimentId = await source.createExperiment("exp");
  const run = await source.createRun({ experimentId, runName: "r" });
  await source.logBatch(run.info.runId, {
    params: { lr: "0.1" },
    metrics: Array.from({ length: 500 }, (_, i) => ({
      key: "loss",
      value: i,
      timestamp: i,
      step: i,
    })),
  });
  await writeFile(join(dir, "weights.bin"), Buffer.alloc(20_000, 3));
  await source.logArtifact(run.info.runId, join(dir, "weights.bin"));
  bundle = join(dir, "good.tar");
  await exportBundle({ source, output: bundle });
  bytes = await readFile(bundle);
  // A tree that already holds something, so that "left as it was" means something.
  target = new FileStore(join(dir, "target"), quiet);
  const own = await target.createExperiment("own");
  await target.createRun({ experimentId: own, runName: "own-run" });
});

async function expectRefused(data: Buffer, message: RegExp): Promise<void> {
  const file = join(await tempDir(), "bad.tar");
  await writeFile(file, data);
  const before = await treeState(target.root);
  await expect(importBundle({ bundle: file, target })).rejects.toThrow(message);
  expect(await treeState(target.root)).toEqual(before);
  // Nor does pushing it to a server go anywhere.
  const server = new MemoryStore();
  await expect(syncBundle({ bundle: file, target: server })).rejects.toThrow(message);
  expect(await server.listExperiments("ALL")).toHaveLength(1);
}

const edit = (f: (items: Item[]) => void) => forge(bundle, (items) => f(items));
const file = (items: Item[], suffix: string) =>
  items.find((i) => i.type === "file" && i.path.endsWith(suffix)) as Item;

describe("a bundle is refused, and nothing written, when", { timeout: 60_000 }, () => {
  it("one byte of a file is changed", async () => {
    const at = bytes.indexOf(Buffer.alloc(64, 3)) + 10;
    const altered = Buffer.from(bytes);
    altered[at] = 4;
    await expectRefused(altered, /altered or damaged: the content of '.*weights.bin'/);
  });

  it("one byte of the manifest is changed", async () => {
    const altered = Buffer.from(bytes);
    const at = altered.indexOf(Buffer.from('"name":"exp"'));
    altered[at + 8] = "x".charCodeAt(0); // "exp" becomes "xxp"
    await expectRefused(altered, /SHA256SUMS does not match its manifest/);
  });

  for (const fraction of [0.02, 0.2, 0.5, 0.8, 0.99]) {
    it(`it is cut short (${fraction * 100}% of its content kept)`, async () => {
      // The content ends with the last data block; zeros after it are the end and padding.
      let end = bytes.length;
      while (end > 0 && bytes[end - 1] === 0) end--;
      await expectRefused(bytes.subarray(0, Math.floor(end * fraction)), /truncated|ends|missing/);
    });
  }

  it("it ends after its last entry, without the end-of-archive blocks", async () => {
    let end = bytes.length;
    while (end > 0 && bytes[end - 1] === 0) end--;
    await expectRefused(bytes.subarray(0, Math.ceil(end / 512) * 512), /truncated/);
  });

  it("its gzip stream is cut short", async () => {
    const gz = gzipSync(bytes);
    await expectRefused(gz.subarray(0, gz.length - 20), /compressed data is damaged or cut short/);
  });

  it("a file is missing", async () => {
    const items = (await bundleItems(bundle)).filter((i) => !i.path.endsWith("params/lr"));
    await expectRefused(archiveOf(items), /'.*params\/lr' is missing|is where/);
  });

  it("an entry the manifest does not list is added", async () => {
    const items = await bundleItems(bundle);
    const extra: Item = { path: "mlruns/zz-extra", type: "file", data: Buffer.from("x") };
    await expectRefused(archiveOf([...items, extra]), /'mlruns\/zz-extra' is not in the manifest/);
  });

  it("an entry would climb out of the tree, even with a manifest that lists it", async () => {
    const forged = await forge(bundle, (items, manifest) => {
      manifest.files.push({ path: "mlruns/../../escaped", size: 1, sha256: "0".repeat(64) });
      items.push({ path: "mlruns/../../escaped", type: "file", data: Buffer.from("x") });
    });
    await expectRefused(forged, /would be written outside|not a path inside/);
    expect(existsSync(join(target.root, "..", "escaped"))).toBe(false);
  });

  it("an entry is an absolute path", async () => {
    const items = await bundleItems(bundle);
    const absolute: Item = { path: "/tmp/evil", type: "file", data: Buffer.from("x") };
    const raw = archiveOf([...items.slice(0, 3), absolute]);
    // The writer would not write a leading slash; put one into the header by hand.
    const at = raw.indexOf(Buffer.from("tmp/evil"));
    const patched = Buffer.concat([raw.subarray(0, at), Buffer.from("/"), raw.subarray(at)]);
    await expectRefused(patched, /outside|checksum/);
  });

  it("an entry is a symbolic link (to a file outside), listed in the manifest", async () => {
    const forged = await edit((items) => {
      const weights = file(items, "weights.bin");
      weights.type = "symlink";
      weights.data = Buffer.from("/etc/passwd");
    });
    await expectRefused(forged, /symbolic link/);
  });

  it("a run names another origin than its origin tag says", async () => {
    const forged = await forge(bundle, (_, manifest) => {
      (manifest.runs[0] as { origin: string }).origin = "another-tree";
    });
    await expectRefused(forged, /does not carry its origin tag/);
  });

  it("a metric line is one MLflow could not read (with consistent hashes)", async () => {
    const forged = await edit((items) => {
      const loss = file(items, "metrics/loss");
      loss.data = Buffer.concat([loss.data, Buffer.from("12 not-a-number 3\n")]);
    });
    await expectRefused(forged, /MLflow could not read: .*metrics\/loss:501: value 'not-a-number'/);
  });

  it("a run's meta.yaml is not YAML MLflow reads", async () => {
    const forged = await edit((items) => {
      file(items, "/meta.yaml").data = Buffer.from("run_id: [unclosed");
    });
    await expectRefused(forged, /MLflow could not read/);
  });

  it("it is not a bundle at all", async () => {
    await expectRefused(Buffer.from("hello, world\n".repeat(100)), /checksum|ustar/);
    await expectRefused(Buffer.alloc(0), /empty/);
  });
});
