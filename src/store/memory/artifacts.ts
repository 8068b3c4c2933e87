/**
 * Artifact files and folders held in memory for one owner (a run, or a logged model): folders
 * are implied by their files and also kept on their own (empty ones too). Every change is all or
 * nothing: a file never lands where a folder is, or under a file. Paths come checked from the
 * layer above (checked-store.ts, checked-logged-models.ts).
 */
import { readFile } from "node:fs/promises";
import { Readable } from "node:stream";
import type { ArtifactData, ArtifactStream, FileInfo } from "../../entities.ts";
import { invalid, notFound } from "../../errors.ts";

const DIR = "dir";
const parentOf = (path: string): string => path.slice(0, Math.max(0, path.lastIndexOf("/")));

export class MemoryArtifacts {
  readonly #entries = new Map<string, Uint8Array | typeof DIR>();
  /** Named in messages, e.g. `run 0123…`. */
  readonly #owner: string;

  constructor(owner: string) {
    this.#owner = owner;
  }

  /** Adds folders and files (replacing files at the same paths). */
  place(dirs: readonly string[], files: readonly { path: string; bytes: Uint8Array }[]): void {
    const planned = new Map<string, Uint8Array | typeof DIR>();
    const kindOf = (path: string) => planned.get(path) ?? this.#entries.get(path);
    const addDir = (path: string): void => {
      for (let dir = path; dir !== ""; dir = parentOf(dir)) {
        const existing = kindOf(dir);
        if (existing === DIR) return;
        if (existing !== undefined) {
          throw invalid(`Cannot log artifact '${path}': '${dir}' is a file in ${this.#owner}`);
        }
        planned.set(dir, DIR);
      }
    };
    for (const dir of dirs) addDir(dir);
    for (const file of files) {
      addDir(parentOf(file.path));
      if (kindOf(file.path) === DIR) {
        throw invalid(`Cannot log artifact '${file.path}': it is a directory in ${this.#owner}`);
      }
      planned.set(file.path, file.bytes);
    }
    for (const [path, entry] of planned) this.#entries.set(path, entry);
  }

  async put(path: string, data: ArtifactData): Promise<void> {
    const chunks: Uint8Array[] = [];
    if (data instanceof Uint8Array) chunks.push(data);
    else if ("file" in data) chunks.push(await readFile(data.file));
    else for await (const chunk of data) chunks.push(chunk);
    this.place([], [{ path, bytes: new Uint8Array(Buffer.concat(chunks)) }]);
  }

  list(path?: string): FileInfo[] {
    const dir = path ?? "";
    // As MLflow does, listing a path that is not a directory gives an empty list.
    if (dir !== "" && this.#entries.get(dir) !== DIR) return [];
    const children: FileInfo[] = [];
    for (const [entryPath, entry] of this.#entries) {
      if (parentOf(entryPath) !== dir) continue;
      children.push(
        entry === DIR
          ? { path: entryPath, isDir: true }
          : { path: entryPath, isDir: false, fileSize: entry.byteLength },
      );
    }
    return children.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  read(path: string): Uint8Array {
    const entry = this.#entries.get(path);
    if (entry === undefined || entry === DIR) {
      throw notFound(`No artifact file '${path}' in ${this.#owner}`);
    }
    return new Uint8Array(entry);
  }

  open(path: string): ArtifactStream {
    const bytes = this.read(path);
    return { size: bytes.byteLength, stream: Readable.from([bytes]) };
  }

  delete(path: string): void {
    for (const entry of [...this.#entries.keys()]) {
      if (path === "" || entry === path || entry.startsWith(`${path}/`))
        this.#entries.delete(entry);
    }
  }
}
