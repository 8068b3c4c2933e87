import {
  cp,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  symlink,
  utimes,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { resolveConfig } from "../src/config.ts";
import { FileStore, type TreeProblem } from "../src/store/file/index.ts";
import { getTracker, Tracker } from "../src/tracker/tracker.ts";
import { describeTrackingStore, expectMlflowError } from "./store-contract.ts";

const dirs: string[] = [];
async function tempTree(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "mlruns-fs-"));
  dirs.push(dir);
  return join(dir, "mlruns");
}
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

const elsewhere = await mkdtemp(join(tmpdir(), "mlruns-artifacts-"));
afterAll(() => rm(elsewhere, { recursive: true, force: true }));

describeTrackingStore(
  "FileStore",
  async () => {
    const dir = await mkdtemp(join(tmpdir(), "mlruns-contract-"));
    return {
      store: new FileStore(join(dir, "mlruns"), { onProblem: () => {} }),
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  },
  {
    customArtifacts: {
      location: (label) => pathToFileURL(join(elsewhere, label)).href,
      stored: (uri, path) => readFile(join(fileURLToPath(uri), path)).catch(() => undefined),
    },
  },
);

describe("FileStore on disk", () => {
  it("a key clash names the existing key in the way, either way round", async () => {
    const store = new FileStore(await tempTree());
    const { runId } = (await store.createRun({ experimentId: "0" })).info;
    const point = (key: string) => ({ key, value: 1, timestamp: 1, step: 0 });
    await store.logBatch(runId, {
      metrics: [point("acc/top5"), point("loss")],
      params: { p: "1" },
    });
    const reverse = await expectMlflowError(store.logBatch(runId, { metrics: [point("acc")] }));
    expect(reverse.message).toContain("key 'acc': it clashes with the existing metric 'acc/top5'");
    expect(reverse.hint).toBe("Rename one of the keys");
    const forward = await expectMlflowError(store.logBatch(runId, { params: { "p/q": "1" } }));
    expect(forward.message).toContain("key 'p/q': it clashes with the existing param 'p'");
  });

  it("writes nothing until the first write, which creates experiment 0 and .trash", async () => {
    const root = await tempTree();
    const store = new FileStore(root);
    expect((await store.listExperiments()).map((e) => [e.experimentId, e.name])).toEqual([
      ["0", "Default"],
    ]);
    expect((await store.getExperiment("0")).name).toBe("Default");
    expect(await store.searchRuns({ experimentIds: ["0"] })).toMatchObject({ runs: [] });
    await expectMlflowError(store.getRun("0".repeat(32)), "RESOURCE_DOES_NOT_EXIST");
    expect(await store.registry.searchRegisteredModels()).toMatchObject({ models: [] });
    await expect(readdir(root)).rejects.toMatchObject({ code: "ENOENT" });
    await store.createRun({ experimentId: "0" });
    expect((await readdir(root)).sort()).toEqual([".trash", "0"]);
    const meta = await readFile(join(root, "0", "meta.yaml"), "utf8");
    expect(meta).toMatch(/^artifact_location: 'file:\/\/\/.*\/mlruns\/0'\n/);
    expect(meta).toContain("experiment_id: '0'\n");
    expect(meta).toContain("name: 'Default'\n");
    expect(meta).toContain("lifecycle_stage: 'active'\n");
  });

  it("refuses a folder that is not a tree, or a file, for reads and writes, writing nothing", async () => {
    const dir = join(await tempTree(), "..", "project");
    await mkdir(join(dir, "src"), { recursive: true });
    await writeFile(join(dir, "README.md"), "a project, not a tree");
    const file = join(dir, "README.md");
    for (const [root, what] of [
      [dir, "is not an mlruns tree"],
      [file, "is a file, not an mlruns tree"],
    ] as const) {
      const store = new FileStore(root);
      for (const call of [
        () => store.listExperiments(),
        () => store.getExperiment("0"),
        () => store.searchRuns({ experimentIds: ["0"] }),
        () => store.getRun("0".repeat(32)),
        () => store.registry.searchRegisteredModels(),
        () => store.createRun({ experimentId: "0" }),
        () => store.createExperiment("x"),
        () => store.registry.createRegisteredModel("m"),
      ]) {
        const error = await expectMlflowError(call(), "RESOURCE_DOES_NOT_EXIST");
        expect(error.message).toBe(`${root} ${what}`);
        expect(error.hint).toMatch(/--tracking-uri/);
      }
    }
    expect((await readdir(dir)).sort()).toEqual(["README.md", "src"]);
    await new FileStore(dir).init();
    expect((await readdir(dir)).sort()).toEqual([".trash", "0", "README.md", "src"]);
  });

  it("reads an existing tree without writing to it, even without experiment 0 or .trash", async () => {
    const root = await tempTree();
    const store = new FileStore(root);
    const id = await store.createExperiment("kept");
    await rm(join(root, "0"), { recursive: true });
    await rm(join(root, ".trash"), { recursive: true });
    const reader = new FileStore(root, { searchIndex: { file: null } });
    expect((await reader.listExperiments("ALL")).map((e) => e.experimentId)).toEqual([id]);
    expect((await reader.searchRuns({ experimentIds: [id] })).runs).toEqual([]);
    expect(await readdir(root)).toEqual([id]);
  });

  it("writes a run as MLflow does: int status, legacy keys, files without newlines", async () => {
    const root = await tempTree();
    const store = new FileStore(root);
    const run = await store.createRun({ experimentId: "0", runName: "yes", startTime: 1000 });
    await store.logBatch(run.info.runId, {
      params: { lr: "0.01", "nested/p": "12:30" },
      tags: { team: "vision" },
      metrics: [
        { key: "loss", value: 5, timestamp: 1001, step: 0 },
        { key: "loss", value: 1e-7, timestamp: 1002, step: 1 },
        { key: "loss", value: Number.NaN, timestamp: 1003, step: 2 },
        { key: "loss", value: Number.NEGATIVE_INFINITY, timestamp: 1004, step: -3 },
      ],
    });
    await store.updateRun(run.info.runId, { status: "FINISHED", endTime: 2000 });
    const runDir = join(root, "0", run.info.runId);
    const meta = await readFile(join(runDir, "meta.yaml"), "utf8");
    expect(meta).toBe(
      [
        `artifact_uri: '${store.uri}/0/${run.info.runId}/artifacts'`,
        "end_time: 2000",
        "entry_point_name: ''",
        "experiment_id: '0'",
        "lifecycle_stage: 'active'",
        `run_id: '${run.info.runId}'`,
        "run_name: 'yes'",
        "source_name: ''",
        "source_type: 4",
        "source_version: ''",
        "start_time: 1000",
        "status: 3",
        "tags: []",
        "user_id: 'unknown'",
        "",
      ].join("\n"),
    );
    expect(await readFile(join(runDir, "metrics", "loss"), "utf8")).toBe(
      "1001 5.0 0\n1002 1e-07 1\n1003 nan 2\n1004 -inf -3\n",
    );
    expect(await readFile(join(runDir, "params", "nested", "p"), "utf8")).toBe("12:30");
    expect(await readFile(join(runDir, "tags", "mlflow.runName"), "utf8")).toBe("yes");
    expect((await readdir(runDir)).sort()).toEqual([
      "artifacts",
      "meta.yaml",
      "metrics",
      "params",
      "tags",
    ]);
  });

  it("never writes an identical metric line twice, also across store instances", async () => {
    const root = await tempTree();
    const first = new FileStore(root);
    const run = await first.createRun({ experimentId: "0" });
    const point = { key: "acc", value: 0.5, timestamp: 10, step: 1 };
    await first.logBatch(run.info.runId, { metrics: [point, point] });
    await new FileStore(root).logBatch(run.info.runId, {
      metrics: [point, { ...point, value: 0.6 }],
    });
    await first.logBatch(run.info.runId, { metrics: [point] });
    const text = await readFile(join(root, "0", run.info.runId, "metrics", "acc"), "utf8");
    expect(text).toBe("10 0.5 1\n10 0.6 1\n");
  });

  it("reads 2-, 3- and 5-field metric lines, CRLF, run_uuid and status names", async () => {
    const root = await tempTree();
    const store = new FileStore(root);
    const run = await store.createRun({ experimentId: "0" });
    const runDir = join(root, "0", run.info.runId);
    await writeFile(join(runDir, "metrics", "m"), "5 1.5\r\n6 Infinity 2\n7 2.5 3 train abc\n");
    const meta = (await readFile(join(runDir, "meta.yaml"), "utf8"))
      .replace(/^run_id: .*$/m, `run_uuid: '${run.info.runId}'`)
      .replace("status: 1", "status: FINISHED");
    await writeFile(join(runDir, "meta.yaml"), meta);
    const history = await store.getMetricHistory(run.info.runId, "m");
    expect(history).toEqual([
      { key: "m", value: 1.5, timestamp: 5, step: 0 },
      { key: "m", value: Number.POSITIVE_INFINITY, timestamp: 6, step: 2 },
      { key: "m", value: 2.5, timestamp: 7, step: 3, datasetName: "train", datasetDigest: "abc" },
    ]);
    const read = await store.getRun(run.info.runId);
    expect(read.info.status).toBe("FINISHED");
    expect(read.data.metrics.m?.value).toBe(2.5);
  });

  it("finds a run's latest metric across a file longer than one read, and in a last line without its newline left by a crash", async () => {
    const root = await tempTree();
    const store = new FileStore(root);
    const { runId } = (await store.createRun({ experimentId: "0" })).info;
    const file = join(root, "0", runId, "metrics", "m");
    // About 6 MiB: the latest (the highest step) is in the middle, a broken line near the end.
    const lines = Array.from({ length: 200_000 }, (_, i) => `${1000 + i} ${i / 7} ${i % 1000}`);
    lines[100_999] = "5 42.5 5000";
    await writeFile(file, `${lines.join("\n")}\n`);
    expect((await store.getRun(runId)).data.metrics.m).toEqual({
      key: "m",
      value: 42.5,
      timestamp: 5,
      step: 5000,
    });
    // A last line without its newline, left long ago (a crash's), is read as MLflow reads it.
    await writeFile(file, `${lines.join("\n")}\n1 7.5 6000`);
    const longAgo = new Date(Date.now() - 60_000);
    await utimes(file, longAgo, longAgo);
    expect((await store.getRun(runId)).data.metrics.m?.value).toBe(7.5);
    lines[199_998] = "1 x 2";
    await writeFile(file, `${lines.join("\n")}\n`);
    const error = await expectMlflowError(store.getRun(runId), "INVALID_STATE");
    expect(error.message).toContain(`${file}:199999: value 'x' is not a number`);
  }, 60_000);

  it("names the file and line of a broken metric, and still lists the other runs", async () => {
    const root = await tempTree();
    const problems: TreeProblem[] = [];
    const store = new FileStore(root, { onProblem: (p) => problems.push(p) });
    const good = await store.createRun({ experimentId: "0" });
    const bad = await store.createRun({ experimentId: "0" });
    const file = join(root, "0", bad.info.runId, "metrics", "loss");
    await writeFile(file, "1 0.5 0\n2 0.4 1.5\n");
    const error = await expectMlflowError(store.getRun(bad.info.runId), "INVALID_STATE");
    expect(error.message).toContain(`${file}:2: step '1.5' is not an integer`);
    const runs = await store.listRuns(["0"]);
    expect(runs.map((r) => r.info.runId)).toEqual([good.info.runId]);
    expect(problems).toEqual([{ path: file, line: 2, message: "step '1.5' is not an integer" }]);
  });

  it("says in one line what is wrong with a meta.yaml that is not YAML", async () => {
    const root = await tempTree();
    const store = new FileStore(root, { onProblem: () => {} });
    const { runId } = (await store.createRun({ experimentId: "0" })).info;
    const meta = join(root, "0", runId, "meta.yaml");
    await writeFile(meta, `run_id: [unclosed\nstatus: 1\n`);
    const error = await expectMlflowError(store.getRun(runId), "INVALID_STATE");
    expect(error.message).toMatch(new RegExp(`^Malformed mlruns tree: ${meta}: not valid YAML: `));
    expect(error.message).not.toContain("\n");
  });

  it("skips odd folders and broken experiments while listing, reporting each", async () => {
    const root = await tempTree();
    const problems: TreeProblem[] = [];
    const store = new FileStore(root, { onProblem: (p) => problems.push(p) });
    const id = await store.createExperiment("fine");
    await store.createExperiment("broken");
    const broken = (await store.getExperimentByName("broken"))?.experimentId as string;
    await writeFile(join(root, broken, "meta.yaml"), "name: broken\n");
    await writeFile(join(root, "notes.txt"), "a plain file at the root is harmless");
    const ids = (await store.listExperiments()).map((e) => e.experimentId).sort();
    expect(ids).toEqual(["0", id].sort());
    expect(problems.map((p) => p.message)).toEqual(["'experiment_id' is missing"]);
  });

  it("finds its artifacts after the tree was moved", async () => {
    const root = await tempTree();
    const store = new FileStore(root);
    const run = await store.createRun({ experimentId: "0" });
    const file = join(root, "..", "note.txt");
    await writeFile(file, "hello");
    await store.logArtifact(run.info.runId, file, "docs");
    const moved = join(root, "..", "moved");
    const { rename } = await import("node:fs/promises");
    await rename(root, moved);
    const again = new FileStore(moved);
    expect(await again.listArtifacts(run.info.runId, "docs")).toEqual([
      { path: "docs/note.txt", isDir: false, fileSize: 5 },
    ]);
    expect(
      new TextDecoder().decode(await again.readArtifact(run.info.runId, "docs/note.txt")),
    ).toBe("hello");
  });

  it("writes artifacts where a custom location says: a plain path, a relative one, a file URI", async () => {
    const root = await tempTree();
    const store = new FileStore(root);
    const outside = join(root, "..", "outside");
    const note = join(root, "..", "note.txt");
    await writeFile(note, "hello");
    const cwd = process.cwd();
    process.chdir(join(root, ".."));
    let relative: string;
    try {
      relative = await store.createExperiment("relative", { artifactLocation: "outside/rel" });
    } finally {
      process.chdir(cwd);
    }
    const cases: [string, string][] = [
      [
        await store.createExperiment("plain", { artifactLocation: join(outside, "plain") }),
        "plain",
      ],
      [relative, "rel"],
      [
        await store.createExperiment("uri", {
          artifactLocation: pathToFileURL(join(outside, "uri")).href,
        }),
        "uri",
      ],
    ];
    for (const [experimentId, folder] of cases) {
      const { info } = await store.createRun({ experimentId });
      await store.logArtifact(info.runId, note, "docs");
      const file = join(outside, folder, info.runId, "artifacts", "docs", "note.txt");
      expect(await readFile(file, "utf8")).toBe("hello");
      expect(await readdir(join(root, experimentId, info.runId, "artifacts"))).toEqual([]);
      expect(await store.listArtifacts(info.runId)).toEqual([{ path: "docs", isDir: true }]);
      // No temp file is left beside the artifacts, in the run's folder at the location.
      expect(await readdir(join(outside, folder, info.runId))).toEqual(["artifacts"]);
    }
  });

  it("writes where MLFLOW_ARTIFACT_LOCATION says, through the tracker", async () => {
    const root = await tempTree();
    const location = join(root, "..", "env-artifacts");
    const saved = process.env.MLFLOW_ARTIFACT_LOCATION;
    process.env.MLFLOW_ARTIFACT_LOCATION = pathToFileURL(location).href;
    try {
      const tracker = await getTracker({ trackingUri: root, experimentName: "env" });
      const run = await tracker.startRun("r");
      await run.logText("a,b\n", "table.csv");
      await run.end();
      expect(await readFile(join(location, run.id, "artifacts", "table.csv"), "utf8")).toBe(
        "a,b\n",
      );
    } finally {
      if (saved === undefined) delete process.env.MLFLOW_ARTIFACT_LOCATION;
      else process.env.MLFLOW_ARTIFACT_LOCATION = saved;
    }
  });

  it("a copy of a tree writes into its own run folders, never into the original", async () => {
    const root = await tempTree();
    const store = new FileStore(root);
    const run = await store.createRun({ experimentId: "0" });
    const note = join(root, "..", "note.txt");
    await writeFile(note, "first");
    await store.logArtifact(run.info.runId, note);
    const copy = join(root, "..", "copy");
    await cp(root, copy, { recursive: true });
    const copied = new FileStore(copy);
    await writeFile(note, "second");
    await copied.logArtifact(run.info.runId, note);
    const fresh = await copied.createRun({ experimentId: "0" });
    await copied.logArtifact(fresh.info.runId, note);
    const original = join(root, "0", run.info.runId, "artifacts", "note.txt");
    expect(await readFile(original, "utf8")).toBe("first");
    expect(await readdir(join(root, "0"))).not.toContain(fresh.info.runId);
    const inCopy = (id: string) => join(copy, "0", id, "artifacts", "note.txt");
    expect(await readFile(inCopy(run.info.runId), "utf8")).toBe("second");
    expect(await readFile(inCopy(fresh.info.runId), "utf8")).toBe("second");
  });

  it("refuses a file onto an artifact folder and a folder onto a file, writing nothing", async () => {
    const root = await tempTree();
    const store = new FileStore(root);
    const { runId } = (await store.createRun({ experimentId: "0" })).info;
    const local = join(root, "..", "local");
    await mkdir(join(local, "report"), { recursive: true });
    await writeFile(join(local, "report", "a.txt"), "a");
    await store.logArtifact(runId, join(local, "report"));
    await rm(join(local, "report"), { recursive: true });
    await writeFile(join(local, "report"), "now a file");
    const onFolder = await expectMlflowError(
      store.logArtifact(runId, join(local, "report")),
      "INVALID_PARAMETER_VALUE",
    );
    expect(onFolder.message).toContain("already has an artifact folder at that path");
    expect(onFolder.hint).toBeDefined();
    await writeFile(join(local, "b.txt"), "b");
    const underFile = await expectMlflowError(
      store.logArtifact(runId, join(local, "b.txt"), "report/a.txt"),
      "INVALID_PARAMETER_VALUE",
    );
    expect(underFile.message).toContain("'report/a.txt' in the run's artifacts is a file");
    const tracker = new Tracker(store, "0", resolveConfig({ trackingUri: root }));
    const handle = await tracker.startRun(undefined, { runId });
    await expectMlflowError(handle.logText("x", "report"), "INVALID_PARAMETER_VALUE");
    expect(await store.listArtifacts(runId, "report")).toEqual([
      { path: "report/a.txt", isDir: false, fileSize: 1 },
    ]);
    const runDir = join(root, "0", runId);
    expect((await readdir(runDir)).filter((f) => f.startsWith(".tmp-"))).toEqual([]);
  });

  it("never follows a link out of the run's artifact folder: read, list or write", async () => {
    const root = await tempTree();
    const store = new FileStore(root);
    const { runId } = (await store.createRun({ experimentId: "0" })).info;
    const artifacts = join(root, "0", runId, "artifacts");
    const outside = join(root, "..", "outside");
    await mkdir(outside);
    await writeFile(join(outside, "secret.txt"), "secret");
    await writeFile(join(artifacts, "real.txt"), "real");
    await symlink(outside, join(artifacts, "linked"));
    await symlink(join(outside, "secret.txt"), join(artifacts, "leak.txt"));
    await symlink("real.txt", join(artifacts, "alias.txt"));
    await symlink("nowhere.txt", join(artifacts, "dangling.txt"));
    expect(await store.listArtifacts(runId)).toEqual([
      { path: "alias.txt", isDir: false, fileSize: 4 },
      { path: "dangling.txt", isDir: false },
      { path: "leak.txt", isDir: false },
      { path: "linked", isDir: false },
      { path: "real.txt", isDir: false, fileSize: 4 },
    ]);
    expect(await store.listArtifacts(runId, "linked")).toEqual([]);
    expect(new TextDecoder().decode(await store.readArtifact(runId, "alias.txt"))).toBe("real");
    for (const [path, why] of [
      ["linked/secret.txt", "'linked' is a symbolic link"],
      ["leak.txt", "outside the run's artifact folder"],
      ["dangling.txt", "which does not exist"],
    ]) {
      const error = await expectMlflowError(
        store.readArtifact(runId, path as string),
        "INVALID_PARAMETER_VALUE",
      );
      expect(error.message).toContain(why);
      expect(error.hint).toContain("never follows a link");
    }
    const note = join(root, "..", "note.txt");
    await writeFile(note, "note");
    for (const artifactPath of ["linked", "linked/deeper"]) {
      const error = await expectMlflowError(
        store.logArtifact(runId, note, artifactPath),
        "INVALID_PARAMETER_VALUE",
      );
      expect(error.message).toContain("'linked' in the run's artifacts is");
    }
    expect(await readdir(outside)).toEqual(["secret.txt"]);
  });

  it("refuses a key that clashes with what is already on disk, writing nothing", async () => {
    const root = await tempTree();
    const store = new FileStore(root);
    const run = await store.createRun({ experimentId: "0" });
    await store.logBatch(run.info.runId, { params: { a: "1" } });
    const error = await expectMlflowError(
      store.logBatch(run.info.runId, { params: { "a/b": "2", c: "3" } }),
      "INVALID_PARAMETER_VALUE",
    );
    expect(error.message).toContain("'a/b'");
    expect((await store.getRun(run.info.runId)).data.params).toEqual({ a: "1" });
  });

  it("ends a line a crash left unfinished before appending, so new lines stay whole", async () => {
    const root = await tempTree();
    const store = new FileStore(root);
    const run = await store.createRun({ experimentId: "0" });
    const file = join(root, "0", run.info.runId, "metrics", "m");
    await writeFile(file, "1 0.5 0\n2 0.4");
    const old = new Date(Date.now() - 60_000);
    await utimes(file, old, old);
    await store.logBatch(run.info.runId, {
      metrics: [{ key: "m", value: 1, timestamp: 3, step: 2 }],
    });
    expect(await readFile(file, "utf8")).toBe("1 0.5 0\n2 0.4\n3 1.0 2\n");
  });

  it("leaves no temp files behind in keys folders", async () => {
    const root = await tempTree();
    const store = new FileStore(root);
    const run = await store.createRun({ experimentId: "0", tags: { "x/y": "1" } });
    await store.logBatch(run.info.runId, {
      params: { p: "1" },
      metrics: [{ key: "m", value: 1, timestamp: 1, step: 0 }],
    });
    const runDir = join(root, "0", run.info.runId);
    for (const folder of ["metrics", "params", "tags"]) {
      const names = await readdir(join(runDir, folder), { recursive: true });
      expect(names.filter((n) => String(n).includes(".tmp-"))).toEqual([]);
    }
    expect((await readdir(runDir)).filter((n) => n.startsWith(".tmp-"))).toEqual([]);
  });
});

describe("FileStore history pages over a line still being written", () => {
  it("give the whole lines and no next page (a torn or unreadable tail is not a page)", async () => {
    const store = new FileStore(await tempTree());
    const { runId } = (await store.createRun({ experimentId: "0" })).info;
    const file = join(store.root, "0", runId, "metrics", "loss");
    await mkdir(join(store.root, "0", runId, "metrics"), { recursive: true });
    await writeFile(file, "1 0.5 0\n2 0.6 1\n3 0.");
    const page = await store.getMetricHistoryPage(runId, "loss", { maxResults: 10 });
    expect(page.metrics.map((m) => m.value)).toEqual([0.5, 0.6]);
    expect(page.nextPageToken).toBeUndefined();
    // Only the torn tail, not UTF-8 either: no point and no page that would lead nowhere.
    await writeFile(file, Buffer.from([0x31, 0x2e, 0x35, 0xff, 0xfe]));
    expect(await store.getMetricHistoryPage(runId, "loss", { maxResults: 10 })).toEqual({
      metrics: [],
    });
  });
});

describe("FileStore metric files with lines longer than a read", () => {
  it("reads a line past 64 KiB whole, in pages, in the run's latest value and with a torn tail", async () => {
    const store = new FileStore(await tempTree());
    const { runId } = (await store.createRun({ experimentId: "0" })).info;
    const file = join(store.root, "0", runId, "metrics", "loss");
    await mkdir(join(store.root, "0", runId, "metrics"), { recursive: true });
    const name = "d".repeat(150_000);
    await writeFile(file, `1 0.5 0\n2 0.6 1 ${name} digest\n3 0.7 2\n4 0.${"8".repeat(100_000)}`);
    const first = await store.getMetricHistoryPage(runId, "loss", { maxResults: 1 });
    const rest = await store.getMetricHistoryPage(runId, "loss", {
      maxResults: 10,
      pageToken: first.nextPageToken as string,
    });
    const points = [...first.metrics, ...rest.metrics];
    expect(points.map((m) => m.value)).toEqual([0.5, 0.6, 0.7]);
    expect(points[1]?.datasetName).toBe(name);
    expect(rest.nextPageToken).toBeUndefined();
    expect((await store.getRun(runId)).data.metrics.loss?.value).toBe(0.7);
  });
});
