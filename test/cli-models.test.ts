/**
 * `mlruns models …` in-process: the command modules under yargs, as cli/main.ts wires them,
 * against a FileStore tree, with --json output captured.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import yargs from "yargs";
import { models } from "../cli/commands/models.ts";
import { FileStore } from "../src/store/file/index.ts";

let dir = "";
let root = "";
let runId = "";

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mlruns-cli-models-"));
  root = join(dir, "mlruns");
  const store = new FileStore(root);
  const run = await store.createRun({ experimentId: "0" });
  runId = run.info.runId;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs `mlruns models <args> --json -u <root>` and returns the parsed stdout. */
async function cli(...args: string[]): Promise<unknown> {
  const out: string[] = [];
  const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: unknown) => {
    out.push(String(chunk));
    return true;
  });
  try {
    await yargs(["models", ...args, "--json", "--tracking-uri", root])
      .option("tracking-uri", { type: "string" })
      .option("json", { type: "boolean" })
      .command([models])
      .strict()
      .fail((message, error) => {
        throw error ?? new Error(message);
      })
      .parseAsync();
  } finally {
    spy.mockRestore();
  }
  const text = out.join("").trim();
  return text === "" ? undefined : JSON.parse(text);
}

describe("mlruns models", () => {
  it("create, register, tag, alias, stage, show, versions, list, rename, delete", async () => {
    expect(await cli("create", "iris", "-d", "Iris", "-t", "team=cv")).toMatchObject({
      name: "iris",
      description: "Iris",
      tags: { team: "cv" },
    });
    expect(await cli("register", `runs:/${runId}/model`, "iris", "-t", "k=v")).toMatchObject({
      name: "iris",
      version: "1",
      runId,
      tags: { k: "v" },
    });
    expect(await cli("register", `runs:/${runId}/model`, "created-on-the-fly")).toMatchObject({
      version: "1",
    });
    await cli("register", `runs:/${runId}/model`, "iris");
    await cli("tag", "iris", "quality", "good", "--mv", "2");
    await cli("tag", "iris", "owner", "me");
    await cli("tag", "iris", "owner", "--delete");
    await cli("alias", "iris", "champion", "2");
    expect(await cli("alias", "iris", "champion")).toMatchObject({ version: "2" });
    expect(await cli("stage", "iris", "2", "production")).toMatchObject({
      currentStage: "Production",
    });
    await cli("describe", "iris", "version two", "--mv", "2");
    const shown = (await cli("show", "iris")) as {
      model: { tags: Record<string, string>; aliases: Record<string, string> };
      versions: { version: string; tags: Record<string, string>; description: string | null }[];
    };
    expect(shown.model.tags).toEqual({ team: "cv" });
    expect(shown.model.aliases).toEqual({ champion: "2" });
    expect(shown.versions.map((v) => [v.version, v.tags, v.description])).toEqual([
      ["1", { k: "v" }, null],
      ["2", { quality: "good" }, "version two"],
    ]);
    const found = (await cli("versions", "--filter", "tags.quality = 'good'")) as {
      versions: { name: string; version: string }[];
    };
    expect(found.versions.map((v) => [v.name, v.version])).toEqual([["iris", "2"]]);
    const listed = (await cli("list")) as { models: { name: string }[] };
    expect(listed.models.map((m) => m.name)).toEqual(["created-on-the-fly", "iris"]);
    await cli("rename", "iris", "iris-v2");
    await cli("delete", "iris-v2", "--model-version", "1");
    const after = (await cli("versions", "iris-v2")) as { versions: { version: string }[] };
    expect(after.versions.map((v) => v.version)).toEqual(["2"]);
    await cli("delete", "iris-v2", "--yes");
    const left = (await cli("list")) as { models: { name: string }[] };
    expect(left.models.map((m) => m.name)).toEqual(["created-on-the-fly"]);
  });

  it("registers runs:/<run>/… with the run named by id prefix or latest, storing its id", async () => {
    for (const ref of [runId.slice(0, 6), "latest"]) {
      const version = (await cli("register", `runs:/${ref}/model`, "by-ref")) as {
        source: string;
        runId: string;
      };
      expect(version).toMatchObject({ source: `runs:/${runId}/model`, runId });
    }
  });

  it("refuses to delete a whole model without --yes when not on a terminal", async () => {
    await cli("create", "keep-me");
    await expect(cli("delete", "keep-me")).rejects.toThrow(/Not deleting/);
    expect(await cli("show", "keep-me")).toMatchObject({ model: { name: "keep-me" } });
  });
});
