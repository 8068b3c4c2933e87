/**
 * A cheap fingerprint of a folder's contents from file metadata alone: every file's relative
 * path, size, modification and change time (nanoseconds). Any write through any tool changes the
 * change time (which no copy tool can set back), so equal stamps mean unchanged contents.
 * Synchronous: a run holds few files, and thousands of small stats are much faster this way.
 */
import { createHash } from "node:crypto";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { isMissing } from "../../atomic.ts";

function walk(folder: string, prefix: string, lines: string[]): void {
  let entries: import("node:fs").Dirent[];
  try {
    entries = readdirSync(folder, { withFileTypes: true });
  } catch (error) {
    if (isMissing(error)) return;
    throw error;
  }
  for (const entry of entries) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) walk(path, `${prefix}${entry.name}/`, lines);
    else if (entry.isFile()) {
      const stat = statSync(path, { bigint: true, throwIfNoEntry: false });
      if (stat === undefined) continue; // removed since the listing
      lines.push(`${prefix}${entry.name}\0${stat.size}\0${stat.mtimeNs}\0${stat.ctimeNs}`);
    }
  }
}

export function stampFolder(dir: string): string {
  const lines: string[] = [];
  walk(dir, "", lines);
  return createHash("sha1").update(lines.sort().join("\n")).digest("hex");
}
