/** verifyTree on trees broken in ways that need no MLflow to judge (e2e/verify asks MLflow). */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FileStore } from "../src/store/file/index.ts";
import { verifyTree } from "../src/verify/index.ts";

const dirs: string[] = [];
afterEach(async () => {
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
