/**
 * Export and import: a bundle carries runs (ids kept) into another tree exactly; the same tree
 * gives the same bytes; importing again changes nothing; an increment carries only what changed
 * (of a metric file still growing, only its new lines) and importing it appends only new points;
 * signatures are checked.
 */
import { generateKeyPairSync } from "node:crypto";
import { mkdir, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { exportBundle } from "../../src/bundle/export.ts";
import { importBundle } from "../../src/bundle/import.ts";
import type { Manifest } from "../../src/bundle/manifest.ts";
import { FileStore } from "../../src/store/file/index.ts";
import { ORIGIN_TAG } from "../../src/sync/identity.ts";
import { TREE_ID_FILE } from "../../src/tree-files.ts";
import { writeVariedTree } from "../compat/varied-tree.ts";
import { bundleItems, comparable, tempDir, treeState } from "./helpers.ts";

const quiet = { onProblem: () => {} };
const T = 1_767_225_600_000;

async function variedTree(): Promise<FileStore> {
  const root = join(await tempDir(), "mlruns");
  await writeVariedTree(new FileStore(root));
  return new FileStore(root, quiet);
}

async function manifestOf(bundle: string): Promise<Manifest> {
  const [first] = await bundleItems(bundle);
  return JSON.parse(first?.data.toString() ?? "") as Manifest;
}

const points = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => ({
    key: "loss",
    value: 1 / (from + i + 1),
    timestamp: T + from + i,
    step: from + i,
  }));

