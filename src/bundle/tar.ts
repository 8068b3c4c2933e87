/**
 * Writing tar archives: POSIX ustar headers, with a PAX extended header only for what ustar
 * cannot hold (long or non-ASCII paths, files of 8 GiB and more). Every header field is fixed by
 * the caller or constant (owner 0, no user or group names, one mtime), so the same entries give
 * the same bytes on every machine. Only files and directories: bundles never hold links.
 */

export const BLOCK = 512;
/** GNU tar and Python pad archives to 20 blocks; so do we, for readers that expect it. */
const RECORD = 20 * BLOCK;
const MAX_OCTAL_SIZE = 0o77777777777;

/** The bytes `data` needs to fill its last 512-byte block. */
export function padding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

function writeOctal(block: Buffer, offset: number, width: number, value: number): void {
  block.write(value.toString(8).padStart(width - 1, "0"), offset, width - 1, "ascii");
}

/** The header checksum: the byte sum with the checksum field counted as eight spaces. */
export function checksum(block: Buffer): number {
  let sum = 8 * 0x20;
  for (let i = 0; i < BLOCK; i++) if (i < 148 || i >= 156) sum += block[i] as number;
  return sum;
}

function ustarHeader(
  name: string,
  prefix: string,
  type: "0" | "5" | "x",
  size: number,
  mtime: number,
): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(name, 0, 100, "utf8");
  writeOctal(block, 100, 8, type === "5" ? 0o755 : 0o644);
  writeOctal(block, 108, 8, 0);
  writeOctal(block, 116, 8, 0);
  writeOctal(block, 124, 12, size > MAX_OCTAL_SIZE ? 0 : size);
  writeOctal(block, 136, 12, mtime);
  block.write(type, 156, 1, "ascii");
  block.write("ustar\0", 257, 6, "ascii");
  block.write("00", 263, 2, "ascii");
  block.write(prefix, 345, 155, "ascii");
  writeOctal(block, 148, 7, checksum(block));
  block[155] = 0x20;
  return block;
}

/** One `<length> <key>=<value>\n` record; the length counts the whole record, itself included. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body);
  while (String(length).length + Buffer.byteLength(body) !== length) {
    length = String(length).length + Buffer.byteLength(body);
  }
  return `${length}${body}`;
}

/** `path` as ustar's prefix and name fields, or undefined when only PAX can hold it. */
function splitUstar(path: string): [prefix: string, name: string] | undefined {
  if (!/^[\x20-\x7e]*$/.test(path)) return undefined;
  if (path.length <= 100) return ["", path];
  for (let at = path.indexOf("/"); at >= 0; at = path.indexOf("/", at + 1)) {
    if (at <= 155 && path.length - at - 1 <= 100 && at < path.length - 1) {
      return [path.slice(0, at), path.slice(at + 1)];
    }
  }
  return undefined;
}

/**
 * The header block(s) of one entry: a directory (`size` 0) or a file of `size` bytes, whose data
 * follows, padded with `padding(size)`.
 */
export function entryHeader(
  path: string,
  type: "file" | "dir",
  size: number,
  mtime: number,
): Buffer {
  const flag = type === "dir" ? "5" : "0";
  const name = type === "dir" ? `${path}/` : path;
  const split = splitUstar(name);
  const records = [
    ...(split === undefined ? [paxRecord("path", name)] : []),
    ...(size > MAX_OCTAL_SIZE ? [paxRecord("size", String(size))] : []),
  ];
  const [prefix, short] = split ?? ["", name.replace(/[^\x20-\x7e]/g, "_").slice(-100)];
  const header = ustarHeader(short, prefix, flag, size, mtime);
  if (records.length === 0) return header;
  const pax = Buffer.from(records.join(""), "utf8");
  const paxHeader = ustarHeader("././@PaxHeader", "", "x", pax.length, mtime);
  return Buffer.concat([paxHeader, pax, padding(pax.length), header]);
}

/** The end of an archive: two zero blocks, then zeros up to a whole record. */
export function archiveEnd(written: number): Buffer {
  const end = written + 2 * BLOCK;
  return Buffer.alloc(2 * BLOCK + ((RECORD - (end % RECORD)) % RECORD));
}
