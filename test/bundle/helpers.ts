/** Shared by the bundle tests: temp trees, a tree's state on disk, data compared across trees. */
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import {
  entries,
  MANIFEST,
  type Manifest,
  SUMS,
  sha256,
  sumsText,
} from "../../src/bundle/manifest.ts";
import { bundleBytes } from "../../src/bundle/source.ts";
import { archiveEnd, entryHeader, padding } from "../../src/bundle/tar.ts";
import { readTar } from "../../src/bundle/untar.ts";
import type { TrackingStore } from "../../src/store/store.ts";
import { ORIGIN_TAG } from "../../src/sync/identity.ts";
import { compareCodePoints, type Dump, dumpStore } from "../compat/dump.ts";

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** A fresh temporary folder, removed after the test file. */
export async function tempDir(prefix = "mlruns-bundle-test-"): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/**
 * Everything on disk under `root` that a change would touch: each file's path, size, inode,
 * modification time and content hash, and each folder. Equal states: nothing was written. The
 * search index (a cache a store saves on a timer after searching) is left out.
 */
export async function treeState(root: string): Promise<string[]> {
  const lines: string[] = [];
  const visit = async (dir: string, prefix: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (prefix === "" && entry.name === ".mlruns-index.json") continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        lines.push(`${prefix}${entry.name}/`);
        await visit(path, `${prefix}${entry.name}/`);
      } else {
        const s = await stat(path);
        const hash = createHash("sha1")
          .update(await readFile(path))
          .digest("hex");
        lines.push(`${prefix}${entry.name} ${s.size} ${s.ino} ${s.mtimeMs} ${hash}`);
      }
    }
  };
  // A store writes nothing before its first write: no folder yet is a state too.
  await visit(root, "").catch((error: NodeJS.ErrnoException) => {
    if (error.code !== "ENOENT") throw error;
    lines.push("(no folder)");
  });
  return lines.sort();
}

/**
 * What a store holds, without what differs between two trees holding the same runs: experiment
 * ids (experiments are matched by name), locations, times of experiments, and the origin tag.
 * Only active experiments with runs (what a bundle carries).
 */
export async function comparable(
  store: TrackingStore,
  options: { sortHistories?: boolean } = {},
): Promise<unknown> {
  const dump: Dump = await dumpStore(store);
  const names = new Map(dump.experiments.map((e) => [e.experiment_id, e.name]));
  const active = new Set(
    dump.experiments.filter((e) => e.lifecycle_stage === "active").map((e) => e.experiment_id),
  );
  return {
    experiments: dump.experiments
      .filter((e) => active.has(e.experiment_id))
      .filter((e) => dump.runs.some((r) => r.info.experiment_id === e.experiment_id))
      .map((e) => ({ name: e.name, tags: e.tags }))
      .sort((a, b) => compareCodePoints(a.name, b.name)),
    runs: dump.runs
      .filter((r) => active.has(r.info.experiment_id))
      .map((r) => {
        const { [ORIGIN_TAG]: _, ...tags } = r.tags;
        const { artifact_uri: _a, experiment_id, ...info } = r.info;
        const history = Object.fromEntries(
          Object.entries(r.metric_history).map(([key, points]) => [
            key,
            options.sortHistories ? [...points].sort((a, b) => a[0] - b[0] || a[2] - b[2]) : points,
          ]),
        );
        return {
          ...r,
          info: { ...info, experiment: names.get(experiment_id) },
          tags,
          metric_history: history,
        };
      }),
  };
}

export interface Item {
  path: string;
  type: "file" | "dir" | "symlink";
  data: Buffer;
}

/** Every entry of a bundle, in order, with its data (small bundles only). */
export async function bundleItems(bundle: string): Promise<Item[]> {
  const items: Item[] = [];
  await readTar(bundleBytes(bundle), async (entry, body) => {
    const parts: Buffer[] = [];
    for await (const part of body) parts.push(part);
    items.push({ path: entry.path, type: entry.type, data: Buffer.concat(parts) });
  });
  return items;
}

/** An archive of exactly these entries (a symlink item's data is its target). */
export function archiveOf(items: Item[]): Buffer {
  const parts: Buffer[] = [];
  for (const item of items) {
    if (item.type === "symlink") {
      const header = entryHeader(item.path, "file", 0, 0);
      header.write("2", 156);
      header.write(item.data.toString(), 157, 100);
      header.fill(0x20, 148, 156);
      let sum = 0;
      for (const byte of header) sum += byte;
      header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
      parts.push(header);
      continue;
    }
    parts.push(
      entryHeader(item.path, item.type, item.data.length, 0),
      item.data,
      padding(item.data.length),
    );
  }
  const body = Buffer.concat(parts);
  return Buffer.concat([body, archiveEnd(body.length)]);
}

/**
 * A bundle rebuilt after `edit` changed its entries and/or manifest, with sizes, hashes and
 * SHA256SUMS made consistent again, as a forger who knows the format would make it.
 */
export async function forge(
  bundle: string,
  edit: (items: Item[], manifest: Manifest) => void,
): Promise<Buffer> {
  const items = await bundleItems(bundle);
  const manifest = JSON.parse((items[0] as Item).data.toString()) as Manifest;
  const data = items.filter((i) => i.path !== MANIFEST && i.path !== SUMS);
  edit(data, manifest);
  const byPath = new Map(data.map((i) => [i.path, i]));
  for (const file of manifest.files) {
    const item = byPath.get(file.path);
    if (item === undefined || item.type !== "file") continue;
    file.size = item.data.length;
    file.sha256 = sha256(item.data);
  }
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const head: Item[] = [
    { path: MANIFEST, type: "file", data: manifestBytes },
    { path: SUMS, type: "file", data: Buffer.from(sumsText(sha256(manifestBytes), manifest)) },
  ];
  const order = entries(manifest);
  const sorted = [...data].sort((a, b) => {
    const key = (i: Item) => {
      const at = order.indexOf(i.type === "dir" ? `${i.path}/` : i.path);
      return at < 0 ? order.length : at;
    };
    return key(a) - key(b);
  });
  return archiveOf([...head, ...sorted]);
}
