/**
 * The TrackingStore contract. Artifacts: log, list, read, stream, replace and delete, and where
 * they are stored.
 */
import { join } from "node:path";
import { describe, expect } from "vitest";
import { type Contract, expectMlflowError } from "./context.ts";

export function artifactsContract({
  test,
  store,
  unique,
  newRun,
  localTree,
  text,
  options,
}: Contract): void {
  describe("artifacts", () => {
    test("logArtifact of a file puts it at the root under its base name", async () => {
      const { runId } = await newRun("artifact-file");
      const local = await localTree({ "notes.txt": "hello" });
      await store().logArtifact(runId, join(local, "notes.txt"));
      expect(await store().listArtifacts(runId)).toEqual([
        { path: "notes.txt", isDir: false, fileSize: 5 },
      ]);
      expect(text(await store().readArtifact(runId, "notes.txt"))).toBe("hello");
    });

    test("logArtifact under an artifactPath nests it, and listings show each level", async () => {
      const { runId } = await newRun("artifact-path");
      const local = await localTree({ "notes.txt": "hello" });
      await store().logArtifact(runId, join(local, "notes.txt"), "sub/dir");
      expect(await store().listArtifacts(runId)).toEqual([{ path: "sub", isDir: true }]);
      expect(await store().listArtifacts(runId, "sub")).toEqual([{ path: "sub/dir", isDir: true }]);
      expect(await store().listArtifacts(runId, "sub/dir")).toEqual([
        { path: "sub/dir/notes.txt", isDir: false, fileSize: 5 },
      ]);
      expect(text(await store().readArtifact(runId, "sub/dir/notes.txt"))).toBe("hello");
    });

    test("logArtifact of a directory copies its tree under the directory's name", async () => {
      const { runId } = await newRun("artifact-dir");
      const weights = Uint8Array.from({ length: 256 }, (_, i) => i);
      const local = await localTree({
        "model/MLmodel": "flavors: {}\n",
        "model/b.txt": "bb",
        "model/a.txt": "a",
        "model/data/weights.bin": weights,
      });
      await store().logArtifact(runId, join(local, "model"));
      expect(await store().listArtifacts(runId)).toEqual([{ path: "model", isDir: true }]);
      expect(await store().listArtifacts(runId, "model")).toEqual([
        { path: "model/MLmodel", isDir: false, fileSize: 12 },
        { path: "model/a.txt", isDir: false, fileSize: 1 },
        { path: "model/b.txt", isDir: false, fileSize: 2 },
        { path: "model/data", isDir: true },
      ]);
      expect(await store().listArtifacts(runId, "model/data")).toEqual([
        { path: "model/data/weights.bin", isDir: false, fileSize: 256 },
      ]);
      expect(Buffer.from(await store().readArtifact(runId, "model/data/weights.bin"))).toEqual(
        Buffer.from(weights),
      );
    });

    test("logArtifact of a directory under an artifactPath", async () => {
      const { runId } = await newRun("artifact-dir-path");
      const local = await localTree({ "plots/loss.svg": "<svg/>" });
      await store().logArtifact(runId, join(local, "plots"), "outputs");
      expect(await store().listArtifacts(runId, "outputs")).toEqual([
        { path: "outputs/plots", isDir: true },
      ]);
      expect(text(await store().readArtifact(runId, "outputs/plots/loss.svg"))).toBe("<svg/>");
    });

    test("listArtifacts sorts direct children and gives sizes for files only", async () => {
      const { runId } = await newRun("artifact-list");
      const local = await localTree({ "c.txt": "ccc", "a.txt": "", "b/inner.txt": "x" });
      await store().logArtifact(runId, join(local, "c.txt"));
      await store().logArtifact(runId, join(local, "a.txt"));
      await store().logArtifact(runId, join(local, "b"));
      const listing = await store().listArtifacts(runId);
      expect(listing.map((f) => f.path)).toEqual(["a.txt", "b", "c.txt"]);
      expect(listing[1]).toEqual({ path: "b", isDir: true });
      expect(listing[1]?.fileSize).toBeUndefined();
      expect(listing[2]).toEqual({ path: "c.txt", isDir: false, fileSize: 3 });
      // server: a 0-byte file comes back without file_size; the RestStore should report 0.
      expect(listing[0]).toMatchObject({ path: "a.txt", isDir: false });
      expect(await store().readArtifact(runId, "a.txt")).toHaveLength(0);
    });

    test("logArtifact replaces a file logged at the same path", async () => {
      const { runId } = await newRun("artifact-replace");
      const one = await localTree({ "a.txt": "one" });
      const two = await localTree({ "a.txt": "two!" });
      await store().logArtifact(runId, join(one, "a.txt"));
      await store().logArtifact(runId, join(two, "a.txt"));
      expect(await store().listArtifacts(runId)).toEqual([
        { path: "a.txt", isDir: false, fileSize: 4 },
      ]);
      expect(text(await store().readArtifact(runId, "a.txt"))).toBe("two!");
    });

    test("unknown artifact paths: readArtifact fails, listArtifacts is empty", async () => {
      const { runId } = await newRun("artifact-unknown");
      const local = await localTree({ "d/f.txt": "f" });
      await store().logArtifact(runId, join(local, "d"));
      await expectMlflowError(store().readArtifact(runId, "nope.txt"), "RESOURCE_DOES_NOT_EXIST");
      await expectMlflowError(store().readArtifact(runId, "d/nope.txt"), "RESOURCE_DOES_NOT_EXIST");
      await expectMlflowError(store().readArtifact(runId, "d"));
      // As MLflow's artifact repositories (and the server) do: a missing folder lists as empty.
      expect(await store().listArtifacts(runId, "nope")).toEqual([]);
      expect(await store().listArtifacts(runId, "d/f.txt")).toEqual([]);
    });

    test("artifact paths that climb out of the run are rejected", async () => {
      const { runId } = await newRun("artifact-escape");
      const local = await localTree({ "x.txt": "x" });
      const file = join(local, "x.txt");
      const code = "INVALID_PARAMETER_VALUE";
      for (const bad of ["../x", "a/../../x", "/abs", "a//b"]) {
        await expectMlflowError(store().logArtifact(runId, file, bad), code);
        await expectMlflowError(store().listArtifacts(runId, bad), code);
        await expectMlflowError(store().readArtifact(runId, bad), code);
      }
      await expectMlflowError(store().readArtifact(runId, "../x.txt"), code);
      expect(await store().listArtifacts(runId)).toEqual([]);
    });

    test("logArtifact of a missing local path is rejected", async () => {
      const { runId } = await newRun("artifact-missing");
      await expectMlflowError(
        store().logArtifact(runId, join(await localTree({}), "does-not-exist.txt")),
      );
      expect(await store().listArtifacts(runId)).toEqual([]);
    });

    test("an experiment's custom artifact location holds its runs' artifacts", async () => {
      const { customArtifacts } = options;
      const location = customArtifacts.location(unique("location"));
      const experimentId = await store().createExperiment(unique("custom-location"), {
        artifactLocation: location,
      });
      expect((await store().getExperiment(experimentId)).artifactLocation).toBe(location);
      const { info } = await store().createRun({ experimentId });
      expect(info.artifactUri).toBe(`${location}/${info.runId}/artifacts`);
      const local = await localTree({ "notes.txt": "hello" });
      await store().logArtifact(info.runId, join(local, "notes.txt"), "docs");
      expect(await store().listArtifacts(info.runId, "docs")).toEqual([
        { path: "docs/notes.txt", isDir: false, fileSize: 5 },
      ]);
      expect(text(await store().readArtifact(info.runId, "docs/notes.txt"))).toBe("hello");
      if (customArtifacts.stored) {
        const bytes = await customArtifacts.stored(info.artifactUri, "docs/notes.txt");
        expect(bytes && text(bytes)).toBe("hello");
      }
    });

    test("putArtifact writes bytes or a stream, openArtifact streams them back", async () => {
      const { runId } = await newRun("artifact-put");
      await store().putArtifact(runId, "notes.txt", Buffer.from("hello"));
      const big = Buffer.alloc(3 << 20, 7);
      async function* chunks() {
        for (let at = 0; at < big.length; at += 1 << 18) yield big.subarray(at, at + (1 << 18));
      }
      await store().putArtifact(runId, "deep/er/big.bin", chunks());
      expect(await store().listArtifacts(runId)).toEqual([
        { path: "deep", isDir: true },
        { path: "notes.txt", isDir: false, fileSize: 5 },
      ]);
      expect(await store().listArtifacts(runId, "deep/er")).toEqual([
        { path: "deep/er/big.bin", isDir: false, fileSize: big.length },
      ]);
      const opened = await store().openArtifact(runId, "deep/er/big.bin");
      expect(opened.size).toBe(big.length);
      const parts: Uint8Array[] = [];
      for await (const part of opened.stream) parts.push(part);
      expect(Buffer.concat(parts).equals(big)).toBe(true);
      await store().putArtifact(runId, "notes.txt", Buffer.from("replaced"));
      expect(text(await store().readArtifact(runId, "notes.txt"))).toBe("replaced");
    });

    test("openArtifact of a missing file or of a folder fails", async () => {
      const { runId } = await newRun("artifact-open-missing");
      await store().putArtifact(runId, "d/f.txt", Buffer.from("f"));
      await expectMlflowError(store().openArtifact(runId, "nope.txt"), "RESOURCE_DOES_NOT_EXIST");
      await expectMlflowError(store().openArtifact(runId, "d"));
      for (const bad of ["../x", "/abs", "a//b"]) {
        await expectMlflowError(store().openArtifact(runId, bad), "INVALID_PARAMETER_VALUE");
        await expectMlflowError(
          store().putArtifact(runId, bad, Buffer.from("x")),
          "INVALID_PARAMETER_VALUE",
        );
      }
    });

    test("deleteArtifact removes a file or a folder; a missing path is no error", async () => {
      const { runId } = await newRun("artifact-delete");
      await store().putArtifact(runId, "keep.txt", Buffer.from("k"));
      await store().putArtifact(runId, "d/a.txt", Buffer.from("a"));
      await store().putArtifact(runId, "d/e/b.txt", Buffer.from("b"));
      await store().deleteArtifact(runId, "d/e");
      expect(await store().listArtifacts(runId, "d")).toEqual([
        { path: "d/a.txt", isDir: false, fileSize: 1 },
      ]);
      await store().deleteArtifact(runId, "d");
      await store().deleteArtifact(runId, "never-there.txt");
      expect(await store().listArtifacts(runId)).toEqual([
        { path: "keep.txt", isDir: false, fileSize: 1 },
      ]);
      await expectMlflowError(store().deleteArtifact(runId, "../x"), "INVALID_PARAMETER_VALUE");
    });

    test("artifacts belong to one run", async () => {
      const { experimentId, runId } = await newRun("artifact-own");
      const other = (await store().createRun({ experimentId })).info.runId;
      const local = await localTree({ "mine.txt": "m" });
      await store().logArtifact(runId, join(local, "mine.txt"));
      expect(await store().listArtifacts(other)).toEqual([]);
      await expectMlflowError(store().readArtifact(other, "mine.txt"), "RESOURCE_DOES_NOT_EXIST");
    });
  });
}
