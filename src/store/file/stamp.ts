/**
 * A cheap fingerprint of a folder's contents from file metadata alone: every file's relative
 * path, size, modification and change time. Any write through any tool changes the change time
 * (which no copy tool can set back), so equal stamps mean unchanged contents.
 */
import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { isMissing } from "./atomic.ts";

export async function stampFolder(dir: string): Promise<string> {
  async function walk(folder: string, prefix: string): Promise<string[]> {
    let entries: import("node:fs").Dirent[];
    try {
      entries = await fs.readdir(folder, { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return [];
      throw error;
    }
    const lines = await Promise.all(
      entries.map(async (entry): Promise<string[]> => {
        const path = join(folder, entry.name);
        if (entry.isDirectory()) return walk(path, `${prefix}${entry.name}/`);
        if (!entry.isFile()) return [];
        const stat = await fs.stat(path, { bigint: true });
        return [`${prefix}${entry.name}\0${stat.size}\0${stat.mtimeNs}\0${stat.ctimeNs}`];
      }),
    );
    return lines.flat();
  }
  const lines = (await walk(dir, "")).sort();
  return createHash("sha1").update(lines.join("\n")).digest("hex");
}
