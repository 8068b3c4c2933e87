/**
 * Several processes registering versions of one model in one tree: every number is taken once,
 * none is skipped, and no staging folder or lock is left behind. Several processes finding the
 * registry lock left by a dead process: one takes it over, the others wait their turn (one model
renamed by 8 processes at once is renamed once).
 */
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileStore } from "../../src/store/file/index.ts";
import { REGISTRY_LOCK_FILE } from "../../src/tree-files.ts";
import { runTogether, runWriter, staleLock } from "./writer.ts";

const PROCESSES = 6;
const EACH = 10;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mlruns-registry-concurrency-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("several processes writing one registry", () => {
  it(`${PROCESSES} processes creating versions of one model get distinct numbers`, async () => {
    const root = join(dir, "mlruns");
    const outputs = await Promise.all(
      Array.from({ length: PROCESSES }, () =>
        runWriter(["versions", root, "shared-model", String(EACH)]),
      ),
    );
    const numbers = outputs
      .flatMap((out) => out.trim().split("\n"))
      .map(Number)
      .sort((a, b) => a - b);
    expect(numbers).toEqual(Array.from({ length: PROCESSES * EACH }, (_, i) => i + 1));
    const store = new FileStore(root);
    const found = await store.registry.searchModelVersions({ filter: "name = 'shared-model'" });
    expect(found.versions).toHaveLength(PROCESSES * EACH);
    expect((await store.registry.searchRegisteredModels()).models.map((m) => m.name)).toEqual([
      "shared-model",
    ]);
    const modelDir = join(root, "models", "shared-model");
    expect((await readdir(modelDir)).filter((n) => n.startsWith("."))).toEqual([]);
    expect((await readdir(root)).filter((n) => n.includes(".lock"))).toEqual([]);
  });

  it("8 processes finding a stale lock rename a model once, 12 rounds out of 12", async () => {
    const root = join(dir, "stale");
    const store = new FileStore(root);
    const stale = staleLock();
    for (let round = 0; round < 12; round++) {
      const name = `round-${round}`;
      await store.registry.createRegisteredModel(name);
      await store.registry.createModelVersion({ name, source: "file:///m" });
      await writeFile(join(root, REGISTRY_LOCK_FILE), stale);
      const outputs = await runTogether(
        Array.from({ length: 8 }, (_, i) => ["rename", root, name, `${name}-${i}`]),
      );
      expect(
        outputs.filter((out) => out.trim() === "renamed"),
        `round ${round}`,
      ).toHaveLength(1);
      const { models } = await new FileStore(root).registry.searchRegisteredModels({
        filter: `name LIKE '${name}%'`,
      });
      expect(models, `round ${round}`).toHaveLength(1);
      expect((await readdir(root)).filter((n) => n.includes(".lock"))).toEqual([]);
    }
  });
});
