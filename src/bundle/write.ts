/**
 * Writing a bundle: the archive in manifest order (each file re-hashed as it is copied, so a file
 * that changed since it was hashed stops the export), in 1 MiB writes, gzipped if asked, to a
 * stream or to a file that appears under its name only once complete.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { replaceFile } from "../atomic.ts";
import { MlflowError } from "../errors.ts";
import { type BundleFile, entryOrder } from "./manifest.ts";
import { type FileSnapshot, readRange, SMALL_FILE } from "./snapshot.ts";
import { archiveEnd, entryHeader, padding } from "./tar.ts";

/** A file of the bundle and where its bytes come from. */
export interface Entry {
  file: BundleFile;
  snapshot: FileSnapshot;
}

const GZIP_LEVEL = 6;
const WRITE_SIZE = 1 << 20;

/** The archive, block by block: the head, then every folder and file in manifest order. */
export async function* writeArchive(
  head: [string, Buffer][],
  dirs: string[],
  entries: Entry[],
  mtime: number,
  onBytes: (bytes: number) => void,
): AsyncGenerator<Buffer> {
  let written = 0;
  const out = (block: Buffer) => {
    written += block.length;
    return block;
  };
  for (const [path, data] of head) {
    yield out(entryHeader(path, "file", data.length, mtime));
    yield out(data);
    yield out(padding(data.length));
  }
  const files = new Map(entries.map((e) => [e.file.path, e]));
  const order = [...dirs.map((d) => `${d}/`), ...files.keys()].sort(entryOrder);
  for (const path of order) {
    const entry = files.get(path);
    if (entry === undefined) {
      yield out(entryHeader(path.slice(0, -1), "dir", 0, mtime));
      continue;
    }
    const { file, snapshot } = entry;
    yield out(entryHeader(path, "file", file.size, mtime));
    const hash = createHash("sha256");
    let sent = 0;
    for await (const chunk of contentOf(snapshot, file)) {
      hash.update(chunk);
      sent += chunk.length;
      onBytes(chunk.length);
      yield out(chunk);
    }
    if (sent !== file.size || hash.digest("hex") !== file.sha256) {
      throw new MlflowError("INVALID_STATE", `${path} changed while it was being exported`, {
        hint: "Export again (a run still writing is fine: only finished lines are taken)",
      });
    }
    yield out(padding(file.size));
  }
  yield out(archiveEnd(written));
}

async function* contentOf(snapshot: FileSnapshot, file: BundleFile): AsyncGenerator<Buffer> {
  const from = file.from ?? 0;
  if (snapshot.data !== undefined) {
    yield snapshot.data.subarray(from, from + file.size);
    return;
  }
  if (file.size === 0) return;
  if (file.size <= SMALL_FILE) {
    yield readRange(snapshot.abs, from, file.size);
    return;
  }
  yield* createReadStream(snapshot.abs, {
    start: from,
    end: from + file.size - 1,
    highWaterMark: 1 << 20,
  });
}

/** Small pieces (headers, small files) joined into writes of about 1 MiB. */
async function* coalesce(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let length = 0;
  for await (const chunk of source) {
    parts.push(chunk);
    length += chunk.length;
    if (length >= WRITE_SIZE) {
      yield Buffer.concat(parts, length);
      parts = [];
      length = 0;
    }
  }
  if (length > 0) yield Buffer.concat(parts, length);
}

/**
 * Writes the archive (gzipped if asked: default when the path ends in `.gz` or `.tgz`) to a
 * stream, or to a file, which appears whole (atomic.ts). Returns the bytes written.
 */
export async function writeOutput(
  blocks: AsyncGenerator<Buffer>,
  output: string | NodeJS.WritableStream,
  gzipOption: boolean | undefined,
): Promise<number> {
  const gzip = gzipOption ?? (typeof output === "string" && /\.(t?gz)$/i.test(output));
  const archive = coalesce(blocks);
  let size = 0;
  async function* bytes(): AsyncGenerator<Buffer> {
    const gzipped = createGzip({ level: GZIP_LEVEL });
    // pipeline, not pipe: an error of the archive (a file changed) must reach the reader.
    const feeding = gzip ? pipeline(Readable.from(archive), gzipped) : undefined;
    feeding?.catch(() => {});
    for await (const chunk of (gzip ? gzipped : archive) as AsyncIterable<Buffer>) {
      size += chunk.length;
      yield chunk;
    }
    await feeding;
  }
  const write = (to: NodeJS.WritableStream, end = true) =>
    pipeline(Readable.from(bytes()), to, { end });
  if (typeof output !== "string") {
    await write(output, output !== process.stdout);
    return size;
  }
  await replaceFile(output, bytes());
  return size;
}
