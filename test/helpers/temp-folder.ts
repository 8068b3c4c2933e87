/**
 * A temporary folder for one test file, removed after its tests. The user's cache folder
 * (XDG_CACHE_HOME, where long histories keep their summaries) is put back as it was too, for
 * files that point it elsewhere; with `cache`, it starts inside the folder, so the file's tests
 * begin with no summaries. Returns the folder's path, known once the file's tests begin.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";

export function tempFolder(prefix: string, options: { cache?: boolean } = {}): () => string {
  let dir: string | undefined;
  let cacheBefore: string | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
    cacheBefore = process.env.XDG_CACHE_HOME;
    if (options.cache) process.env.XDG_CACHE_HOME = join(dir, "cache");
  });
  afterAll(async () => {
    if (cacheBefore === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = cacheBefore;
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });
  return () => {
    if (dir === undefined) throw new Error("the temporary folder exists only while tests run");
    return dir;
  };
}
