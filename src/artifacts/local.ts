/**
 * A local folder as an artifact repository (`file:` URIs and plain paths), through folder.ts (as
 * FileStore's own artifacts): a file is written to a temp file beside the folder, then renamed into
 * place, so a listed file is always whole; no link is followed out of the folder.
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { ArtifactData, ArtifactStream, FileInfo } from "../entities.ts";
import {
  deleteArtifactPath,
  listArtifactDir,
  openArtifactFile,
  writeArtifactFile,
} from "./folder.ts";
import { sourceSize } from "./parts.ts";
import type { ArtifactRepository, PutOptions } from "./repository.ts";

export class LocalRepository implements ArtifactRepository {
  readonly uri: string;
  readonly #root: string;

  constructor(uri: string) {
    this.#root = uri.startsWith("file:") ? fileURLToPath(uri) : resolve(uri);
    this.uri = uri;
  }

  list(path?: string): Promise<FileInfo[]> {
    return listArtifactDir(this.#root, path);
  }

  async put(path: string, data: ArtifactData, options: PutOptions = {}): Promise<void> {
    const size = await sourceSize(data);
    await writeArtifactFile(this.#root, path, data);
    options.onProgress?.(size ?? 0);
  }

  get(path: string): Promise<ArtifactStream> {
    return openArtifactFile(this.#root, path);
  }

  delete(path?: string): Promise<void> {
    return deleteArtifactPath(this.#root, path ?? "");
  }
}
