/**
 * Bundles: runs carried as one file to where the network is (air-gapped machines, clusters).
 * `exportBundle` writes them, `importBundle` merges them into a tree, `syncBundle` pushes one to
 * a server without unpacking it by hand. A run keeps its id and its origin (the tree it was first
 * written in) through every bundle and tree, so sync finds it on a server whichever way it came.
 */
import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { FileStore } from "../store/file/index.ts";
import { runDocument } from "../store/file/meta.ts";
import { toYaml } from "../store/file/yaml.ts";
import { type SyncReport, sync } from "../sync/index.ts";
import type { SyncOptions } from "../sync/options.ts";
import { checkStaged, readRunMeta } from "./check.ts";
import { TREE } from "./manifest.ts";
import type { KeyInput } from "./sign.ts";
import type { BundleInput } from "./source.ts";
import { unpackBundle } from "./unpack.ts";

export { type ExportIssue, type ExportOptions, type ExportReport, exportBundle } from "./export.ts";
export {
  type ImportIssue,
  type ImportOptions,
  type ImportOutcome,
  type ImportReport,
  importBundle,
} from "./import.ts";
export type { KeyInput } from "./sign.ts";
export type { BundleInput } from "./source.ts";

export interface SyncBundleOptions extends Omit<SyncOptions, "source" | "ledgerPath"> {
  bundle: BundleInput;
  /** Refuse the bundle unless it is signed by the private half of this Ed25519 public key. */
  verifyKey?: KeyInput;
}

/**
 * Pushes a bundle's runs to `target` as `sync` pushes a tree's, with the same identity: a run
 * already there (pushed from its own tree, from a tree it was imported into, or from another
 * bundle) is found and completed, never copied twice. The bundle is unpacked and checked in a
 * temporary folder first.
 */
export async function syncBundle(options: SyncBundleOptions): Promise<SyncReport> {
  const { bundle, verifyKey, ...rest } = options;
  const staging = await fs.mkdtemp(join(tmpdir(), "mlruns-bundle-"));
  try {
    const unpacked = await unpackBundle(
      bundle,
      staging,
      verifyKey === undefined ? {} : { verifyKey },
    );
    const root = join(staging, TREE);
    await checkStaged(root, unpacked.manifest);
    // Artifacts by absolute location: a relative one would be looked for from the working folder.
    for (const run of unpacked.manifest.runs) {
      const folder = join(root, run.experiment, run.id);
      const stored = readRunMeta(folder, run.id, "meta.yaml");
      if (stored.info.artifactUri !== `${TREE}/${run.experiment}/${run.id}/artifacts`) continue;
      stored.info.artifactUri = pathToFileURL(join(folder, "artifacts")).href;
      await fs.writeFile(join(folder, "meta.yaml"), toYaml(runDocument(stored)));
    }
    const source = new FileStore(root, { onProblem: () => {} });
    try {
      const report = await sync({ ...rest, source, ledgerPath: null });
      return { ...report, source: typeof bundle === "string" ? bundle : "-" };
    } finally {
      await source.close();
    }
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}
