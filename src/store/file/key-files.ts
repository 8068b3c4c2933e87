/**
 * The file-per-key folders of a run or experiment (params/, tags/, metrics/): a key with `/` is a
 * nested path. Reading walks the folder; writing refuses a key that would clash with a folder.
 */
import { promises as fs, mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { isMissing } from "../../atomic.ts";
import { keyClashesWith } from "../../validation.ts";
import { asTreeError, utf8Text } from "./problems.ts";

/** Every key under `dir` with the absolute path of its file, keys `/`-separated. */
export async function listKeyFiles(dir: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  async function walk(folder: string, prefix: string): Promise<void> {
    let entries: import("node:fs").Dirent[];
    try {
      entries = await fs.readdir(folder, { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    await Promise.all(
      entries.map(async (entry) => {
        const key = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
        const path = join(folder, entry.name);
        if (entry.isDirectory()) await walk(path, key);
        else if (entry.isFile()) found.set(key, path);
      }),
    );
  }
  await walk(dir, "");
  return found;
}

/** Every key's full text, as MLflow reads params and tags (verbatim; a TreeError if not UTF-8). */
export async function readKeyValues(dir: string): Promise<Record<string, string>> {
  const files = await listKeyFiles(dir);
  const values: Record<string, string> = {};
  const keys = [...files.keys()].sort();
  const texts = await Promise.all(
    keys.map(async (key) => {
      const path = files.get(key) as string;
      try {
        return utf8Text(path, await fs.readFile(path));
      } catch (error) {
        throw asTreeError(path, error);
      }
    }),
  );
  keys.forEach((key, i) => {
    values[key] = texts[i] as string;
  });
  return values;
}

/**
 * Makes the folders a key file needs and checks that neither the key nor any of its prefixes
 * clashes with what is already there (`a` as a file when writing `a/b`, or `a` as a folder).
 * Synchronous: a few mkdir and stat calls, also made where the event loop cannot be waited for
 * (metric points written from a training loop that never awaits).
 */
export function prepareKeyFile(namespaceDir: string, kind: string, key: string): string {
  const parts = key.split("/");
  mkdirSync(namespaceDir, { recursive: true });
  let folder = namespaceDir;
  for (const part of parts.slice(0, -1)) {
    folder = join(folder, part);
    try {
      mkdirSync(folder);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EEXIST") {
        if (!statSync(folder).isDirectory())
          throw keyClashesWith(kind, key, keyOf(namespaceDir, folder));
      } else if (code === "ENOTDIR") {
        throw keyClashesWith(kind, key, keyOf(namespaceDir, folder));
      } else throw error;
    }
  }
  const file = join(folder, parts.at(-1) as string);
  let isFolder = false;
  try {
    isFolder = statSync(file).isDirectory();
  } catch (error) {
    if (!isMissing(error)) throw error;
  }
  // `a` where `a/...` keys exist: name one of those, the key that is in the way.
  if (isFolder) throw keyClashesWith(kind, key, keyOf(namespaceDir, firstFileUnder(file) ?? file));
  return file;
}

/** The first file (in name order) anywhere under `dir`, if any. */
function firstFileUnder(dir: string): string | undefined {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name < b.name ? -1 : 1,
  )) {
    const path = join(dir, entry.name);
    if (entry.isFile()) return path;
    if (entry.isDirectory()) {
      const found = firstFileUnder(path);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

const keyOf = (namespaceDir: string, path: string) =>
  path
    .slice(namespaceDir.length + 1)
    .split(/[\\/]/)
    .join("/");
