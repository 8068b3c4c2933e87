/**
 * No command prints a password given in a URL, whatever went wrong with the URL: an unencoded
 * `/` or `@` in the password, a scheme typo, missing slashes, no server listening, in text and in
 * --json and --verbose output.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileStore } from "../../src/store/file/index.ts";
import { freePort } from "../helpers/mlflow-server.ts";
import { assertBuilt, runCli, tempDir } from "./helpers.ts";

const SECRET = "Pa/ss@w0rd";

describe("credentials in URLs", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let port: number;
  beforeAll(async () => {
    assertBuilt();
    ({ dir, cleanup } = await tempDir("mlruns-credentials-"));
    await new FileStore(dir).init();
    port = await freePort(); // nothing listens there
  });
  afterAll(async () => {
    await cleanup?.();
  });

  const urls = () => [
    `http://alice:${SECRET}@127.0.0.1:${port}`,
    `http://alice:Pa/ssw0rd@127.0.0.1:${port}`,
    `htp://alice:${SECRET}@127.0.0.1:${port}`,
    `htps://alice:${SECRET}@127.0.0.1:${port}`,
    `http:/alice:${SECRET}@127.0.0.1:${port}`,
    `alice:${SECRET}@127.0.0.1:${port}`,
    `http://alice:w0rd@127.0.0.1:${port}`,
  ];

  it("are not printed by sync --to, in text, --json or --verbose", async () => {
    for (const url of urls()) {
      for (const extra of [[], ["--json"], ["--verbose"]]) {
        const result = await runCli(["sync", dir, "--to", url, ...extra], {
          env: { MLFLOW_HTTP_REQUEST_MAX_RETRIES: "0" },
        });
        expect(result.code, `${url} ${extra}`).not.toBe(0);
        expect(`${result.stdout}${result.stderr}`, url).not.toContain("w0rd");
        expect(result.stderr, url).toMatch(/\*\*\*@|127\.0\.0\.1/);
      }
    }
  });

  it("are not printed by a command given the URL with -u", async () => {
    for (const url of urls()) {
      const result = await runCli(["runs", "list", "-u", url], {
        cwd: dir,
        env: { MLFLOW_HTTP_REQUEST_MAX_RETRIES: "0" },
      });
      expect(`${result.stdout}${result.stderr}`, url).not.toContain("w0rd");
    }
  });
});
