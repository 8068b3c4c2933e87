/**
 * The behaviour every RegistryStore owes: one suite, run against FileStore, MemoryStore and
 * RestStore on real MLflow servers. Each test uses fresh model names, so the suite also runs
 * against a shared server. A store that cannot pass a test lists it in `options.skip`.
 */
import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { registryOf, type TrackingStore } from "../src/store/store.ts";
import { expectMlflowError } from "./store-contract.ts";

export interface RegistryUnderTest {
  store: TrackingStore;
  cleanup?: () => Promise<void>;
}

export function describeRegistryStore(
  name: string,
  makeStore: () => Promise<RegistryUnderTest>,
  options: { skip?: Record<string, string> } = {},
): void {
  const skip = options.skip ?? {};
  const test = (title: string, fn: () => Promise<void>) => {
    const reason = skip[title];
    if (reason === undefined) return it(title, fn);
    return it.skip(`${title} (skipped: ${reason})`, fn);
  };

  describe(`RegistryStore contract: ${name}`, () => {
    let current: RegistryUnderTest | undefined;
    const store = () => {
      if (current === undefined) throw new Error("no store");
      return current.store;
    };
    const registry = () => registryOf(store());
    const unique = (label: string) => `reg-${label}-${randomUUID().slice(0, 8)}`;
    const newRun = async () => {
      const experimentId = await store().createExperiment(`reg-exp-${randomUUID()}`);
      return (await store().createRun({ experimentId })).info;
    };
    /** A model with `count` versions from one run. */
    const modelWithVersions = async (label: string, count: number) => {
      const name = unique(label);
      await registry().createRegisteredModel(name);
      const run = await newRun();
      for (let i = 0; i < count; i++) {
        await registry().createModelVersion({
          name,
          source: `runs:/${run.runId}/model`,
          runId: run.runId,
        });
      }
      return { name, runId: run.runId };
    };

    beforeEach(async () => {
      current = await makeStore();
    });
    afterEach(async () => {
      await current?.cleanup?.();
      current = undefined;
    });

    describe("registered models", () => {
      test("create and get keep name, description, tags and timestamps", async () => {
        const name = unique("create");
        const before = Date.now() - 5000;
        const created = await registry().createRegisteredModel(name, {
          description: "first model",
          tags: { team: "cv", "a.b/c": "x y" },
        });
        expect(created.name).toBe(name);
        const got = await registry().getRegisteredModel(name);
        expect(got).toMatchObject({
          name,
          description: "first model",
          tags: { team: "cv", "a.b/c": "x y" },
          aliases: {},
          latestVersions: [],
        });
        expect(got.creationTimestamp).toBeGreaterThan(before);
        expect(got.lastUpdatedTimestamp).toBeGreaterThanOrEqual(got.creationTimestamp ?? 0);
      });

      test("a duplicate name is RESOURCE_ALREADY_EXISTS", async () => {
        const name = unique("dup");
        await registry().createRegisteredModel(name);
        const error = await expectMlflowError(
          registry().createRegisteredModel(name),
          "RESOURCE_ALREADY_EXISTS",
        );
        expect(error.message).toContain(name);
      });

      test("an unknown model is RESOURCE_DOES_NOT_EXIST", async () => {
        await expectMlflowError(
          registry().getRegisteredModel(unique("nope")),
          "RESOURCE_DOES_NOT_EXIST",
        );
      });

      test("invalid names are rejected before anything is written", async () => {
        for (const bad of ["", "  ", "a/b", "a%b", "a:b", ".."]) {
          await expectMlflowError(registry().createRegisteredModel(bad), "INVALID_PARAMETER_VALUE");
        }
      });

      test("update sets the description", async () => {
        const name = unique("upd");
        await registry().createRegisteredModel(name);
        const updated = await registry().updateRegisteredModel(name, { description: "new text" });
        expect(updated.description).toBe("new text");
        expect((await registry().getRegisteredModel(name)).description).toBe("new text");
      });

      test("tags: set, overwrite, delete; a missing tag deletes quietly", async () => {
        const name = unique("tags");
        await registry().createRegisteredModel(name);
        await registry().setRegisteredModelTag(name, "k", "1");
        await registry().setRegisteredModelTag(name, "k", "2");
        await registry().setRegisteredModelTag(name, "other", "x");
        expect((await registry().getRegisteredModel(name)).tags).toEqual({ k: "2", other: "x" });
        await registry().deleteRegisteredModelTag(name, "k");
        await registry().deleteRegisteredModelTag(name, "never-set");
        expect((await registry().getRegisteredModel(name)).tags).toEqual({ other: "x" });
        await expectMlflowError(
          registry().setRegisteredModelTag(name, "bad,key", "v"),
          "INVALID_PARAMETER_VALUE",
        );
      });

      test("rename keeps versions, tags and aliases; the old name is gone", async () => {
        const { name } = await modelWithVersions("ren", 2);
        await registry().setRegisteredModelTag(name, "team", "cv");
        await registry().setModelVersionTag(name, "2", "quality", "good");
        await registry().setRegisteredModelAlias(name, "champion", "2");
        const newName = unique("renamed");
        const renamed = await registry().renameRegisteredModel(name, newName);
        expect(renamed.name).toBe(newName);
        await expectMlflowError(registry().getRegisteredModel(name), "RESOURCE_DOES_NOT_EXIST");
        const got = await registry().getRegisteredModel(newName);
        expect(got.tags).toEqual({ team: "cv" });
        expect(got.aliases).toEqual({ champion: "2" });
        const v2 = await registry().getModelVersion(newName, "2");
        expect(v2).toMatchObject({
          name: newName,
          tags: { quality: "good" },
          aliases: ["champion"],
        });
        expect((await registry().getModelVersionByAlias(newName, "champion")).version).toBe("2");
      });

      test("rename onto an existing name is RESOURCE_ALREADY_EXISTS", async () => {
        const a = unique("a");
        const b = unique("b");
        await registry().createRegisteredModel(a);
        await registry().createRegisteredModel(b);
        await expectMlflowError(registry().renameRegisteredModel(a, b), "RESOURCE_ALREADY_EXISTS");
        expect((await registry().getRegisteredModel(a)).name).toBe(a);
      });

      test("delete removes the model and its versions", async () => {
        const { name } = await modelWithVersions("del", 2);
        await registry().deleteRegisteredModel(name);
        await expectMlflowError(registry().getRegisteredModel(name), "RESOURCE_DOES_NOT_EXIST");
        const found = await registry().searchModelVersions({ filter: `name = '${name}'` });
        expect(found.versions).toEqual([]);
        await expectMlflowError(registry().deleteRegisteredModel(name), "RESOURCE_DOES_NOT_EXIST");
      });

      test("search by name, LIKE, ILIKE and tags, ordered by name, paged", async () => {
        const stem = unique("srch");
        for (const n of ["b", "a", "c"]) {
          await registry().createRegisteredModel(`${stem}-${n}`, { tags: { letter: n } });
        }
        const like = await registry().searchRegisteredModels({ filter: `name LIKE '${stem}-%'` });
        expect(like.models.map((m) => m.name)).toEqual([`${stem}-a`, `${stem}-b`, `${stem}-c`]);
        const ilike = await registry().searchRegisteredModels({
          filter: `name ILIKE '${stem.toUpperCase()}-%'`,
        });
        expect(ilike.models).toHaveLength(3);
        const exact = await registry().searchRegisteredModels({ filter: `name = '${stem}-b'` });
        expect(exact.models.map((m) => m.name)).toEqual([`${stem}-b`]);
        const tagged = await registry().searchRegisteredModels({
          filter: `name LIKE '${stem}%' AND tags.letter = 'c'`,
        });
        expect(tagged.models.map((m) => m.name)).toEqual([`${stem}-c`]);
        const desc = await registry().searchRegisteredModels({
          filter: `name LIKE '${stem}%'`,
          orderBy: ["name DESC"],
        });
        expect(desc.models.map((m) => m.name)).toEqual([`${stem}-c`, `${stem}-b`, `${stem}-a`]);
        const page1 = await registry().searchRegisteredModels({
          filter: `name LIKE '${stem}%'`,
          maxResults: 2,
        });
        expect(page1.models).toHaveLength(2);
        expect(page1.nextPageToken).toBeTruthy();
        const page2 = await registry().searchRegisteredModels({
          filter: `name LIKE '${stem}%'`,
          maxResults: 2,
          ...(page1.nextPageToken ? { pageToken: page1.nextPageToken } : {}),
        });
        expect(page2.models.map((m) => m.name)).toEqual([`${stem}-c`]);
        expect(page2.nextPageToken).toBeUndefined();
      });

      test("a bad registry filter is INVALID_PARAMETER_VALUE", async () => {
        await expectMlflowError(
          registry().searchRegisteredModels({ filter: "run_id = 'x'" }),
          "INVALID_PARAMETER_VALUE",
        );
        await expectMlflowError(
          registry().searchRegisteredModels({ filter: "name = " }),
          "INVALID_PARAMETER_VALUE",
        );
      });
    });

    describe("model versions", () => {
      test("versions count up from 1 and keep source, run id, tags and description", async () => {
        const name = unique("ver");
        await registry().createRegisteredModel(name);
        const run = await newRun();
        const v1 = await registry().createModelVersion({
          name,
          source: `runs:/${run.runId}/model`,
          runId: run.runId,
          tags: { v: "1" },
          description: "first",
        });
        expect(v1).toMatchObject({
          name,
          version: "1",
          currentStage: "None",
          source: `runs:/${run.runId}/model`,
          runId: run.runId,
          status: "READY",
          tags: { v: "1" },
          description: "first",
          aliases: [],
        });
        const v2 = await registry().createModelVersion({ name, source: `runs:/${run.runId}/m2` });
        expect(v2.version).toBe("2");
        expect(await registry().getModelVersion(name, "1")).toMatchObject({ tags: { v: "1" } });
        const model = await registry().getRegisteredModel(name);
        expect(model.latestVersions.map((v) => [v.version, v.currentStage])).toEqual([
          ["2", "None"],
        ]);
      });

      test("a version of an unknown model is RESOURCE_DOES_NOT_EXIST", async () => {
        await expectMlflowError(
          registry().createModelVersion({ name: unique("none"), source: "s3://bucket/model" }),
          "RESOURCE_DOES_NOT_EXIST",
        );
        const { name } = await modelWithVersions("unknown-v", 1);
        await expectMlflowError(registry().getModelVersion(name, "7"), "RESOURCE_DOES_NOT_EXIST");
      });

      test("deleted version numbers are never reused", async () => {
        const { name, runId } = await modelWithVersions("noreuse", 3);
        await registry().deleteModelVersion(name, "3");
        await expectMlflowError(registry().getModelVersion(name, "3"), "RESOURCE_DOES_NOT_EXIST");
        const next = await registry().createModelVersion({ name, source: `runs:/${runId}/model` });
        expect(next.version).toBe("4");
        const listed = await registry().searchModelVersions({ filter: `name = '${name}'` });
        expect(listed.versions.map((v) => v.version).sort()).toEqual(["1", "2", "4"]);
      });

      test("update and tags of a version", async () => {
        const { name } = await modelWithVersions("vtags", 1);
        const updated = await registry().updateModelVersion(name, "1", { description: "tuned" });
        expect(updated.description).toBe("tuned");
        await registry().setModelVersionTag(name, "1", "k", "v");
        await registry().setModelVersionTag(name, "1", "k2", "v2");
        await registry().deleteModelVersionTag(name, "1", "k");
        await registry().deleteModelVersionTag(name, "1", "absent");
        expect((await registry().getModelVersion(name, "1")).tags).toEqual({ k2: "v2" });
      });

      test("text with a lone UTF-16 surrogate is refused with a hint, and nothing is written", async () => {
        const lone = "half\uD83D";
        const code = "INVALID_PARAMETER_VALUE";
        const fresh = unique("lone");
        const refused = await expectMlflowError(
          registry().createRegisteredModel(fresh, { description: lone }),
          code,
        );
        expect(refused.message).toContain("lone UTF-16 surrogate (U+D83D at index 4)");
        expect(refused.hint).toContain("toWellFormed()");
        await expectMlflowError(registry().getRegisteredModel(fresh), "RESOURCE_DOES_NOT_EXIST");
        const { name, runId } = await modelWithVersions("lone", 1);
        await expectMlflowError(
          registry().updateRegisteredModel(name, { description: lone }),
          code,
        );
        const source = `runs:/${runId}/model`;
        for (const options of [
          { source: `runs:/${runId}/${lone}` },
          { source, description: lone },
          { source, runLink: `http://host/${lone}` },
        ]) {
          await expectMlflowError(registry().createModelVersion({ name, ...options }), code);
        }
        await expectMlflowError(
          registry().updateModelVersion(name, "1", { description: lone }),
          code,
        );
        const listed = await registry().searchModelVersions({ filter: `name = '${name}'` });
        expect(listed.versions.map((v) => v.version)).toEqual(["1"]);
        expect((await registry().getModelVersion(name, "1")).description ?? "").toBe("");
        expect((await registry().getRegisteredModel(name)).description ?? "").toBe("");
      });

      test("search versions by name, run_id, source_path, version_number and tags", async () => {
        const { name, runId } = await modelWithVersions("vsearch", 3);
        await registry().setModelVersionTag(name, "2", "quality", "good");
        const byName = await registry().searchModelVersions({ filter: `name = '${name}'` });
        expect(byName.versions.map((v) => v.version)).toHaveLength(3);
        const byRun = await registry().searchModelVersions({
          filter: `name = '${name}' AND run_id = '${runId}'`,
        });
        expect(byRun.versions).toHaveLength(3);
        const byTag = await registry().searchModelVersions({
          filter: `name = '${name}' AND tags.quality = 'good'`,
        });
        expect(byTag.versions.map((v) => v.version)).toEqual(["2"]);
        const byNumber = await registry().searchModelVersions({
          filter: `name = '${name}' AND version_number >= 2`,
          orderBy: ["version_number ASC"],
        });
        expect(byNumber.versions.map((v) => v.version)).toEqual(["2", "3"]);
        const bySource = await registry().searchModelVersions({
          filter: `source_path LIKE 'runs:/${runId}/%'`,
        });
        expect(bySource.versions).toHaveLength(3);
        const inList = await registry().searchModelVersions({
          filter: `name = '${name}' AND run_id IN ('${runId}', 'other')`,
        });
        expect(inList.versions).toHaveLength(3);
      });

      test("search versions with name IN (...)", async () => {
        const { name } = await modelWithVersions("vsearchin", 2);
        const inList = await registry().searchModelVersions({
          filter: `name IN ('${name}', 'other')`,
        });
        expect(inList.versions).toHaveLength(2);
      });

      test("getModelVersionDownloadUri answers where the files are", async () => {
        const { name } = await modelWithVersions("dl", 1);
        expect(await registry().getModelVersionDownloadUri(name, "1")).toBeTruthy();
      });
    });

    describe("aliases and stages", () => {
      test("set, move, get and delete an alias; deleting a missing one is quiet", async () => {
        const { name } = await modelWithVersions("alias", 2);
        await registry().setRegisteredModelAlias(name, "champion", "1");
        expect((await registry().getModelVersionByAlias(name, "champion")).version).toBe("1");
        await registry().setRegisteredModelAlias(name, "champion", "2");
        expect((await registry().getModelVersionByAlias(name, "champion")).version).toBe("2");
        expect((await registry().getRegisteredModel(name)).aliases).toEqual({ champion: "2" });
        expect((await registry().getModelVersion(name, "2")).aliases).toEqual(["champion"]);
        expect((await registry().getModelVersion(name, "1")).aliases).toEqual([]);
        await registry().deleteRegisteredModelAlias(name, "champion");
        await registry().deleteRegisteredModelAlias(name, "champion");
        expect((await registry().getRegisteredModel(name)).aliases).toEqual({});
        await expectMlflowError(registry().getModelVersionByAlias(name, "champion"));
      });

      test("reserved and malformed aliases are rejected", async () => {
        const { name } = await modelWithVersions("badalias", 1);
        for (const bad of ["latest", "LATEST", "v1", "V12", "a b", "a/b"]) {
          await expectMlflowError(
            registry().setRegisteredModelAlias(name, bad, "1"),
            "INVALID_PARAMETER_VALUE",
          );
        }
      });

      test("an alias of an unknown version is RESOURCE_DOES_NOT_EXIST", async () => {
        const { name } = await modelWithVersions("aliasver", 1);
        await expectMlflowError(
          registry().setRegisteredModelAlias(name, "x", "5"),
          "RESOURCE_DOES_NOT_EXIST",
        );
      });

      test("deleting a version drops its aliases", async () => {
        const { name } = await modelWithVersions("aliasdel", 2);
        await registry().setRegisteredModelAlias(name, "champion", "2");
        await registry().setRegisteredModelAlias(name, "backup", "1");
        await registry().deleteModelVersion(name, "2");
        expect((await registry().getRegisteredModel(name)).aliases).toEqual({ backup: "1" });
      });

      test("stages: canonical names, archiving the others when asked", async () => {
        const { name } = await modelWithVersions("stage", 3);
        const v1 = await registry().transitionModelVersionStage(name, "1", "production");
        expect(v1.currentStage).toBe("Production");
        await registry().transitionModelVersionStage(name, "2", "Production");
        expect((await registry().getModelVersion(name, "1")).currentStage).toBe("Production");
        await registry().transitionModelVersionStage(name, "3", "Production", true);
        expect((await registry().getModelVersion(name, "1")).currentStage).toBe("Archived");
        expect((await registry().getModelVersion(name, "2")).currentStage).toBe("Archived");
        expect((await registry().getModelVersion(name, "3")).currentStage).toBe("Production");
        const latest = (await registry().getRegisteredModel(name)).latestVersions;
        expect(latest.map((v) => [v.version, v.currentStage])).toEqual([
          ["2", "Archived"],
          ["3", "Production"],
        ]);
        await expectMlflowError(
          registry().transitionModelVersionStage(name, "1", "Prod"),
          "INVALID_PARAMETER_VALUE",
        );
        await expectMlflowError(
          registry().transitionModelVersionStage(name, "1", "Archived", true),
          "INVALID_PARAMETER_VALUE",
        );
      });
    });
  });
}
