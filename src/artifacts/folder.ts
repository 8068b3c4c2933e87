/**
 * An artifact folder on local disk, as plain files: listed, read, streamed, written and deleted.
 * Each file is written to a temp file beside the folder (in the run folder for artifacts kept in
 * a tree), then renamed into place, so a listed artifact is always complete. Used by FileStore
 * for a run's artifacts and by LocalRepository for `file:` artifact locations.
 *
 * Symbolic links inside the folder are never followed out of it: a link is read through only
 * when it leads to a regular file inside the same artifact folder (as MLflow's `log_artifacts`
 * copies linked files and skips linked folders). Any other link is listed without a size,
 * reading it is refused with an error naming it, and nothing is ever written through a link.
 */
import { promises as fs, type Stats } from "node:fs";
import { dirname, join, sep } from "node:path";
import { copyFileWhole, isMissing, replaceFile } from "../atomic.ts";
import type { ArtifactData, ArtifactStream, FileInfo } from "../entities.ts";
import { invalid, notFound } from "../errors.ts";
import { collectLocalArtifacts } from "../local-artifacts.ts";
import { validateArtifactPath } from "../validation.ts";

export const isFolder = (path: string) =>
  fs.stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );

/** The parts of an artifact path (validated); none for the folder itself. */
function partsOf(path: string | undefined): string[] {
  if (path === undefined || path === "") return [];
  validateArtifactPath(path);
  return path.split("/");
}

/** What an artifact path leads to, without following a link out of the artifact folder. */
type Found =
  | { kind: "missing" }
  | { kind: "folder" }
  | { kind: "file"; path: string; size: number }
  /** A link that is not followed, or something that is neither file nor folder. */
  | { kind: "unfollowed"; why: string }
  /** A part on the way is a file or a link, not a folder. */
  | { kind: "blocked"; at: string; why: string };

const lstatOrUndefined = (path: string): Promise<Stats | undefined> =>
  fs.lstat(path).catch((error: unknown) => {
    if (isMissing(error)) return undefined;
    throw error;
  });

/** Where a link leads: a regular file inside the artifact folder is followed, nothing else. */
async function followLink(artifactDir: string, link: string): Promise<Found> {
  const target = await fs.readlink(link);
  const [real, base] = await Promise.all([
    fs.realpath(link).catch(() => undefined),
    fs.realpath(artifactDir),
  ]);
  const unfollowed = (what: string): Found => ({
    kind: "unfollowed",
    why: `a symbolic link to '${target}' (${what}), which mlruns does not follow`,
  });
  if (real === undefined) return unfollowed("which does not exist");
  if (!real.startsWith(`${base}${sep}`)) return unfollowed("outside the run's artifact folder");
  const stat = await fs.stat(real);
  if (!stat.isFile()) return unfollowed("not a file");
  return { kind: "file", path: real, size: stat.size };
}

/** Why mlruns does not follow the link at `link` inside `artifactDir`; undefined when it does. */
export async function unfollowedLink(
  artifactDir: string,
  link: string,
): Promise<string | undefined> {
  const found = await followLink(artifactDir, link);
  return found.kind === "unfollowed" ? found.why : undefined;
}

async function find(artifactDir: string, parts: string[]): Promise<Found> {
  let current = artifactDir;
  for (const [index, part] of parts.entries()) {
    current = join(current, part);
    const stat = await lstatOrUndefined(current);
    if (stat === undefined) return { kind: "missing" };
    const last = index === parts.length - 1;
    if (!last && !stat.isDirectory()) {
      const at = parts.slice(0, index + 1).join("/");
      const why = stat.isSymbolicLink()
        ? "a symbolic link, which mlruns never follows to a folder"
        : "a file, not a folder";
      return { kind: "blocked", at, why };
    }
    if (!last) continue;
    if (stat.isSymbolicLink()) return followLink(artifactDir, current);
    if (stat.isDirectory()) return { kind: "folder" };
    if (stat.isFile()) return { kind: "file", path: current, size: stat.size };
    return { kind: "unfollowed", why: "neither a file nor a folder" };
  }
  return (await isFolder(artifactDir)) ? { kind: "folder" } : { kind: "missing" };
}

type Refuse = (target: string, why: string) => Error;

/** `path` must be a folder or nothing yet (every part on the way too). */
async function expectFolder(artifactDir: string, path: string, refuse: Refuse): Promise<void> {
  if (path === "") return;
  const found = await find(artifactDir, path.split("/"));
  if (found.kind === "missing" || found.kind === "folder") return;
  const [at, why] =
    found.kind === "blocked"
      ? [found.at, found.why]
      : found.kind === "unfollowed"
        ? [path, found.why]
        : [path, "a file, not a folder"];
  throw refuse(path, `'${at}' in the run's artifacts is ${why}`);
}

/** A file may go at `path`: its folders are folders (or missing) and it is not a folder. */
async function expectFileSpot(artifactDir: string, path: string, refuse: Refuse): Promise<void> {
  await expectFolder(artifactDir, path.split("/").slice(0, -1).join("/"), refuse);
  if ((await find(artifactDir, path.split("/"))).kind === "folder") {
    throw refuse(path, "the run already has an artifact folder at that path");
  }
}

