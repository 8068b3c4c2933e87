/**
 * Large uploads in parts, with bounded memory: a source is read one part at a time, and at most
 * `concurrency` parts are in flight. Parts carry their MD5, which the stores check on arrival and
 * which lets an upload a killed process left behind be resumed without sending a part twice.
 */
import { createHash } from "node:crypto";
import { open, stat } from "node:fs/promises";
import type { ArtifactData } from "../entities.ts";

export interface Part {
  /** 0-based. */
  index: number;
  offset: number;
  data: Buffer;
}

/** MLflow's MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE, 10 MiB by default. */
export function partSizeFrom(env: Readonly<Record<string, string | undefined>>): number {
  const value = Number(env.MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE);
  return Number.isSafeInteger(value) && value > 0 ? value : 10 * 1024 * 1024;
}

/** The size of a source when it is known before reading it. */
export async function sourceSize(data: ArtifactData): Promise<number | undefined> {
  if (data instanceof Uint8Array) return data.byteLength;
  if ("file" in data) return (await stat(data.file)).size;
  return undefined;
}

/** The source in parts of exactly `partSize` bytes (the last may be shorter; an empty source is one empty part). */
export async function* readParts(source: ArtifactData, partSize: number): AsyncGenerator<Part> {
  if (source instanceof Uint8Array) {
    const bytes = Buffer.from(source.buffer, source.byteOffset, source.byteLength);
    let index = 0;
    for (let offset = 0; offset < bytes.length || index === 0; offset += partSize, index++) {
      yield { index, offset, data: bytes.subarray(offset, offset + partSize) };
    }
    return;
  }
  if ("file" in source) {
    const handle = await open(source.file, "r");
    try {
      for (let index = 0, offset = 0; ; index++) {
        const data = Buffer.allocUnsafe(partSize);
        let filled = 0;
        while (filled < partSize) {
          const { bytesRead } = await handle.read(data, filled, partSize - filled, offset + filled);
          if (bytesRead === 0) break;
          filled += bytesRead;
        }
        if (filled === 0 && index > 0) return;
        yield { index, offset, data: data.subarray(0, filled) };
        if (filled < partSize) return;
        offset += filled;
      }
    } finally {
      await handle.close();
    }
  }
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let index = 0;
  let offset = 0;
  for await (const chunk of source) {
    let rest = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    while (pendingBytes + rest.length >= partSize) {
      const take = partSize - pendingBytes;
      pending.push(rest.subarray(0, take));
      rest = rest.subarray(take);
      yield { index, offset, data: Buffer.concat(pending, partSize) };
      index++;
      offset += partSize;
      pending = [];
      pendingBytes = 0;
    }
    if (rest.length > 0) {
      // Copied: the producer may reuse its buffer.
      pending.push(Buffer.from(rest));
      pendingBytes += rest.length;
    }
  }
  if (pendingBytes > 0 || index === 0) yield { index, offset, data: Buffer.concat(pending) };
}

/**
 * The first part, and whether more follow: a source that fits in one part is sent in one
 * request. The generator is left positioned after the parts returned.
 */
export async function peekParts(
  parts: AsyncGenerator<Part>,
): Promise<{ first: Part; second: Part | undefined }> {
  const first = (await parts.next()).value as Part;
  const next = await parts.next();
  return { first, second: next.done ? undefined : next.value };
}

/** The parts given, then the rest of the generator. */
export async function* chain(head: Part[], rest: AsyncGenerator<Part>): AsyncGenerator<Part> {
  yield* head;
  yield* rest;
}

export const md5 = (data: Uint8Array) => createHash("md5").update(data).digest();

/**
 * Runs `task` for every item with at most `concurrency` at once, pulling items only as workers
 * free up (so a generator of parts is read no faster than parts are sent). The first failure
 * stops the pulling and is thrown once the tasks in flight have settled.
 */
export async function eachConcurrently<T>(
  items: AsyncIterable<T> | Iterable<T>,
  concurrency: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  const iterator =
    Symbol.asyncIterator in items
      ? (items as AsyncIterable<T>)[Symbol.asyncIterator]()
      : (items as Iterable<T>)[Symbol.iterator]();
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (failure === undefined) {
      try {
        const next = await iterator.next();
        if (next.done) return;
        await task(next.value);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (failure !== undefined) {
    await iterator.return?.();
    throw failure.error;
  }
}

/** How one store takes a file in parts; `uploadInParts` drives it. */
export interface PartSink {
  /** Parts sent at once. */
  readonly concurrency: number;
  /** A source that fits in one part, in one request. */
  putWhole(data: Buffer, digest: Buffer): Promise<void>;
  /** Starts a multipart upload, or finds the one an earlier, interrupted attempt left. */
  start(): Promise<void>;
  /** True when an earlier attempt already stored this very part (same place, size and MD5). */
  stored(part: Part, digest: Buffer): boolean;
  putPart(part: Part, digest: Buffer, last: boolean): Promise<void>;
  /** Makes the file visible, whole. */
  finish(): Promise<void>;
}

/** Each part with whether it is the last, looking one part ahead. */
async function* withLast(
  parts: AsyncGenerator<Part>,
): AsyncGenerator<{ part: Part; last: boolean }> {
  let previous: Part | undefined;
  for await (const part of parts) {
    if (previous !== undefined) yield { part: previous, last: false };
    previous = part;
  }
  if (previous !== undefined) yield { part: previous, last: true };
}

export async function uploadInParts(
  sink: PartSink,
  source: ArtifactData,
  partSize: number,
  onProgress?: (bytes: number) => void,
): Promise<void> {
  const parts = readParts(source, partSize);
  const { first, second } = await peekParts(parts);
  if (second === undefined) {
    await sink.putWhole(first.data, md5(first.data));
    onProgress?.(first.data.length);
    return;
  }
  await sink.start();
  await eachConcurrently(
    withLast(chain([first, second], parts)),
    sink.concurrency,
    async ({ part, last }) => {
      const digest = md5(part.data);
      if (sink.stored(part, digest)) return;
      await sink.putPart(part, digest, last);
      onProgress?.(part.data.length);
    },
  );
  await sink.finish();
}
