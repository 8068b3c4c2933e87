/**
 * `mlruns export`, `mlruns import` and `mlruns sync --from` as a user runs them, with the tools a
 * user checks a bundle with: GNU tar lists and unpacks it (manifest first), `sha256sum -c`
 * verifies the unpacked files, Python's tarfile reads it, `openssl` verifies its signature; a
 * bundle goes through a pipe; damaged bundles and bad usage exit 1 and 2 with a message.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RestStore } from "../../src/store/rest/index.ts";
import { ensureMlflowEnvs, MLFLOW_VERSIONS, skipMlflow } from "../helpers/mlflow-env.ts";
import { type SharedMlflowServer, sharedMlflowServer } from "../helpers/shared-mlflow.ts";
import { assertBuilt, CLI, runCli, runJson, sampleTree, tempDir } from "./helpers.ts";

const exec = promisify(execFile);

interface ImportReport {
  counts: Record<string, number>;
  runs: { runId: string; outcome: string }[];
  verified: boolean;
  issues: unknown[];
}

describe("mlruns export and import", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let root: string;
  let runIds: string[];
  beforeAll(async () => {
    assertBuilt();
    ({ dir, cleanup } = await tempDir("mlruns-bundle-e2e-"));
    ({ root, runIds } = await sampleTree(dir));
  });
  afterAll(async () => {
    await cleanup?.();
  });

  it("writes a tar that GNU tar unpacks, with manifest.json first and a SHA256SUMS that sha256sum -c verifies", async () => {
    const bundle = join(dir, "runs.tar.gz");
    const exported = await runJson<{ runs: number; files: number }>(["export", root, "-o", bundle]);
    expect(exported.code).toBe(0);
    expect(exported.json.runs).toBe(2);
    const { stdout: listing } = await exec("tar", ["-tzf", bundle]);
    expect(listing.split("\n").slice(0, 2)).toEqual(["manifest.json", "SHA256SUMS"]);
    const out = join(dir, "unpacked");
    await mkdir(out);
    await exec("tar", ["-xzf", bundle, "-C", out]);
    const { stdout: checked } = await exec("sha256sum", ["-c", "SHA256SUMS"], { cwd: out });
    const lines = checked.trim().split("\n");
    expect(lines).toHaveLength(exported.json.files + 1);
    expect(lines.every((line) => line.endsWith(": OK"))).toBe(true);
    // Python's tarfile reads every member as a plain file or folder.
    const { stdout: kinds } = await exec("python3", [
      "-c",
      "import sys, tarfile; t = tarfile.open(sys.argv[1]); print(sorted({m.type for m in t.getmembers()}))",
      bundle,
    ]);
    expect(kinds.trim()).toBe("[b'0', b'5']");
  });

  it("imports into a new tree keeping run ids; importing again changes nothing", async () => {
    const bundle = join(dir, "again.tar");
    expect((await runCli(["export", root, "-o", bundle])).code).toBe(0);
    const target = join(dir, "imported");
    const first = await runJson<ImportReport>(["import", bundle, target]);
    expect(first.code).toBe(0);
    expect(first.json.counts).toMatchObject({ created: 2, points: 8, params: 4 });
    expect(first.json.runs.map((r) => r.runId).sort()).toEqual([...runIds].sort());
    const second = await runCli(["import", bundle, target]);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/created 0, updated 0, unchanged 2 run\(s\)/);
    const listed = await runJson<{ runs: unknown[] }>(["runs", "list", "-u", target]);
    expect(listed.json.runs).toHaveLength(2);
  });

  it("goes through a pipe: export -o - | import -", async () => {
    const target = join(dir, "piped");
    const { stdout, stderr } = await exec("sh", [
      "-c",
      `"${process.execPath}" "${CLI}" export "${root}" -o - | "${process.execPath}" "${CLI}" import - "${target}"`,
    ]);
    expect(stdout).toMatch(/Imported standard input .*created 2/);
    expect(stderr).toMatch(/Exported 2 run\(s\) .* to standard output/);
  });

  it("signs with --sign; openssl and import --verify accept it, another key is refused", async () => {
    const keys = join(dir, "keys");
    await mkdir(keys);
    for (const name of ["mine", "other"]) {
      await exec("openssl", [
        "genpkey",
        "-algorithm",
        "ed25519",
        "-out",
        join(keys, `${name}.key`),
      ]);
      await exec("openssl", [
        "pkey",
        "-in",
        join(keys, `${name}.key`),
        "-pubout",
        "-out",
        join(keys, `${name}.pub`),
      ]);
    }
    const bundle = join(dir, "signed.tar");
    expect(
      (await runCli(["export", root, "-o", bundle, "--sign", join(keys, "mine.key")])).code,
    ).toBe(0);
    const out = join(dir, "signed");
    await mkdir(out);
    await exec("tar", ["-xf", bundle, "-C", out]);
    const verify = (key: string) =>
      exec("openssl", [
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        join(keys, key),
        "-rawin",
        "-in",
        join(out, "manifest.json"),
        "-sigfile",
        join(out, "manifest.sig"),
      ]);
    await expect(verify("mine.pub")).resolves.toMatchObject({
      stdout: expect.stringMatching(/Signature Verified Successfully/),
    });
    await expect(verify("other.pub")).rejects.toThrow();

    const target = join(dir, "verified");
    const refused = await runCli([
      "import",
      bundle,
      target,
      "--verify",
      join(keys, "other.pub"),
      "--json",
    ]);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stderr).error).toMatchObject({
      code: "INVALID_PARAMETER_VALUE",
      message: expect.stringMatching(/signature does not match/),
    });
    const accepted = await runJson<ImportReport>([
      "import",
      bundle,
      target,
      "--verify",
      join(keys, "mine.pub"),
    ]);
    expect(accepted.code).toBe(0);
    expect(accepted.json.verified).toBe(true);
  });

  it("refuses a truncated bundle with exit 1 and leaves the tree as it was", async () => {
    const bundle = join(dir, "whole.tar");
    await runCli(["export", root, "-o", bundle]);
    const bytes = await readFile(bundle);
    const cut = join(dir, "cut.tar");
    await writeFile(cut, bytes.subarray(0, Math.floor(bytes.length / 3)));
    const target = join(dir, "untouched");
    const result = await runCli(["import", cut, target]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/truncated|ends early/);
    // No tree was there, and none is: nothing was written.
    expect(existsSync(target)).toBe(false);
  });

  it("exports only what changed with --since <bundle>", async () => {
    const base = join(dir, "base.tar");
    await runCli(["export", root, "-o", base]);
    const increment = await runJson<{ runs: number; unchangedRuns: number }>([
      "export",
      root,
      "-o",
      join(dir, "inc.tar"),
      "--since",
      base,
    ]);
    expect(increment.code).toBe(0);
    expect(increment.json).toMatchObject({ runs: 0, unchangedRuns: 2 });
  });

  it("says what is wrong with bad usage (exit 2)", async () => {
    const cases: [string[], RegExp][] = [
      [["export", root], /-o runs.tar.gz/],
      [
        ["export", root, "-o", join(dir, "x.tar"), "--since", "someday"],
        /neither a bundle file, a duration nor a date/,
      ],
      [
        ["sync", "--from", join(dir, "x.tar"), "--to", "http://127.0.0.1:9", "--watch"],
        /--from <bundle> goes with neither/,
      ],
      [
        ["sync", root, "--to", "http://127.0.0.1:9", "--verify", "k.pub"],
        /--verify goes with --from/,
      ],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(args);
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stderr).toMatch(message);
    }
  });
});

describe.skipIf(skipMlflow)("mlruns sync --from <bundle> against a real MLflow server", () => {
  // Shared with other files: this test's experiment is iris.
  let server: SharedMlflowServer;
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    assertBuilt();
    await ensureMlflowEnvs();
    ({ dir, cleanup } = await tempDir("mlruns-bundle-sync-e2e-"));
    server = await sharedMlflowServer(MLFLOW_VERSIONS.latest);
  }, 900_000);
  afterAll(async () => {
    await cleanup?.();
  });

  it("pushes a bundle; pushing it again, or the tree it came from, creates nothing", async () => {
    const { root } = await sampleTree(dir);
    const bundle = join(dir, "runs.tar.gz");
    await runCli(["export", root, "-o", bundle]);
    const first = await runJson<{ counts: Record<string, number>; source: string }>([
      "sync",
      "--from",
      bundle,
      "--to",
      server.url,
    ]);
    expect(first.code).toBe(0);
    expect(first.json.source).toBe(bundle);
    expect(first.json.counts).toMatchObject({ created: 2, points: 8 });
    for (const args of [
      ["sync", "--from", bundle, "--to", server.url],
      ["sync", root, "--to", server.url],
    ]) {
      const again = await runJson<{ counts: Record<string, number> }>(args);
      expect(again.code, args.join(" ")).toBe(0);
      expect(again.json.counts, args.join(" ")).toMatchObject({
        created: 0,
        updated: 0,
        points: 0,
      });
    }
    const store = new RestStore(server.url);
    const experiment = await store.getExperimentByName("iris");
    expect(await store.listRuns([experiment?.experimentId as string], "ALL")).toHaveLength(2);
  });
});
