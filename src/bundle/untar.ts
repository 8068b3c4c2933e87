/**
 * Reading tar archives, strictly and in bounded memory: entries are handed over one at a time
 * with their data as a stream. Only regular files and directories (with PAX `path` and `size`)
 * are accepted; links, devices, GNU extensions, unsafe paths, bad checksums and a missing end of
 * archive are refused with the reason, before the entry is handed over.
 */
import { invalid } from "../errors.ts";
import { BLOCK, checksum } from "./tar.ts";

export interface TarEntry {
  /** `/`-separated, relative, without a trailing slash. */
  path: string;
  type: "file" | "dir";
  size: number;
}

/** Reads up to the end of an async byte source in exact amounts. */
class Bytes {
  readonly #source: AsyncIterator<Uint8Array>;
  #chunk: Buffer = Buffer.alloc(0);
  #at = 0;
  /** Bytes consumed so far, for error messages. */
  offset = 0;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.#source = source[Symbol.asyncIterator]();
  }

  async #fill(): Promise<boolean> {
    while (this.#at >= this.#chunk.length) {
      const next = await this.#source.next();
      if (next.done) return false;
      this.#chunk = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
      this.#at = 0;
    }
    return true;
  }

  /** Up to `max` bytes (at least one), or undefined at the end of the source. */
  async some(max: number): Promise<Buffer | undefined> {
    if (!(await this.#fill())) return undefined;
    const take = this.#chunk.subarray(this.#at, this.#at + max);
    this.#at += take.length;
    this.offset += take.length;
    return take;
  }

  /** Exactly `n` bytes; undefined when the source ends first (`n` bytes or none at all). */
  /** Stops reading the source (closing a file, a decompressor). */
  async close(): Promise<void> {
    await this.#source.return?.();
  }

  async exactly(n: number): Promise<Buffer | undefined> {
    const parts: Buffer[] = [];
    let got = 0;
    while (got < n) {
      const part = await this.some(n - got);
      if (part === undefined) return undefined;
      parts.push(part);
      got += part.length;
    }
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  }
}

const refuse = (message: string) =>
  invalid(message, "The archive is damaged or was not written by `mlruns export`; export again");

const truncated = (offset: number) =>
  invalid(
    `The archive ends early (after ${offset} bytes): it is truncated`,
    "Copy the whole file again, then retry",
  );

/** A relative path with no empty, `.` or `..` part (and, on Windows, no `\` or drive). */
export function isSafePath(path: string): boolean {
  if (path === "" || path.startsWith("/") || path.includes("\0")) return false;
  if (process.platform === "win32" && /[\\:]/.test(path)) return false;
  return path.split("/").every((part) => part !== "" && part !== "." && part !== "..");
}

function text(block: Buffer, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? length : end).toString("utf8");
}

function octal(block: Buffer, offset: number, length: number, what: string): number {
  const field = text(block, offset, length).trim();
  if (!/^[0-7]*$/.test(field)) throw refuse(`Tar header field '${what}' is not an octal number`);
  return field === "" ? 0 : Number.parseInt(field, 8);
}

function parsePax(data: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    const length = Number(data.subarray(at, space).toString("ascii"));
    const record = data.subarray(at, at + length);
    if (space < 0 || !Number.isSafeInteger(length) || length <= 0 || record.at(-1) !== 0x0a) {
      throw refuse("A PAX extended header is malformed");
    }
    const body = record.subarray(space - at + 1, length - 1).toString("utf8");
    const equals = body.indexOf("=");
    if (equals <= 0) throw refuse("A PAX extended header is malformed");
    records.set(body.slice(0, equals), body.slice(equals + 1));
    at += length;
  }
  return records;
}

const TYPES: Record<string, string> = {
  "1": "a hard link",
  "2": "a symbolic link",
  "3": "a character device",
  "4": "a block device",
  "6": "a FIFO",
  g: "a global PAX header",
  K: "a GNU long link name",
  L: "a GNU long name",
  S: "a GNU sparse file",
};
const MAX_PAX = 1 << 20;

