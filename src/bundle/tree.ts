/**
 * A tree's runs as files, for bundles: run folders by id, a run's origin, its artifact folder,
 * and comparing bytes the tree holds with bytes a bundle brings. Read only.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { isMissing } from "../atomic.ts";
import type { RunInfo } from "../entities.ts";
import { artifactDirOf } from "../store/file/artifacts.ts";
import { RESERVED_EXPERIMENT_FOLDERS } from "../store/file/layout.ts";
import { readExperimentDocument } from "../store/file/meta.ts";
import { fromYaml } from "../store/file/yaml.ts";
import { TREE_ID_FILE } from "../tree-files.ts";
import { ORIGIN_FILE } from "./manifest.ts";

function folders(dir: string) {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory());
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
}

/** The run folders (those holding a meta.yaml) of one experiment folder, by run id. */
export function experimentRuns(experimentDir: string): Map<string, string> {
  const runs = new Map<string, string>();
  for (const entry of folders(experimentDir)) {
    if (RESERVED_EXPERIMENT_FOLDERS.has(entry.name) || entry.name.startsWith(".")) continue;
    const runDir = join(experimentDir, entry.name);
    if (statSync(join(runDir, "meta.yaml"), { throwIfNoEntry: false })?.isFile()) {
      runs.set(entry.name, runDir);
    }
  }
  return runs;
}

/** Every run folder of a tree (active and deleted experiments) by run id. */
export function treeRuns(root: string): Map<string, string> {
  const runs = new Map<string, string>();
  for (const parent of [root, join(root, ".trash")]) {
    for (const experiment of folders(parent)) {
      if (experiment.name.startsWith(".") || experiment.name === "models") continue;
      for (const [id, dir] of experimentRuns(join(parent, experiment.name))) {
        if (!runs.has(id)) runs.set(id, dir);
      }
    }
  }
  return runs;
}

/**
 * The tree's experiments by name, read without writing anything (a FileStore would first create
 * the default experiment of a new tree). Folders whose meta.yaml is not one MLflow reads are
 * left out, as listings leave them out.
 */
export function experimentsByName(
  root: string,
): Map<string, { id: string; dir: string; deleted: boolean }> {
  const named = new Map<string, { id: string; dir: string; deleted: boolean }>();
  for (const [parent, deleted] of [
    [root, false],
    [join(root, ".trash"), true],
  ] as const) {
    for (const entry of folders(parent)) {
      const dir = join(parent, entry.name);
      try {
        const text = readIfThere(join(dir, "meta.yaml"))?.toString("utf8");
        const experiment =
          text === undefined ? text : readExperimentDocument(fromYaml(text), entry.name);
        if (typeof experiment === "object" && !named.has(experiment.name)) {
          named.set(experiment.name, {
            id: entry.name,
            dir,
            deleted: deleted || experiment.lifecycleStage === "deleted",
          });
        }
      } catch {
        // Not YAML: not an experiment MLflow lists.
      }
    }
  }
  return named;
}

/** The tree's id, or undefined when it has none yet. */
export function treeIdIn(root: string): string | undefined {
  return readIfThere(join(root, TREE_ID_FILE))?.toString("utf8").trim();
}

/** A file's bytes, or undefined when there is none. */
export function readIfThere(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

/** The tree a run in a tree belongs to: its origin tag, else the tree's own id. */
export function originInTree(runDir: string, treeId: string): string {
  return readIfThere(join(runDir, ...ORIGIN_FILE.split("/")))?.toString("utf8") ?? treeId;
}

/** The folder of a run's artifacts (as the FileStore finds it); null when not on this disk. */
export async function artifactFolder(
  root: string,
  runDir: string,
  info: RunInfo,
): Promise<string | null> {
  const { experimentId, runId, artifactUri: uri } = info;
  if (uri !== "" && !uri.startsWith("file:") && /^[a-z][a-z0-9+.-]*:/i.test(uri)) return null;
  return artifactDirOf(root, { runDir, experimentId, runId, uri });
}

/** Whether `file` holds `lines` as they are, starting at a line of its own. */
export function holdsLines(file: Buffer, lines: Buffer): boolean {
  if (lines.length === 0) return true;
  for (let at = file.indexOf(lines); at >= 0; at = file.indexOf(lines, at + 1)) {
    if (at === 0 || file[at - 1] === 0x0a) return true;
  }
  return false;
}