/**
 * Copies a file to `<artifactPath>/<basename>`, or a directory to `<artifactPath>/<dirname>/`.
 * Every target is checked first (a folder where a file goes, a file or a link where a folder
 * goes): a refused call writes nothing. Temp files go beside the artifact folder (the run folder
 * for artifacts kept in the tree): on the same filesystem, and where MLflow never lists them.
 */
export async function copyIntoArtifacts(
  artifactDir: string,
  localPath: string,
  artifactPath?: string,
): Promise<void> {
  const { files, dirs } = await collectLocalArtifacts(localPath, artifactPath);
  const refuse = (target: string, why: string) =>
    invalid(
      `Cannot log '${localPath}' as artifact '${target}': ${why}`,
      "Pick another artifactPath",
    );
  for (const dir of dirs) await expectFolder(artifactDir, dir, refuse);
  for (const file of files) await expectFileSpot(artifactDir, file.path, refuse);
  const target = (path: string) => join(artifactDir, ...path.split("/"));
  await fs.mkdir(artifactDir, { recursive: true });
  for (const dir of dirs) await fs.mkdir(target(dir), { recursive: true });
  for (const file of files) {
    await fs.mkdir(dirname(target(file.path)), { recursive: true });
    await copyFileWhole(file.localPath, target(file.path), dirname(artifactDir));
  }
}

export async function listArtifactDir(artifactDir: string, path?: string): Promise<FileInfo[]> {
  const parts = partsOf(path);
  // MLflow lists a missing folder (or a file) as empty; a link is not listed through.
  if ((await find(artifactDir, parts)).kind !== "folder") return [];
  const folder = join(artifactDir, ...parts);
  const prefix = parts.length === 0 ? "" : `${path}/`;
  const infos: FileInfo[] = [];
  for (const entry of await fs.readdir(folder, { withFileTypes: true })) {
    const relative = `${prefix}${entry.name}`;
    if (entry.isDirectory()) {
      infos.push({ path: relative, isDir: true });
      continue;
    }
    const child = join(folder, entry.name);
    if (entry.isFile()) {
      infos.push({ path: relative, isDir: false, fileSize: (await fs.stat(child)).size });
    } else if (entry.isSymbolicLink()) {
      const found = await followLink(artifactDir, child);
      if (found.kind === "file") infos.push({ path: relative, isDir: false, fileSize: found.size });
      else infos.push({ path: relative, isDir: false });
    }
  }
  return infos.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The file an artifact path names (through a link only to a file inside the folder). */
async function fileOf(artifactDir: string, path: string): Promise<{ path: string; size: number }> {
  const found = await find(artifactDir, partsOf(path));
  if (found.kind === "unfollowed" || found.kind === "blocked") {
    const where = found.kind === "blocked" ? `'${found.at}'` : "it";
    throw invalid(
      `Cannot read artifact '${path}': ${where} is ${found.why}`,
      "mlruns never follows a link out of a run's artifact folder; copy the file into the run instead",
    );
  }
  if (found.kind !== "file") {
    throw notFound(`No artifact file '${path}' in this run`, "List them with listArtifacts");
  }
  return found;
}

export async function readArtifactFile(artifactDir: string, path: string): Promise<Uint8Array> {
  return new Uint8Array(await fs.readFile((await fileOf(artifactDir, path)).path));
}

// ---- one file at a time, streamed: what the server's artifact proxy uses ----

/** One artifact file as a stream, read chunk by chunk. */
export async function openArtifactFile(artifactDir: string, path: string): Promise<ArtifactStream> {
  const file = await fileOf(artifactDir, path);
  const handle = await fs.open(file.path, "r");
  const { size } = await handle.stat();
  return { size, stream: handle.createReadStream(), file: file.path };
}

/**
 * Writes `data` at `path` (replacing a file there) through a temp file beside the artifact
 * folder and a rename, one chunk at a time: memory stays bounded whatever the size, and the
 * file appears whole or not at all. Nothing is written through a link.
 */
export async function writeArtifactFile(
  artifactDir: string,
  path: string,
  data: ArtifactData,
): Promise<void> {
  const parts = partsOf(path);
  if (parts.length === 0) throw invalid("An artifact file needs a path");
  await expectFileSpot(artifactDir, path, (target, why) =>
    invalid(`Cannot write artifact '${target}': ${why}`, "Pick another artifact path"),
  );
  const target = join(artifactDir, ...parts);
  await fs.mkdir(dirname(target), { recursive: true });
  const tempDir = dirname(artifactDir);
  if (data instanceof Uint8Array || !("file" in data)) await replaceFile(target, data, tempDir);
  else await copyFileWhole(data.file, target, tempDir);
}

/** Removes a file, link or folder of artifacts ("" removes them all); missing is no error. */
export async function deleteArtifactPath(artifactDir: string, path: string): Promise<void> {
  const parts = partsOf(path);
  if (parts.length === 0) {
    for (const entry of await fs.readdir(artifactDir).catch(() => [])) {
      await fs.rm(join(artifactDir, entry), { recursive: true, force: true });
    }
    return;
  }
  const found = await find(artifactDir, parts);
  if (found.kind === "blocked") {
    throw invalid(`Cannot delete artifact '${path}': '${found.at}' is ${found.why}`);
  }
  // A link itself is removed, never what it points to; folders are removed without following.
  if (found.kind !== "missing") await fs.rm(join(artifactDir, ...parts), { recursive: true });
}