describe("bundles", { timeout: 60_000 }, () => {
  it("carry every run of the active experiments into an empty tree: same ids, same data", async () => {
    const source = await variedTree();
    const dir = await tempDir();
    const bundle = join(dir, "runs.tar.gz");
    const exported = await exportBundle({ source, output: bundle });
    expect(exported.issues).toEqual([]);
    const target = new FileStore(join(dir, "copy"), quiet);
    const report = await importBundle({ bundle, target });
    expect(report.issues).toEqual([]);
    expect(report.counts.created).toBe(exported.runs);
    expect(await comparable(target)).toEqual(await comparable(source));
    // Each imported run names the tree it was first written in.
    const sourceTree = (await readFile(join(source.root, TREE_ID_FILE), "utf8")).trim();
    for (const { runId } of report.runs) {
      expect((await target.getRun(runId)).data.tags[ORIGIN_TAG]).toBe(sourceTree);
    }
  });

  it("are the same bytes when the same runs are exported again, with or without gzip", async () => {
    const source = await variedTree();
    const dir = await tempDir();
    for (const name of ["a.tar", "a.tar.gz"]) {
      await exportBundle({ source, output: join(dir, name) });
      await exportBundle({ source, output: join(dir, `again-${name}`) });
      const [one, two] = await Promise.all([
        readFile(join(dir, name)),
        readFile(join(dir, `again-${name}`)),
      ]);
      expect(one.equals(two), name).toBe(true);
    }
  });

  it("change nothing when imported again, or into the tree they came from", async () => {
    const source = await variedTree();
    const dir = await tempDir();
    const bundle = join(dir, "runs.tar");
    await exportBundle({ source, output: bundle });
    const target = new FileStore(join(dir, "copy"), quiet);
    await importBundle({ bundle, target });
    for (const tree of [target, source]) {
      const before = await treeState(tree.root);
      const again = await importBundle({ bundle, target: tree });
      expect(again.counts).toMatchObject({ created: 0, updated: 0, points: 0, params: 0, tags: 0 });
      expect(again.issues).toEqual([]);
      expect(await treeState(tree.root)).toEqual(before);
    }
  });

  it("carry only what changed since a base bundle; a still-running run sends only its new points", async () => {
    const root = join(await tempDir(), "mlruns");
    const source = new FileStore(root, quiet);
    const experimentId = await source.createExperiment("long");
    const running = await source.createRun({ experimentId, runName: "training" });
    const done = await source.createRun({ experimentId, runName: "done" });
    await source.logBatch(running.info.runId, { params: { lr: "0.1" }, metrics: points(1000) });
    await source.logBatch(done.info.runId, { metrics: points(10) });
    await source.updateRun(done.info.runId, { status: "FINISHED", endTime: T });
    const dir = await tempDir();
    const first = join(dir, "1.tar.gz");
    await exportBundle({ source, output: first });
    const copy = new FileStore(join(dir, "copy"), quiet);
    await importBundle({ bundle: first, target: copy });

    await source.logBatch(running.info.runId, { metrics: points(5, 1000), tags: { epoch: "2" } });
    const second = join(dir, "2.tar.gz");
    const report = await exportBundle({ source, output: second, since: first });
    expect(report).toMatchObject({ runs: 1, partialRuns: 1, unchangedRuns: 1 });
    const manifest = await manifestOf(second);
    const loss = manifest.files.find((f) => f.path.endsWith("/metrics/loss"));
    const base = (await readFile(join(root, experimentId, running.info.runId, "metrics", "loss")))
      .length;
    expect(loss?.from).toBeGreaterThan(0);
    expect((loss?.from ?? 0) + (loss?.size ?? 0)).toBe(base);
    expect(manifest.files.some((f) => f.path.endsWith("/params/lr"))).toBe(false);
    expect(manifest.files.some((f) => f.path.endsWith("/tags/epoch"))).toBe(true);

    const imported = await importBundle({ bundle: second, target: copy });
    expect(imported.counts).toMatchObject({ updated: 1, points: 5, tags: 1 });
    expect(await comparable(copy)).toEqual(await comparable(source));
    const again = await importBundle({ bundle: second, target: copy });
    expect(again.counts).toMatchObject({ updated: 0, unchanged: 1, points: 0 });

    // Nothing changed since the second: nothing travels but the state for the next one.
    const third = await exportBundle({ source, output: join(dir, "3.tar"), since: second });
    expect(third).toMatchObject({ runs: 0, unchangedRuns: 2, files: 0 });
  });

  it("an increment imported first creates its runs in part; the base bundle completes them", async () => {
    const root = join(await tempDir(), "mlruns");
    const source = new FileStore(root, quiet);
    const experimentId = await source.createExperiment("out-of-order");
    const run = await source.createRun({ experimentId, runName: "r" });
    await source.logBatch(run.info.runId, { params: { a: "1" }, metrics: points(100) });
    const dir = await tempDir();
    await exportBundle({ source, output: join(dir, "base.tar") });
    await source.logBatch(run.info.runId, { metrics: points(50, 100) });
    await exportBundle({ source, output: join(dir, "inc.tar"), since: join(dir, "base.tar") });
    const copy = new FileStore(join(dir, "copy"), quiet);
    const first = await importBundle({ bundle: join(dir, "inc.tar"), target: copy });
    expect(first.runs).toEqual([expect.objectContaining({ outcome: "created", partial: true })]);
    expect(await copy.getMetricHistory(run.info.runId, "loss")).toHaveLength(50);
    await importBundle({ bundle: join(dir, "base.tar"), target: copy });
    // The same points; in the file, the base's come after the increment's (as they arrived).
    expect(await comparable(copy, { sortHistories: true })).toEqual(
      await comparable(source, { sortHistories: true }),
    );
  });

  it("--since a time takes the runs written since then", async () => {
    const root = join(await tempDir(), "mlruns");
    const source = new FileStore(root, quiet);
    const experimentId = await source.createExperiment("timed");
    const old = await source.createRun({ experimentId, runName: "old" });
    await source.logBatch(old.info.runId, { metrics: points(3) });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const since = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const fresh = await source.createRun({ experimentId, runName: "fresh" });
    const report = await exportBundle({ source, output: join(await tempDir(), "t.tar"), since });
    expect(report).toMatchObject({ runs: 1, unchangedRuns: 1 });
    const dest = new FileStore(join(await tempDir(), "copy"), quiet);
    await importBundle({ bundle: report.output, target: dest });
    expect((await dest.getRun(fresh.info.runId)).info.runName).toBe("fresh");
    await expect(dest.getRun(old.info.runId)).rejects.toThrow(/not found/);
  });

  it("merge a run both trees hold: points and files the tree lacks come in, a param that differs is reported", async () => {
    const source = new FileStore(join(await tempDir(), "mlruns"), quiet);
    const experimentId = await source.createExperiment("shared");
    const run = await source.createRun({ experimentId, runName: "r" });
    await source.logBatch(run.info.runId, { params: { lr: "0.1", bs: "32" }, metrics: points(10) });
    const dir = await tempDir();
    await exportBundle({ source, output: join(dir, "a.tar") });
    const copy = new FileStore(join(dir, "copy"), quiet);
    await importBundle({ bundle: join(dir, "a.tar"), target: copy });
    // The copy's own change, and a param the copy has with another value.
    await writeFile(
      join(
        copy.root,
        (await copy.getRun(run.info.runId)).info.experimentId,
        run.info.runId,
        "params",
        "bs",
      ),
      "64",
    );
    await source.logBatch(run.info.runId, { metrics: points(3, 10), params: { wd: "0" } });
    await exportBundle({ source, output: join(dir, "b.tar") });
    const report = await importBundle({ bundle: join(dir, "b.tar"), target: copy });
    expect(report.counts).toMatchObject({ updated: 1, points: 3, params: 1 });
    expect(report.issues).toEqual([
      expect.objectContaining({ runId: run.info.runId, what: "param bs" }),
    ]);
    expect((await copy.getRun(run.info.runId)).data.params).toEqual({
      lr: "0.1",
      bs: "64",
      wd: "0",
    });
    expect(await copy.getMetricHistory(run.info.runId, "loss")).toHaveLength(13);
  });

  it("the tree a run was first written in keeps its values; a copy takes the bundle's", async () => {
    const source = new FileStore(join(await tempDir(), "mlruns"), quiet);
    const experimentId = await source.createExperiment("authority");
    const run = await source.createRun({ experimentId, runName: "r" });
    await source.logBatch(run.info.runId, { tags: { stage: "one" } });
    const dir = await tempDir();
    await exportBundle({ source, output: join(dir, "old.tar") });
    const copy = new FileStore(join(dir, "copy"), quiet);
    await importBundle({ bundle: join(dir, "old.tar"), target: copy });
    await source.logBatch(run.info.runId, { tags: { stage: "two" } });
    await source.updateRun(run.info.runId, { status: "FINISHED", endTime: T });
    await exportBundle({ source, output: join(dir, "new.tar") });
    // The copy follows the newer bundle; the origin ignores the older one.
    await importBundle({ bundle: join(dir, "new.tar"), target: copy });
    expect((await copy.getRun(run.info.runId)).data.tags.stage).toBe("two");
    expect((await copy.getRun(run.info.runId)).info.status).toBe("FINISHED");
    const before = await treeState(source.root);
    const old = await importBundle({ bundle: join(dir, "old.tar"), target: source });
    expect(old.counts.updated).toBe(0);
    expect(await treeState(source.root)).toEqual(before);
  });

  it("find a metric file's lines in the tree's only where they start a line", async () => {
    const source = new FileStore(join(await tempDir(), "mlruns"), quiet);
    const experimentId = await source.createExperiment("substring");
    const run = await source.createRun({ experimentId, runName: "r" });
    // The source's line "1 2 3" is inside the copy's line "11 2 3", which is another point.
    await source.logBatch(run.info.runId, {
      metrics: [{ key: "m", value: 2, timestamp: 1, step: 3 }],
    });
    const dir = await tempDir();
    await exportBundle({ source, output: join(dir, "a.tar") });
    const copy = new FileStore(join(dir, "copy"), quiet);
    const other = await copy.createExperiment("substring");
    const mine = await copy.createRun({ experimentId: other, runName: "r" });
    await copy.logBatch(mine.info.runId, {
      metrics: [{ key: "m", value: 2, timestamp: 11, step: 3 }],
    });
    // Give the copy's run the source run's id and origin, as if it had been imported before.
    const { rename } = await import("node:fs/promises");
    const from = join(copy.root, other, mine.info.runId);
    const to = join(copy.root, other, run.info.runId);
    await rename(from, to);
    const meta = await readFile(join(to, "meta.yaml"), "utf8");
    await writeFile(join(to, "meta.yaml"), meta.replaceAll(mine.info.runId, run.info.runId));
    const origin = (await readFile(join(source.root, TREE_ID_FILE), "utf8")).trim();
    await writeFile(join(to, "tags", ORIGIN_TAG), origin);
    const report = await importBundle({ bundle: join(dir, "a.tar"), target: copy });
    expect(report.counts).toMatchObject({ updated: 1, points: 1 });
    const history = await copy.getMetricHistory(run.info.runId, "m");
    expect(history.map((p) => p.timestamp).sort()).toEqual([1, 11]);
  });

  it("never write through a link in the tree out of a run's folder", async () => {
    const source = new FileStore(join(await tempDir(), "mlruns"), quiet);
    const experimentId = await source.createExperiment("linked");
    const run = await source.createRun({ experimentId, runName: "r" });
    const dir = await tempDir();
    await exportBundle({ source, output: join(dir, "a.tar") });
    const copy = new FileStore(join(dir, "copy"), quiet);
    await importBundle({ bundle: join(dir, "a.tar"), target: copy });
    // In the copy, the run's artifacts folder becomes a link to a folder outside the tree.
    const outside = join(dir, "outside");
    await mkdir(outside);
    const runDir = join(
      copy.root,
      (await copy.getRun(run.info.runId)).info.experimentId,
      run.info.runId,
    );
    await rm(join(runDir, "artifacts"), { recursive: true });
    await symlink(outside, join(runDir, "artifacts"));
    await writeFile(join(dir, "note.txt"), "hello");
    await source.logArtifact(run.info.runId, join(dir, "note.txt"), "docs");
    await exportBundle({ source, output: join(dir, "b.tar") });
    await expect(importBundle({ bundle: join(dir, "b.tar"), target: copy })).rejects.toThrow(
      /behind a link/,
    );
    expect(await readdir(outside)).toEqual([]);
  });

  it("leave alone a different run that has the same id in the tree", async () => {
    const source = new FileStore(join(await tempDir(), "mlruns"), quiet);
    const experimentId = await source.createExperiment("clash");
    const run = await source.createRun({ experimentId, runName: "mine" });
    const dir = await tempDir();
    await exportBundle({ source, output: join(dir, "a.tar") });
    // Another tree with a run of that id written there (by hand), so of another origin.
    const other = new FileStore(join(dir, "other"), quiet);
    await importBundle({ bundle: join(dir, "a.tar"), target: other });
    const folder = join(
      other.root,
      (await other.getRun(run.info.runId)).info.experimentId,
      run.info.runId,
    );
    await writeFile(join(folder, "tags", ORIGIN_TAG), "some-other-tree");
    const before = await treeState(other.root);
    const report = await importBundle({ bundle: join(dir, "a.tar"), target: other });
    expect(report.counts.skipped).toBe(1);
    expect(report.issues[0]?.message).toMatch(/another run with this id/);
    expect(await treeState(other.root)).toEqual(before);
  });

  it("leave out what is not a plain file (a link) and runs MLflow could not read, saying so", async () => {
    const source = new FileStore(join(await tempDir(), "mlruns"), quiet);
    const experimentId = await source.createExperiment("odd");
    const good = await source.createRun({ experimentId, runName: "good" });
    const broken = await source.createRun({ experimentId, runName: "broken" });
    const goodDir = join(source.root, experimentId, good.info.runId);
    await symlink("/etc/passwd", join(goodDir, "artifacts", "passwd"));
    await writeFile(join(source.root, experimentId, broken.info.runId, "meta.yaml"), "run_id: [");
    const bundle = join(await tempDir(), "odd.tar");
    const report = await exportBundle({ source, output: bundle });
    expect(report.runs).toBe(1);
    expect(report.issues).toHaveLength(2);
    expect(report.issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ runId: good.info.runId, what: "artifacts/passwd" }),
        expect.objectContaining({
          runId: broken.info.runId,
          what: "run",
          message: expect.stringMatching(/is not valid YAML .*; left out$/),
        }),
      ]),
    );
    const paths = (await bundleItems(bundle)).map((i) => i.path);
    expect(paths.some((p) => p.includes("passwd") || p.includes(broken.info.runId))).toBe(false);
  });

  it("--dry-run reports what an import would do and writes nothing", async () => {
    const source = await variedTree();
    const dir = await tempDir();
    const bundle = join(dir, "runs.tar");
    await exportBundle({ source, output: bundle });
    const target = new FileStore(join(dir, "copy"), quiet);
    const before = await treeState(target.root);
    const dry = await importBundle({ bundle, target, dryRun: true });
    expect(await treeState(target.root)).toEqual(before);
    const real = await importBundle({ bundle, target });
    expect(dry.counts).toEqual(real.counts);
    expect(dry.experimentsCreated).toEqual(real.experimentsCreated);
  });

  it("signed with --sign are accepted by --verify with the public key, and only then", async () => {
    const source = await variedTree();
    const dir = await tempDir();
    const pair = () => generateKeyPairSync("ed25519");
    const { privateKey, publicKey } = pair();
    const keyFile = join(dir, "bundle.key");
    const pubFile = join(dir, "bundle.pub");
    await writeFile(keyFile, privateKey.export({ type: "pkcs8", format: "pem" }));
    await writeFile(pubFile, publicKey.export({ type: "spki", format: "pem" }));
    const signed = join(dir, "signed.tar");
    const unsigned = join(dir, "unsigned.tar");
    expect((await exportBundle({ source, output: signed, signingKey: keyFile })).signed).toBe(true);
    await exportBundle({ source, output: unsigned });

    const target = new FileStore(join(dir, "copy"), quiet);
    const before = await treeState(target.root);
    const stranger = pair().publicKey.export({ type: "spki", format: "pem" }).toString();
    await expect(importBundle({ bundle: signed, target, verifyKey: stranger })).rejects.toThrow(
      /signature does not match/,
    );
    await expect(importBundle({ bundle: unsigned, target, verifyKey: pubFile })).rejects.toThrow(
      /not signed/,
    );
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({
      type: "spki",
      format: "pem",
    });
    await expect(
      importBundle({ bundle: signed, target, verifyKey: rsa.toString() }),
    ).rejects.toThrow(/not Ed25519/);
    expect(await treeState(target.root)).toEqual(before);
    const report = await importBundle({ bundle: signed, target, verifyKey: pubFile });
    expect(report).toMatchObject({ signed: true, verified: true });
  });
});
