/**
 * The artifact repository of an object store (S3, GCS, Azure Blob), over a narrow `Bucket`
 * driver that knows its service's requests: listing pages, paging tokens and the `.../` folder
 * convention, recursive deletes, downloads and uploads in parts are written once here.
 */
import type { ArtifactData, ArtifactStream, FileInfo } from "../entities.ts";
import { notFound } from "../errors.ts";
import type { RawResponse } from "../http-transport.ts";
import type { CloudRequest } from "./http.ts";
import { eachConcurrently, type PartSink, sourceSize, uploadInParts } from "./parts.ts";
import type { ArtifactRepository, PutOptions } from "./repository.ts";
import { joinKey } from "./repository.ts";

/** Objects one delete removes at once. */
const DELETES_AT_ONCE = 4;

/** A driver's request about one object (`key`), or about the bucket when `key` is absent. */
export interface KeyRequest {
  method: CloudRequest["method"];
  key?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Buffer;
  /** As `CloudRequest.accept`. */
  accept?: readonly number[];
  stream?: boolean;
}

/** The `CloudRequest` of a `KeyRequest`, at `url`. */
export function cloudRequest(request: KeyRequest, url: URL, accept = request.accept): CloudRequest {
  return {
    method: request.method,
    url,
    headers: { ...request.headers },
    ...(request.body === undefined ? {} : { body: request.body }),
    ...(accept ? { accept } : {}),
    ...(request.stream ? { stream: true } : {}),
  };
}

/** One page of a listing, keys whole (from the top of the bucket). */
export interface ListingPage {
  /** With a delimiter: the folders under the prefix, each ending in `/`. */
  folders: string[];
  objects: { key: string; size: number }[];
  /** The next page's token; "" on the last page. */
  next: string;
}

/** How one upload goes: its sink and the part size it wants. */
export interface Upload {
  sink: PartSink;
  partSize: number;
}

/** What a service does by key; `BucketRepository` builds the artifact repository on it. */
export interface Bucket {
  /** The root URI, without credentials. */
  readonly uri: string;
  /** The keys' prefix of the root ("" for the top of the bucket). */
  readonly root: string;
  /** The keys starting with `prefix`; `delimited`: only those in no deeper folder. */
  listPage(prefix: string, delimited: boolean, token: string): Promise<ListingPage>;
  /** An object's bytes as a stream, or a 404 answer. */
  download(key: string): Promise<RawResponse>;
  /** Removes one object; a missing one is no error. */
  remove(key: string): Promise<void>;
  upload(key: string, source: ArtifactData, size: number | undefined): Promise<Upload>;
}

/** Parts of at least `partSize` bytes, larger when `size` would take more than `maxParts`. */
export function partSizeWithin(
  partSize: number,
  size: number | undefined,
  maxParts: number,
): number {
  return size === undefined ? partSize : Math.max(partSize, Math.ceil(size / maxParts));
}

export class BucketRepository implements ArtifactRepository {
  readonly uri: string;
  readonly #bucket: Bucket;

  constructor(bucket: Bucket) {
    this.uri = bucket.uri;
    this.#bucket = bucket;
  }

  /** Every page of the listing under `prefix`. */
  async *#pages(prefix: string, delimited: boolean): AsyncGenerator<ListingPage> {
    let token = "";
    do {
      const page = await this.#bucket.listPage(prefix, delimited, token);
      yield page;
      token = page.next;
    } while (token);
  }

  async list(path?: string): Promise<FileInfo[]> {
    const { root } = this.#bucket;
    const base = joinKey(root, path);
    const prefix = base === "" ? "" : `${base}/`;
    const strip = root === "" ? 0 : root.length + 1;
    const files: FileInfo[] = [];
    for await (const page of this.#pages(prefix, true)) {
      for (const folder of page.folders)
        files.push({ path: folder.replace(/\/+$/, "").slice(strip), isDir: true });
      for (const { key, size } of page.objects) {
        if (key === prefix) continue; // a folder marker
        files.push({ path: key.slice(strip), isDir: false, fileSize: size });
      }
    }
    return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  async put(path: string, source: ArtifactData, options: PutOptions = {}): Promise<void> {
    const key = joinKey(this.#bucket.root, path);
    const { sink, partSize } = await this.#bucket.upload(key, source, await sourceSize(source));
    await uploadInParts(sink, source, partSize, options.onProgress);
  }

  async get(path: string): Promise<ArtifactStream> {
    const response = await this.#bucket.download(joinKey(this.#bucket.root, path));
    if (response.status === 404 || response.stream === undefined) {
      response.stream?.destroy();
      throw notFound(`No artifact file '${path}' at ${this.uri}`);
    }
    return { size: Number(response.headers["content-length"] ?? 0), stream: response.stream };
  }

  async delete(path?: string): Promise<void> {
    const base = joinKey(this.#bucket.root, path);
    const keys: string[] = path ? [base] : [];
    for await (const page of this.#pages(base === "" ? "" : `${base}/`, false))
      for (const { key } of page.objects) keys.push(key);
    await eachConcurrently(keys, DELETES_AT_ONCE, (key) => this.#bucket.remove(key));
  }
}
