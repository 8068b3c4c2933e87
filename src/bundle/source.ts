/**
 * A bundle's bytes, from a file or a stream, gzip-compressed or not (told by the first bytes,
 * not the name), and the head of a bundle: its manifest, signature and SHA256SUMS, which come
 * first so that a reader knows what to expect before the first run.
 */
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { invalid } from "../errors.ts";
import {
  checkManifest,
  MANIFEST,
  type Manifest,
  SIGNATURE,
  SUMS,
  sha256,
  sumsText,
} from "./manifest.ts";
import { readTar } from "./untar.ts";

/** Where a bundle is read from: a path, or a stream (standard input). */
export type BundleInput = string | NodeJS.ReadableStream;

const MAX_MANIFEST = 1 << 30;

/** The archive's bytes, decompressed when they are gzip's. */
export async function* bundleBytes(input: BundleInput): AsyncGenerator<Uint8Array> {
  const stream =
    typeof input === "string" ? createReadStream(input, { highWaterMark: 1 << 20 }) : input;
  const chunks = (stream as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  try {
    const first = await chunks.next();
    if (first.done) throw invalid("The bundle is empty", "Copy the whole file again, then retry");
    async function* all(): AsyncGenerator<Uint8Array> {
      yield first.value as Uint8Array;
      for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield next.value;
    }
    const head = first.value as Uint8Array;
    if (head[0] !== 0x1f || head[1] !== 0x8b) {
      yield* all();
      return;
    }
    const gunzip = createGunzip();
    const done = pipeline(Readable.from(all()), gunzip);
    done.catch(() => {});
    try {
      for await (const chunk of gunzip) yield chunk as Buffer;
      await done;
    } catch (error) {
      if (String((error as { code?: unknown }).code).startsWith("Z_")) {
        throw invalid(
          `The bundle's compressed data is damaged or cut short (${(error as Error).message})`,
          "Copy the whole file again, then retry",
        );
      }
      throw error;
    }
  } finally {
    await chunks.return?.();
  }
}

export interface BundleHead {
  manifest: Manifest;
  /** The manifest's bytes as in the archive (what is signed and hashed). */
  manifestBytes: Buffer;
  manifestSha256: string;
  signature: Buffer | undefined;
}

async function collect(body: AsyncIterable<Buffer>, limit: number, what: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const part of body) {
    size += part.length;
    if (size > limit) throw invalid(`The bundle's ${what} is too large`);
    parts.push(part);
  }
  return Buffer.concat(parts);
}

/**
 * Reads a bundle entry by entry: the head first (checked: a valid manifest, and a SHA256SUMS that
 * says what the manifest says), handed to `onHead`; then each further entry to `onEntry`.
 */
export async function readBundle(
  input: BundleInput,
  onHead: (head: BundleHead) => Promise<void>,
  onEntry: (path: string, type: "file" | "dir", body: AsyncIterable<Buffer>) => Promise<void>,
): Promise<void> {
  let manifestBytes: Buffer | undefined;
  let signature: Buffer | undefined;
  let head: BundleHead | undefined;
  await readTar(bundleBytes(input), async (entry, body) => {
    if (head !== undefined) return onEntry(entry.path, entry.type, body);
    if (manifestBytes === undefined) {
      if (entry.path !== MANIFEST || entry.type !== "file") {
        throw invalid(
          `'${entry.path}' comes first, not ${MANIFEST}: this is not a bundle`,
          "Make bundles with `mlruns export`",
        );
      }
      manifestBytes = await collect(body, MAX_MANIFEST, "manifest");
      return;
    }
    if (entry.path === SIGNATURE && signature === undefined) {
      signature = await collect(body, 1024, "signature");
      return;
    }
    if (entry.path !== SUMS)
      throw invalid(`'${entry.path}' comes where ${SUMS} belongs: this is not a bundle`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(manifestBytes.toString("utf8"));
    } catch (error) {
      throw invalid(`The bundle's manifest is not JSON: ${(error as Error).message}`);
    }
    const manifest = checkManifest(parsed);
    const manifestSha256 = sha256(manifestBytes);
    const sums = await collect(body, MAX_MANIFEST, SUMS);
    if (!sums.equals(Buffer.from(sumsText(manifestSha256, manifest)))) {
      throw invalid(`The bundle's ${SUMS} does not match its manifest: the bundle was altered`);
    }
    head = { manifest, manifestBytes, manifestSha256, signature };
    await onHead(head);
  });
  if (head === undefined) throw invalid("The bundle ends before its manifest and SHA256SUMS");
}

/** Only the head of a bundle (for `--since`): stops reading after SHA256SUMS. */
export async function readHead(input: BundleInput): Promise<BundleHead> {
  const stop = new Error("head read");
  let found: BundleHead | undefined;
  try {
    await readBundle(
      input,
      async (head) => {
        found = head;
        throw stop;
      },
      async () => {},
    );
  } catch (error) {
    if (error !== stop) throw error;
  }
  return found as BundleHead;
}
