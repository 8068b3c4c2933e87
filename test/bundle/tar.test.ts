/**
 * The tar writer and the strict reader: what the writer makes reads back exactly (long and
 * non-ASCII paths, empty and multi-block files); what a hostile or damaged archive holds (links,
 * devices, escaping paths, bad checksums, truncation, trailing data) is refused with the reason.
 */
import { describe, expect, it } from "vitest";
import { archiveEnd, BLOCK, checksum, entryHeader, padding } from "../../src/bundle/tar.ts";
import { readTar, type TarEntry } from "../../src/bundle/untar.ts";

type Item = { path: string; type: "file" | "dir"; data?: Buffer };

function archive(items: Item[], mtime = 1_700_000_000): Buffer {
  const parts: Buffer[] = [];
  for (const item of items) {
    const data = item.data ?? Buffer.alloc(0);
    parts.push(entryHeader(item.path, item.type, data.length, mtime), data, padding(data.length));
  }
  const body = Buffer.concat(parts);
  return Buffer.concat([body, archiveEnd(body.length)]);
}

/** A raw ustar header with any field, for archives our writer would never make. */
function rawHeader(fields: { name: string; type: string; size?: number; link?: string }): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(fields.name, 0, 100, "utf8");
  block.write("0000644\0", 100);
  block.write("0000000\0", 108);
  block.write("0000000\0", 116);
  block.write(`${(fields.size ?? 0).toString(8).padStart(11, "0")}\0`, 124);
  block.write("00000000000\0", 136);
  block.write(fields.type, 156);
  block.write(fields.link ?? "", 157, 100);
  block.write("ustar\0", 257);
  block.write("00", 263);
  block.write(`${checksum(block).toString(8).padStart(6, "0")}\0 `, 148);
  return block;
}

async function read(bytes: Buffer, chunk = 777): Promise<(TarEntry & { data: string })[]> {
  const out: (TarEntry & { data: string })[] = [];
  async function* source() {
    for (let at = 0; at < bytes.length; at += chunk) yield bytes.subarray(at, at + chunk);
  }
  await readTar(source(), async (entry, body) => {
    const parts: Buffer[] = [];
    for await (const part of body) parts.push(part);
    out.push({ ...entry, data: Buffer.concat(parts).toString("latin1") });
  });
  return out;
}

describe("tar", () => {
  it("reads back every entry the writer wrote, in order and byte for byte", async () => {
    const long = `mlruns/1/${"a".repeat(120)}/metrics/${"deep/".repeat(30)}loss`;
    const items: Item[] = [
      { path: "mlruns", type: "dir" },
      { path: "mlruns/empty", type: "file" },
      { path: "mlruns/one-block", type: "file", data: Buffer.alloc(BLOCK, 7) },
      { path: "mlruns/odd", type: "file", data: Buffer.from("x".repeat(1000)) },
      { path: long, type: "file", data: Buffer.from("1 2 3\n") },
      { path: "mlruns/é 中 😀/key:with:colons", type: "file", data: Buffer.from([0, 255, 1]) },
      { path: `mlruns/${"p".repeat(99)}/${"n".repeat(99)}`, type: "dir" },
    ];
    const got = await read(archive(items));
    expect(got.map((e) => [e.path, e.type, e.size, e.data])).toEqual(
      items.map((i) => [
        i.path,
        i.type,
        i.data?.length ?? 0,
        (i.data ?? Buffer.alloc(0)).toString("latin1"),
      ]),
    );
  });

  it("writes the same bytes for the same entries, padded to whole 10 KiB records", () => {
    const items: Item[] = [{ path: "a/b", type: "file", data: Buffer.from("hello") }];
    const one = archive(items);
    expect(archive(items).equals(one)).toBe(true);
    expect(one.length % (20 * BLOCK)).toBe(0);
  });

  const refusals: [string, () => Buffer, RegExp][] = [
    [
      "a symbolic link",
      () => withEnd(rawHeader({ name: "evil", type: "2", link: "/etc/passwd" })),
      /symbolic link/,
    ],
    [
      "a hard link",
      () => withEnd(rawHeader({ name: "evil", type: "1", link: "/etc/passwd" })),
      /hard link/,
    ],
    [
      "a character device",
      () => withEnd(rawHeader({ name: "dev", type: "3" })),
      /character device/,
    ],
    ["a FIFO", () => withEnd(rawHeader({ name: "fifo", type: "6" })), /FIFO/],
    [
      "a GNU long name",
      () => withEnd(rawHeader({ name: "././@LongLink", type: "L", size: 0 })),
      /GNU long name/,
    ],
    [
      "a path climbing out",
      () => archive([{ path: "mlruns/../../etc/cron.d/x", type: "file" }]),
      /outside/,
    ],
    ["an absolute path", () => withEnd(rawHeader({ name: "/etc/passwd", type: "0" })), /outside/],
    [
      "a PAX path climbing out",
      () => archive([{ path: `mlruns/${"é".repeat(60)}/../../x`, type: "file" }]),
      /outside/,
    ],
    ["a bad checksum", () => corrupt(archive([{ path: "a", type: "file" }]), 10), /checksum/],
    [
      "a cut in the data",
      () => archive([{ path: "a", type: "file", data: Buffer.alloc(5000) }]).subarray(0, 3000),
      /truncated/,
    ],
    [
      "a cut before the end blocks",
      () => archive([{ path: "a", type: "file", data: Buffer.from("x") }]).subarray(0, 2 * BLOCK),
      /truncated/,
    ],
    [
      "data after the end",
      () => Buffer.concat([archive([{ path: "a", type: "file" }]), Buffer.from("more")]),
      /follows the end/,
    ],
    ["not ustar", () => withEnd(Buffer.alloc(BLOCK, 0x41)), /checksum|ustar/],
  ];

  for (const [what, make, message] of refusals) {
    it(`refuses ${what}`, async () => {
      await expect(read(make())).rejects.toThrow(message);
    });
  }

  it("refuses before handing over the entry that is refused", async () => {
    const bytes = Buffer.concat([
      archive([{ path: "fine", type: "file", data: Buffer.from("ok") }]).subarray(0, 2 * BLOCK),
      withEnd(rawHeader({ name: "link", type: "2", link: "/" })),
    ]);
    const seen: string[] = [];
    await expect(
      readTar(
        (async function* () {
          yield bytes;
        })(),
        async (entry) => {
          seen.push(entry.path);
        },
      ),
    ).rejects.toThrow(/symbolic link/);
    expect(seen).toEqual(["fine"]);
  });
});

function withEnd(header: Buffer): Buffer {
  return Buffer.concat([header, Buffer.alloc(2 * BLOCK)]);
}

function corrupt(bytes: Buffer, at: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[at] = (copy[at] as number) ^ 0xff;
  return copy;
}
