/**
 * Whether a folder is an mlruns tree. Reading never creates one: a folder that holds something
 * else is refused, so that a read pointed at the wrong folder (`/`, a home directory, a file)
 * writes nothing and says so. Only `init` and the first write create a tree.
 */
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { MlflowError } from "../../errors.ts";
import { TRASH } from "./layout.ts";

/** Python `re.match(r"^[a-zA-Z0-9][\w\-]{0,63}$")` with a Unicode-aware `\w`. */
export const EXPERIMENT_FOLDER = /^[a-zA-Z0-9][\p{L}\p{N}_-]{0,63}$/u;

/**
 * - `tree`: a `.trash` entry, or an experiment folder holding a meta.yaml;
 * - `none`: nothing there yet (a missing or empty folder), read as a tree with no runs;
 * - `file`: a file (or anything but a folder);
 * - `foreign`: a folder holding something else.
 */
export type TreeState = "tree" | "none" | "file" | "foreign";

export async function treeState(root: string): Promise<TreeState> {
  let entries: import("node:fs").Dirent[];
  try {
    entries = await fs.readdir(root, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return "none";
    if (code === "ENOTDIR") return "file";
    throw new MlflowError("PERMISSION_DENIED", `Cannot read the mlruns tree at ${root}: ${code}`, {
      hint: "Check the path and its permissions",
      cause: error,
    });
  }
  if (entries.length === 0) return "none";
  for (const entry of entries) {
    if (entry.name === TRASH) return "tree";
  }
  for (const entry of entries) {
    if (!EXPERIMENT_FOLDER.test(entry.name)) continue;
    const meta = await fs.lstat(join(root, entry.name, "meta.yaml")).catch(() => undefined);
    if (meta !== undefined) return "tree";
  }
  return "foreign";
}

/** The error for a folder (or file) that is not an mlruns tree. */
export function notATree(root: string, state: "file" | "foreign"): MlflowError {
  const what = state === "file" ? "is a file, not an mlruns tree" : "is not an mlruns tree";
  return new MlflowError("RESOURCE_DOES_NOT_EXIST", `${root} ${what}`, {
    hint:
      state === "file"
        ? "Point --tracking-uri / MLFLOW_TRACKING_URI at the tree's folder"
        : "Point --tracking-uri / MLFLOW_TRACKING_URI at a tree, or create one there with `mlruns init`",
  });
}
