/**
 * Credentials never reach a message: the user info of URLs is removed from free text and from
 * strings meant as URLs, also when they are malformed, and every MlflowError is redacted.
 */
import { describe, expect, it } from "vitest";
import { MlflowError } from "../src/errors.ts";
import { redactCredentials, redactUrl } from "../src/redact.ts";
import { openStore } from "../src/store/open.ts";
import { RestStore } from "../src/store/rest/index.ts";
import { publicUri } from "../src/sync/identity.ts";

const SECRET = "Pa/ss@w0rd";

describe("redactUrl", () => {
  it.each([
    ["http://alice:Pa/ssw0rd@host:5000/path", "http://***@host:5000/path"],
    ["https://alice:secret@mlflow.example.org", "https://***@mlflow.example.org"],
    ["htp://alice:secret@host", "htp://***@host"],
    ["htps://alice:secret@host", "htps://***@host"],
    ["http:/alice:secret@host", "http:/***@host"],
    ["http:alice:secret@host", "http:***@host"],
    ["HTTP://alice:p@ss/w@rd@host", "HTTP://***@host"],
    ["http://alice:p w@host", "http://***@host"],
    ["http://token@host/x", "http://***@host/x"],
    ["alice:secret@host", "***@host"],
    ["http://host:5000/api", "http://host:5000/api"],
    ["http://host/path@v2", "http://host/path@v2"],
    ["./mlruns", "./mlruns"],
    ["file:///data/runs@2", "file:///data/runs@2"],
  ])("%s → %s", (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });
});

describe("redactCredentials", () => {
  it.each([
    [
      "Invalid tracking server URL 'http://alice:Pa/ssw0rd@127.0.0.1:5999' (hint)",
      "Invalid tracking server URL 'http://***@127.0.0.1:5999' (hint)",
    ],
    ["to htps://bob:x@y and http://c:d@e.", "to htps://***@y and http://***@e."],
    ["No mlruns tree at /home/u/http:/alice:pw@host", "No mlruns tree at /home/u/http:/***@host"],
    ["models:/iris@champion and runs:/abc/model", "models:/iris@champion and runs:/abc/model"],
    ["mail alice@example.org", "mail alice@example.org"],
    ["s3://bucket/key@v1", "s3://bucket/key@v1"],
  ])("%s", (text, expected) => {
    expect(redactCredentials(text)).toBe(expected);
  });
});

describe("messages of the library", () => {
  it("an MlflowError never holds a URL's password, in its message or its hint", () => {
    const error = new MlflowError("INVALID_PARAMETER_VALUE", `bad http://alice:${SECRET}@host`, {
      hint: `try https://alice:${SECRET}@host`,
    });
    expect(`${error.message} ${error.hint} ${error.stack}`).not.toContain("w0rd");
  });

  it.each([
    `http://alice:${SECRET}@127.0.0.1:5999`,
    "http://alice:Pa/ssw0rd@127.0.0.1:5999",
    "HTTP://alice:Pa/ssw0rd@[::1",
    "https://alice:Pa ss/w0rd@host:99999",
  ])("a RestStore on %s names the URL without the password", (url) => {
    expect(() => new RestStore(url)).toThrow(/\*\*\*@/);
    try {
      new RestStore(url);
    } catch (error) {
      expect(`${(error as Error).message} ${(error as MlflowError).hint}`).not.toMatch(/w0rd/);
    }
  });

  it("a password with a % that starts no escape is used as it is", () => {
    expect(() => new RestStore("http://alice:100%zz@127.0.0.1:5999")).not.toThrow();
  });

  it("an unsupported tracking URI is named without its password", async () => {
    const error = await openStore("htps://alice:s3cr3t@host").catch((e: unknown) => e);
    expect((error as Error).message).toBe("Unsupported tracking URI 'htps://***@host'");
  });

  it("a report names the target without credentials, even one that does not parse", () => {
    expect(publicUri("http://alice:s3cr3t@host:5000/")).toBe("http://host:5000");
    expect(publicUri("http://alice:Pa/ssw0rd@host")).toBe("http://***@host");
  });
});
