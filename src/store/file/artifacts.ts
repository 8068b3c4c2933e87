/**
 * Where a run's artifacts are: the local folder its `artifact_uri` names, wherever that is. What
 * is done in that folder is src/artifacts/folder.ts.
 */
import { promises as fs } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { isFolder } from "../../artifacts/folder.ts";
import { invalid } from "../../errors.ts";

export interface RunArtifactUri {
  /** The run's folder in the tree. */
  runDir: string;
  experimentId: string;
  runId: string;
  /** The run's `artifact_uri` from its meta.yaml. */
  uri: string;
}

/**
 * The local folder a run's artifact URI names: a `file://` URI, or a plain path as MLflow 1.x
 * and 2.x wrote (a relative one from the working directory, as MLflow resolves it).
 *
 * A tree that was moved or copied still finds its own artifacts (MLflow #3144): when the URI has
 * a tree's own layout (`<root>/<experiment id>/<run id>/artifacts`) under another root, and that
 * root holds another copy of the tree or nothing at all, the run's own `artifacts/` folder is
 * used; so it is for a run of a deleted experiment, whose folder moved to `.trash/`. Any other
 * URI, such as an experiment's custom artifact location, is used as it is, also before its
 * folder exists: the first artifact creates it, where MLflow looks for it.
 */
export async function artifactDirOf(treeRoot: string, run: RunArtifactUri): Promise<string> {
  const own = join(run.runDir, "artifacts");
  const { uri } = run;
  if (uri === "") return own;
  if (!uri.startsWith("file:") && /^[a-z][a-z0-9+.-]*:/i.test(uri)) {
    throw invalid(
      `The artifacts of run ${run.runId} live at '${uri}', which a file store cannot reach`,
      "Read them with the tool of that storage, or through the server that wrote them",
    );
  }
  const dir = uri.startsWith("file:") ? fileURLToPath(uri) : resolve(uri);
  const runFolder = dirname(dir);
  const experimentFolder = dirname(runFolder);
  const treeLayout =
    basename(dir) === "artifacts" &&
    basename(runFolder) === run.runId &&
    basename(experimentFolder) === run.experimentId;
  if (!treeLayout || dir === own) return dir;
  const otherRoot = dirname(experimentFolder);
  if (otherRoot === resolve(treeRoot)) return own; // this tree: the experiment is in .trash
  const otherTree = await fs.stat(join(experimentFolder, "meta.yaml")).then(
    () => true,
    () => false,
  );
  if (otherTree) return own; // a copy of this tree, elsewhere: never write into it
  if ((await isFolder(dir)) || (await isFolder(otherRoot))) return dir;
  return own; // the tree moved: nothing is left where it was
}
