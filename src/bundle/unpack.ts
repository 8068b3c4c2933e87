/**
 * Unpacking a bundle into an empty staging folder, checking everything on the way: the manifest,
 * the signature when a key is given, SHA256SUMS, and each entry against the manifest (the same
 * path, in the same place, of the same size and SHA-256; nothing missing, nothing more). A
 * bundle that fails any check is refused before the caller writes anything where it matters.
 * Folders are made one level at a time and files created exclusively, so no entry can reach
 * outside the staging folder, whatever its name.
 */
import { createHash } from "node:crypto";
import { promises as fs, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { invalid } from "../errors.ts";
import { type BundleFile, entries } from "./manifest.ts";
import { type KeyInput, verifyManifest } from "./sign.ts";
import { SMALL_FILE } from "./snapshot.ts";
import { type BundleHead, type BundleInput, readBundle } from "./source.ts";

export interface Unpacked extends BundleHead {
  /** True when the signature was checked against a key. */
  verified: boolean;
}

const altered = (message: string) =>
  invalid(
    `The bundle was altered or damaged: ${message}`,
    "Copy it again from where it was made, or export it again",
  );

/** Unpacks `input` into `staging` (an existing empty folder); resolves once all is checked. */
export async function unpackBundle(
  input: BundleInput,
  staging: string,
  options: {
    verifyKey?: KeyInput;
    onProgress?: (bytes: number, totalBytes: number) => void;
    /** True for a (small) file the caller already holds as it is: checked, but not written. */
    alreadyHeld?: (path: string, data: Buffer) => Promise<boolean>;
  } = {},
): Promise<Unpacked> {
  let head: BundleHead | undefined;
  let order: string[] = [];
  let files = new Map<string, BundleFile>();
  let next = 0;
  let done = 0;
  let total = 0;
  await readBundle(
    input,
    async (found) => {
      if (options.verifyKey !== undefined) {
        if (found.signature === undefined) {
          throw invalid(
            "The bundle is not signed, and --verify asks for a signature",
            "Export it again with --sign",
          );
        }
        if (!(await verifyManifest(found.manifestBytes, found.signature, options.verifyKey))) {
          throw invalid(
            "The bundle's signature does not match the key: it was altered, or signed with another key",
          );
        }
      }
      head = found;
      order = entries(found.manifest);
      files = new Map(found.manifest.files.map((f) => [f.path, f]));
      total = found.manifest.files.reduce((sum, f) => sum + f.size, 0);
    },
    async (path, type, body) => {
      const expected = order[next++];
      const name = type === "dir" ? `${path}/` : path;
      if (name !== expected) {
        throw altered(
          expected === undefined
            ? `'${path}' is not in the manifest`
            : `'${path}' is where '${expected.replace(/\/$/, "")}' belongs`,
        );
      }
      const target = join(staging, ...path.split("/"));
      if (type === "dir") {
        mkdirSync(target);
        return;
      }
      const file = files.get(path) as BundleFile;
      const hash = createHash("sha256");
      let size = 0;
      const take = (chunk: Buffer) => {
        size += chunk.length;
        if (size > file.size) throw altered(`'${path}' is longer than the manifest says`);
        hash.update(chunk);
        done += chunk.length;
        options.onProgress?.(done, total);
      };
      const check = () => {
        if (size !== file.size || hash.digest("hex") !== file.sha256) {
          throw altered(`the content of '${path}' is not what the manifest says`);
        }
      };
      if (file.size <= SMALL_FILE) {
        // Small files (most of a tree) in one synchronous write: no thread-pool round trips.
        const chunks: Buffer[] = [];
        for await (const chunk of body) {
          take(chunk);
          chunks.push(chunk);
        }
        check();
        const data = Buffer.concat(chunks);
        if (!(await options.alreadyHeld?.(path, data))) writeFileSync(target, data, { flag: "wx" });
        return;
      }
      const handle = await fs.open(target, "wx");
      try {
        for await (const chunk of body) {
          take(chunk);
          await handle.write(chunk);
        }
      } finally {
        await handle.close();
      }
      check();
    },
  );
  if (next < order.length)
    throw altered(`'${(order[next] as string).replace(/\/$/, "")}' is missing`);
  const found = head as BundleHead;
  return { ...found, verified: options.verifyKey !== undefined };
}