/**
 * Calls `onEntry` for each entry in order; `body` yields exactly `entry.size` bytes and must be
 * read (or left) before `onEntry` resolves. Resolves once the end-of-archive blocks are read.
 */
export async function readTar(
  source: AsyncIterable<Uint8Array>,
  onEntry: (entry: TarEntry, body: AsyncIterable<Buffer>) => Promise<void>,
): Promise<void> {
  const bytes = new Bytes(source);
  try {
    await readEntries(bytes, onEntry);
  } finally {
    await bytes.close();
  }
}

async function readEntries(
  bytes: Bytes,
  onEntry: (entry: TarEntry, body: AsyncIterable<Buffer>) => Promise<void>,
): Promise<void> {
  let pax: Map<string, string> | undefined;
  for (;;) {
    const block = await bytes.exactly(BLOCK);
    if (block === undefined) throw truncated(bytes.offset);
    if (block.every((b) => b === 0)) return endOfArchive(bytes);
    if (octal(block, 148, 8, "checksum") !== checksum(block)) {
      throw refuse(`Tar header at byte ${bytes.offset - BLOCK} has a bad checksum`);
    }
    if (text(block, 257, 6) !== "ustar" || text(block, 263, 2) !== "00") {
      throw refuse(`Tar header at byte ${bytes.offset - BLOCK} is not a POSIX ustar header`);
    }
    const flag = String.fromCharCode(block[156] as number);
    let size = octal(block, 124, 12, "size");
    if (flag === "x") {
      if (pax !== undefined || size > MAX_PAX) throw refuse("A PAX extended header is malformed");
      const data = await bytes.exactly(size + ((BLOCK - (size % BLOCK)) % BLOCK));
      if (data === undefined) throw truncated(bytes.offset);
      pax = parsePax(data.subarray(0, size));
      continue;
    }
    const prefix = text(block, 345, 155);
    let path = prefix === "" ? text(block, 0, 100) : `${prefix}/${text(block, 0, 100)}`;
    if (pax?.has("path")) path = pax.get("path") as string;
    if (pax?.has("size")) size = Number(pax.get("size"));
    if (pax?.has("linkpath")) throw refuse(`Entry '${path}' is a link`);
    pax = undefined;
    if (!Number.isSafeInteger(size) || size < 0) throw refuse(`Entry '${path}' has a bad size`);
    const type = flag === "5" ? "dir" : flag === "0" || flag === "\0" ? "file" : undefined;
    if (type === undefined) {
      throw refuse(
        `Entry '${path}' is ${TYPES[flag] ?? `of tar type '${flag}'`}; only files and folders are accepted`,
      );
    }
    if (type === "dir") path = path.replace(/\/$/, "");
    if (!isSafePath(path))
      throw refuse(`Entry '${path}' would be written outside the target folder`);
    if (type === "dir" && size !== 0) throw refuse(`Folder entry '${path}' has data`);
    const body = entryBody(bytes, size);
    await onEntry({ path, type, size }, body);
    for await (const _ of body) {
      // Whatever the caller left unread.
    }
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if (pad > 0 && (await bytes.exactly(pad)) === undefined) throw truncated(bytes.offset);
  }
}

/** The data of one entry, as it arrives; can be iterated once (further iterations are empty). */
function entryBody(bytes: Bytes, size: number): AsyncIterable<Buffer> {
  let left = size;
  return {
    async *[Symbol.asyncIterator]() {
      while (left > 0) {
        const part = await bytes.some(Math.min(left, 1 << 20));
        if (part === undefined) throw truncated(bytes.offset);
        left -= part.length;
        yield part;
      }
    },
  };
}

/** After the first zero block: a second one, then nothing but zero padding. */
async function endOfArchive(bytes: Bytes): Promise<void> {
  const second = await bytes.exactly(BLOCK);
  if (second === undefined) throw truncated(bytes.offset);
  if (!second.every((b) => b === 0)) throw refuse("Data follows a zero block inside the archive");
  for (;;) {
    const rest = await bytes.some(1 << 16);
    if (rest === undefined) return;
    if (!rest.every((b) => b === 0)) {
      throw refuse(`Data follows the end of the archive (at byte ${bytes.offset - rest.length})`);
    }
  }
}
