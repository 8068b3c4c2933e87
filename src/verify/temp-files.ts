/** Temp files of our atomic writes, left by an interrupted write in a folder MLflow ignores. */
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { TEMP_PREFIX } from "../atomic.ts";
import { entries } from "./files.ts";
import { problem, type VerifyProblem } from "./problems.ts";

/** Temp files younger than this may belong to a write in progress: not removed by a fix. */
export const TEMP_FILE_GRACE_MS = 5 * 60_000;

export async function checkTempFiles(dir: string, now: number): Promise<VerifyProblem[]> {
  const out: VerifyProblem[] = [];
  for (const entry of await entries(dir)) {
    if (!entry.isFile() || !entry.name.startsWith(TEMP_PREFIX)) continue;
    const path = join(dir, entry.name);
    // A temp file gone since the listing was a write that finished (e.g. the search index).
    const stat = await fs.stat(path).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return undefined;
      throw error;
    });
    if (stat === undefined) continue;
    const old = now - stat.mtimeMs >= TEMP_FILE_GRACE_MS;
    out.push(
      problem({
        code: "TEMP_FILE_LEFTOVER",
        path,
        message: `temp file left by an interrupted write${old ? "" : " (recent: a write may be in progress)"}`,
        ...(old
          ? { fix: { description: "delete the temp file", action: { kind: "delete-file", path } } }
          : {}),
      }),
    );
  }
  return out;
}
