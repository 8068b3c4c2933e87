/** The pure parts of the artifact repositories: chunking with bounded memory, and the small parsers. */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { parseConnectionString } from "../src/artifacts/azure/credentials.ts";
import { eachConcurrently, type Part, readParts } from "../src/artifacts/parts.ts";
import { parseIni } from "../src/artifacts/s3/credentials.ts";
import { elements, escapeXml, text, unescapeXml } from "../src/artifacts/xml.ts";

async function collect(parts: AsyncGenerator<Part>) {
  const out: Part[] = [];
  for await (const part of parts) out.push({ ...part, data: Buffer.from(part.data) });
  return out;
}

describe("readParts", () => {
  const data = randomBytes(2500);

  test("cuts bytes, files and streams into the same parts", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mlruns-parts-"));
    try {
      const file = join(dir, "f");
      await writeFile(file, data);
      async function* uneven() {
        for (let i = 0; i < data.length; i += 333) yield data.subarray(i, i + 333);
      }
      for (const source of [data, { file }, uneven()]) {
        const parts = await collect(readParts(source, 1000));
        expect(parts.map((p) => [p.index, p.offset, p.data.length])).toEqual([
          [0, 0, 1000],
          [1, 1000, 1000],
          [2, 2000, 500],
        ]);
        expect(Buffer.concat(parts.map((p) => p.data))).toEqual(data);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("an empty source is one empty part; an exact multiple has no empty tail", async () => {
    async function* none() {}
    for (const source of [new Uint8Array(0), none()]) {
      expect((await collect(readParts(source, 10))).map((p) => p.data.length)).toEqual([0]);
    }
    expect((await collect(readParts(data.subarray(0, 2000), 1000))).length).toBe(2);
  });

  test("a stream part does not keep the producer's buffer", async () => {
    const reused = Buffer.alloc(4, 1);
    async function* producer() {
      yield reused;
      reused.fill(2);
      yield reused;
    }
    const parts = await collect(readParts(producer(), 3));
    expect(Buffer.concat(parts.map((p) => p.data))).toEqual(Buffer.from([1, 1, 1, 1, 2, 2, 2, 2]));
  });
});

describe("eachConcurrently", () => {
  test("runs at most `concurrency` tasks and pulls items only as workers free up", async () => {
    let running = 0;
    let peak = 0;
    let pulled = 0;
    let done = 0;
    let ahead = 0;
    async function* items() {
      for (let i = 0; i < 20; i++) {
        pulled++;
        ahead = Math.max(ahead, pulled - done);
        yield i;
      }
    }
    await eachConcurrently(items(), 3, async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 2));
      running--;
      done++;
    });
    expect(peak).toBe(3);
    expect(ahead).toBeLessThanOrEqual(3);
    expect(pulled).toBe(20);
  });

  test("the first failure stops the pulling and is thrown", async () => {
    let started = 0;
    const error = await eachConcurrently([1, 2, 3, 4, 5, 6, 7, 8], 2, async (n) => {
      started++;
      if (n === 2) throw new Error("part 2 refused");
      await new Promise((r) => setTimeout(r, 5));
    }).catch((e: Error) => e);
    expect((error as Error).message).toBe("part 2 refused");
    expect(started).toBeLessThan(8);
  });
});

test("XML: elements, text and entities", () => {
  const xml =
    "<R><Contents><Key>a &amp; b&#x2F;c</Key><Size>3</Size></Contents><Contents><Key>d</Key></Contents><Empty/></R>";
  expect(elements(xml, "Contents").map((c) => text(c, "Key"))).toEqual(["a & b/c", "d"]);
  expect(elements(xml, "Empty")).toEqual([""]);
  expect(unescapeXml(escapeXml(`<"it's" & more>`))).toBe(`<"it's" & more>`);
});

test("AWS shared files: profiles of the credentials and the config file", () => {
  const ini = parseIni(
    "[default]\naws_access_key_id = AKIA1\n# a comment\n[profile dev]\nregion=eu-west-1\nAWS_Secret_Access_Key = s=cret\n",
  );
  expect(ini.default).toEqual({ aws_access_key_id: "AKIA1" });
  expect(ini["profile dev"]).toEqual({ region: "eu-west-1", aws_secret_access_key: "s=cret" });
});

test("Azure connection strings: keys are case-insensitive, values keep their '='", () => {
  expect(
    parseConnectionString(
      "DefaultEndpointsProtocol=http;AccountName=dev;AccountKey=abc==;BlobEndpoint=http://127.0.0.1:1/dev;",
    ),
  ).toEqual({
    defaultendpointsprotocol: "http",
    accountname: "dev",
    accountkey: "abc==",
    blobendpoint: "http://127.0.0.1:1/dev",
  });
});
