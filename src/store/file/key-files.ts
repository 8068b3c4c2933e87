/**
 * The file-per-key folders of a run or experiment (params/, tags/, metrics/): a key with `/` is a
 * nested path. Reading walks the folder; writing refuses a key that would clash with a folder.
 */
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { invalid } from "../../errors.ts";
import { isMissing } from "./atomic.ts";

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

/** Every key's full text, as MLflow reads params and tags (content verbatim). */
export async function readKeyValues(dir: string): Promise<Record<string, string>> {
  const files = await listKeyFiles(dir);
  const values: Record<string, string> = {};
  const keys = [...files.keys()].sort();
  const texts = await Promise.all(keys.map((key) => fs.readFile(files.get(key) as string, "utf8")));
  keys.forEach((key, i) => {
    values[key] = texts[i] as string;
  });
  return values;
}

/**
 * Makes the folders a key file needs and checks that neither the key nor any of its prefixes
 * clashes with what is already there (`a` as a file when writing `a/b`, or `a` as a folder).
 */
export async function prepareKeyFile(
  namespaceDir: string,
  kind: string,
  key: string,
): Promise<string> {
  const parts = key.split("/");
  await fs.mkdir(namespaceDir, { recursive: true });
  let folder = namespaceDir;
  for (const part of parts.slice(0, -1)) {
    folder = join(folder, part);
    try {
      await fs.mkdir(folder);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EEXIST") {
        const stat = await fs.stat(folder);
        if (!stat.isDirectory()) throw clash(kind, key, folder, namespaceDir);
      } else if (code === "ENOTDIR") {
        throw clash(kind, key, folder, namespaceDir);
      } else throw error;
    }
  }
  const file = join(folder, parts.at(-1) as string);
  try {
    if ((await fs.stat(file)).isDirectory()) throw clash(kind, key, file, namespaceDir);
  } catch (error) {
    if (!isMissing(error)) throw error;
  }
  return file;
}

function clash(kind: string, key: string, path: string, namespaceDir: string) {
  const existing = path
    .slice(namespaceDir.length + 1)
    .split(/[\\/]/)
    .join("/");
  return invalid(
    `Invalid ${kind} key '${key}': it clashes with the existing ${kind} '${existing}' ` +
      "(a key cannot be both a value and a folder of other keys)",
  );
}
