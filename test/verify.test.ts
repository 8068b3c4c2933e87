/** verifyTree on trees broken in ways that need no MLflow to judge (e2e/verify asks MLflow). */
import { promises as fs } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { FileStore } from "../src/store/file/index.ts";
import { verifyTree } from "../src/verify/index.ts";

const dirs: string[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** A tree with one run whose meta.yaml has `status: <status>`; the run's meta.yaml path. */
async function runWithStatus(status: string): Promise<{ root: string; meta: string }> {
  const root = await mkdtemp(join(tmpdir(), "mlruns-verify-unit-"));
  dirs.push(root);
  const store = new FileStore(root);
  const run = await store.createRun({ experimentId: "0" });
  const meta = join(root, "0", run.info.runId, "meta.yaml");
  const text = await readFile(meta, "utf8");
  await writeFile(meta, text.replace(/^status: \d+$/m, `status: ${status}`));
  return { root, meta };
}

describe("verifyTree: a run's status", () => {
  it("a status name is fixable to MLflow's number", async () => {
    const { root } = await runWithStatus("FINISHED");
    const codes = (await verifyTree(root)).problems.map((p) => [p.code, p.message]);
    expect(codes).toContainEqual([
      "RUN_STATUS_STRING",
      "'status' is the string FINISHED; MLflow reads only the number (3)",
    ]);
  });

  it("a name that is no status (not even one of Object's own) is invalid, not a status name", async () => {
    const { root } = await runWithStatus("toString");
    const problems = (await verifyTree(root)).problems;
    expect(problems.map((p) => p.code)).not.toContain("RUN_STATUS_STRING");
    expect(problems.map((p) => p.message)).toContainEqual(
      expect.stringContaining("'status' must be 1-5 (RUNNING..KILLED), got toString"),
    );
  });
});

describe("verifyTree: temp files of atomic writes", () => {
  it("a temp file renamed away while verify runs (another command's write) is no problem", async () => {
    const { root } = await runWithStatus("3");
    const temp = join(root, ".tmp-0123456789abcdef");
    await writeFile(temp, "half");
    const stat = fs.stat.bind(fs);
    vi.spyOn(fs, "stat").mockImplementation(async (path, options) => {
      // The write finishes between verify's listing of the folder and its look at the file.
      if (path === temp) await rm(temp, { force: true });
      return stat(path, options);
    });
    const report = await verifyTree(root);
    expect(report.problems.map((p) => p.path)).not.toContain(temp);
  });

  it("a temp file still there is reported, and a recent one is not deleted by a fix", async () => {
    const { root } = await runWithStatus("3");
    const temp = join(root, ".tmp-0123456789abcdef");
    await writeFile(temp, "half");
    const found = (await verifyTree(root)).problems.find((p) => p.path === temp);
    expect(found?.code).toBe("TEMP_FILE_LEFTOVER");
    expect(found?.fixable).toBe(false);
  });
});
