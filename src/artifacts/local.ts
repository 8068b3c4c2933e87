/**
 * A local folder as an artifact repository (`file:` URIs and plain paths). A file is written to a
 * temp file beside the root, then renamed into place, so a listed file is always whole.
 */
import { randomBytes } from "node:crypto";
import { createWriteStream, promises as fs } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import type { FileInfo } from "../entities.ts";
import { notFound } from "../errors.ts";
import { isMissing, TEMP_PREFIX } from "../store/file/atomic.ts";
import { listArtifactDir } from "../store/file/artifacts.ts";
import { validateArtifactPath } from "../validation.ts";
import type { ArtifactRepository, ArtifactSource, PutOptions } from "./repository.ts";

export class LocalRepository implements ArtifactRepository {
  readonly uri: string;
  readonly #root: string;

  constructor(uri: string) {
    this.#root = uri.startsWith("file:") ? fileURLToPath(uri) : resolve(uri);
    this.uri = uri;
  }

  #path(path: string | undefined): string {
    if (path === undefined || path === "") return this.#root;
    validateArtifactPath(path);
    return join(this.#root, ...path.split("/"));
  }

  list(path?: string): Promise<FileInfo[]> {
    return listArtifactDir(this.#root, path);
  }

  async put(path: string, source: ArtifactSource, options: PutOptions = {}): Promise<void> {
    const target = this.#path(path);
    await fs.mkdir(dirname(target), { recursive: true });
    // Beside the root's parent folder: same filesystem, and not inside the artifacts.
    const temp = join(dirname(this.#root), `${TEMP_PREFIX}${randomBytes(8).toString("hex")}`);
    try {
      if ("file" in source) {
        await fs.copyFile(source.file, temp);
        options.onProgress?.((await fs.stat(temp)).size);
      } else if ("bytes" in source) {
        await fs.writeFile(temp, source.bytes);
        options.onProgress?.(source.bytes.byteLength);
      } else {
        await pipeline(
          source.stream,
          async function* (chunks: AsyncIterable<Uint8Array>) {
            for await (const chunk of chunks) {
              options.onProgress?.(chunk.byteLength);
              yield chunk;
            }
          },
          createWriteStream(temp),
        );
      }
      await fs.rename(temp, target);
    } catch (error) {
      await fs.rm(temp, { force: true });
      throw error;
    }
  }

  async get(path: string): Promise<Readable> {
    const file = this.#path(path);
    const handle = await fs.open(file, "r").catch((error: unknown) => {
      if (isMissing(error)) throw notFound(`No artifact file '${path}' at ${this.uri}`);
      throw error;
    });
    if ((await handle.stat()).isDirectory()) {
      await handle.close();
      throw notFound(`No artifact file '${path}' at ${this.uri}: it is a folder`);
    }
    return handle.createReadStream();
  }

  async delete(path?: string): Promise<void> {
    await fs.rm(this.#path(path), { recursive: true, force: true });
  }
}
