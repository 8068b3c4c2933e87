/**
 * Key folders (metrics/, params/, tags/ of runs, experiments, models and versions), judged by
 * what MLflow does with each file, never by its name alone: MLflow walks the folder (not into
 * linked folders), validates every file's name as a key, reads it through links as strict UTF-8
 * and, in metrics/, parses every line. A key named `.DS_Store`, `x.swp` or `.tmp-1` that MLflow
 * reads is data. A file MLflow fails on is OS litter or an editor's leftover only when its name
 * says so too; then `--fix` may delete it, and never otherwise.
 */
import { join } from "node:path";
import { TEMP_PREFIX } from "../atomic.ts";
import { validateKey } from "../validation.ts";
import { entries, readEntry } from "./files.ts";
import { checkMetricText } from "./metrics.ts";
import { problem, type VerifyProblem } from "./problems.ts";

/** Names of OS litter and editors' leftovers. */
function isLitterName(name: string): boolean {
  return (
    name === ".DS_Store" ||
    name === "Thumbs.db" ||
    name === "desktop.ini" ||
    name.startsWith("._") ||
    name.endsWith("~") ||
    name.endsWith(".swp") ||
    name.startsWith(TEMP_PREFIX)
  );
}

export interface KeyFolderCheck {
  problems: VerifyProblem[];
  /** Files MLflow reads as metrics. */
  metricFiles: number;
}

interface KeyFile {
  key: string;
  path: string;
  link: boolean;
}

/** Every file MLflow reads as a key under `dir`, as `os.walk` finds them. */
export async function keyFiles(dir: string, prefix = ""): Promise<KeyFile[]> {
  const out: KeyFile[] = [];
  for (const entry of await entries(dir)) {
    const path = join(dir, entry.name);
    const key = `${prefix}${entry.name}`;
    if (entry.isDirectory()) out.push(...(await keyFiles(path, `${key}/`)));
    else if (entry.isSymbolicLink()) {
      // os.walk lists a link to a folder as a folder and does not enter it.
      if ((await readEntry(path)).kind !== "folder") out.push({ key, path, link: true });
    } else out.push({ key, path, link: false });
  }
  return out;
}

/**
 * The problems of one key folder (an `aliases/` folder is read the same way, names unchecked).
 * `metrics` folders also have their lines checked; `runDir` is where a metric file's repair puts
 * its temp file.
 */
export async function checkKeyFolder(
  dir: string,
  kind: "metrics" | "keys" | "aliases",
  runDir = "",
): Promise<KeyFolderCheck> {
  const result: KeyFolderCheck = { problems: [], metricFiles: 0 };
  const metrics = kind === "metrics";
  const what = metrics ? "metric" : kind === "aliases" ? "alias" : "key";
  const effect = metrics
    ? "MLflow fails to read the run"
    : "MLflow fails to read what holds it (run, experiment or model)";
  for (const { key, path, link } of await keyFiles(dir)) {
    const found: VerifyProblem[] = [];
    try {
      // MLflow validates metric, param and tag names as it reads them; alias names it does not.
      if (kind !== "aliases") validateKey(metrics ? "metric" : "tag", key);
    } catch (error) {
      found.push(
        problem({
          code: "KEY_NAME_INVALID",
          path,
          message: `${(error as Error).message}; ${effect}`,
          read: true,
        }),
      );
    }
    const entry = await readEntry(path);
    if (entry.kind === "missing") {
      found.push(
        problem({
          code: "SYMLINK",
          path,
          message: `a symbolic link to nothing; ${effect}`,
          read: true,
        }),
      );
    } else if (entry.kind === "unreadable") {
      found.push(
        problem({ code: "UNREADABLE", path, message: `${entry.why}; ${effect}`, read: true }),
      );
    } else if (entry.kind === "binary") {
      found.push(
        problem({
          code: "KEY_FILE_NOT_UTF8",
          path,
          message: `not valid UTF-8; ${effect} (and migrate-filestore fails)`,
          read: true,
          migrate: true,
        }),
      );
    } else if (entry.kind === "text" && metrics) {
      found.push(...checkMetricText(path, entry.text, runDir));
    }
    const litter = isLitterName(key.split("/").at(-1) ?? "") && found.some((p) => p.breaks.read);
    if (litter) {
      result.problems.push(
        problem({
          code: "STRAY_FILE",
          path,
          message: `not a ${what} file (${found[0]?.message.split(";")[0]}): OS litter or an editor's leftover; ${effect}`,
          read: true,
          migrate: found.some((p) => p.breaks.migrate),
          fix: { description: "delete the file", action: { kind: "delete-file", path } },
        }),
      );
      continue;
    }
    if (metrics) result.metricFiles++;
    result.problems.push(...found);
    if (link && entry.kind !== "missing") {
      result.problems.push(
        problem({
          code: "SYMLINK",
          path,
          message: `a symbolic link: MLflow reads the ${what} through it, mlruns does not follow links here`,
        }),
      );
    }
  }
  return result;
}
