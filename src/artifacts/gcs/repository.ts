/**
 * `gs://bucket/prefix` artifacts, over Cloud Storage's JSON API. Files larger than one part go up
 * in a resumable upload session, which the object shows only once the last byte is in. The
 * session of a file read from disk is remembered in a small state file (in the user's cache
 * folder, mode 0600, keyed by the object and the file's identity), so a killed upload carries on
 * from the last byte the service holds.
 */
import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { ArtifactData } from "../../entities.ts";
import { invalid, MlflowError, notFound } from "../../errors.ts";
import { excerpt } from "../../excerpt.ts";
import { type Bucket, BucketRepository, type ListingPage, type Upload } from "../bucket.ts";
import { CloudHttp, type CloudRequest, codeFor } from "../http.ts";
import type { Part, PartSink } from "../parts.ts";
import type { ArtifactRepository, Env } from "../repository.ts";
import { type GcsAccess, gcsAccess } from "./credentials.ts";

/** Resumable chunks must be multiples of 256 KiB. */
const QUANTUM = 256 * 1024;
/** MLFLOW_GCS_UPLOAD_CHUNK_SIZE's default here: about three chunks are in memory at once. */
const DEFAULT_CHUNK = 32 * 1024 * 1024;
/** The largest file sent in one multipart request (Google's clients use 8 MiB). */
const MULTIPART_MAX = 8 * 1024 * 1024;

export function openGcs(uri: string, env: Env): ArtifactRepository {
  const match = /^gs:\/\/([^/]+)\/*(.*)$/.exec(uri);
  if (match === null) throw invalid(`Invalid GCS URI '${uri}': expected gs://<bucket>/<path>`);
  return new BucketRepository(
    new GcsBucket(
      match[1] as string,
      (match[2] as string).replace(/\/+$/, ""),
      gcsAccess(env),
      env,
    ),
  );
}

interface GcsJsonError {
  error?: { code?: number; message?: string; errors?: { reason?: string }[] };
}

class GcsBucket implements Bucket {
  readonly uri: string;
  readonly root: string;
  readonly #bucket: string;
  readonly #access: GcsAccess;
  readonly #partSize: number;
  readonly #stateDir: string;
  readonly http: CloudHttp;

  constructor(bucket: string, root: string, access: GcsAccess, env: Env) {
    this.uri = `gs://${bucket}${root === "" ? "" : `/${root}`}`;
    this.#bucket = bucket;
    this.root = root;
    this.#access = access;
    // Chunks go one at a time, so each carries more than an S3 part does.
    const chunk = Number(env.MLFLOW_GCS_UPLOAD_CHUNK_SIZE) || DEFAULT_CHUNK;
    this.#partSize = Math.max(QUANTUM, Math.ceil(chunk / QUANTUM) * QUANTUM);
    this.#stateDir = join(
      env.XDG_CACHE_HOME || join(env.HOME || homedir(), ".cache"),
      "mlruns",
      "uploads",
    );
    this.http = new CloudHttp({
      service: "Google Cloud Storage",
      tls: { insecureTls: false },
      env,
      sign: async (request) => {
        if (this.#access.token)
          request.headers.Authorization = `Bearer ${await this.#access.token()}`;
      },
      explain: (response, request) => this.#explain(response.status, response.body, request),
    });
  }

  #url(path: string, query: Record<string, string> = {}): URL {
    const url = new URL(`${this.#access.endpoint}${path}`);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    return url;
  }

  #objectUrl(name: string, query: Record<string, string> = {}): URL {
    return this.#url(
      `/storage/v1/b/${encodeURIComponent(this.#bucket)}/o/${encodeURIComponent(name)}`,
      query,
    );
  }

  uploadUrl(type: "multipart" | "resumable"): URL {
    return this.#url(`/upload/storage/v1/b/${encodeURIComponent(this.#bucket)}/o`, {
      uploadType: type,
    });
  }

  #explain(status: number, body: Buffer, request: CloudRequest): MlflowError {
    let json: GcsJsonError = {};
    try {
      json = JSON.parse(body.toString("utf8")) as GcsJsonError;
    } catch {
      // Not JSON: the excerpt says it.
    }
    const message = json.error?.message ?? excerpt(body);
    const what = `Google Cloud Storage refused ${request.method} ${this.uri} (HTTP ${status}${message ? `: ${message}` : ""})`;
    if (status === 401) {
      return new MlflowError("UNAUTHENTICATED", what, {
        hint: `Check the credentials from ${this.#access.source}.`,
      });
    }
    if (status === 403) {
      return new MlflowError("PERMISSION_DENIED", what, {
        hint: `The account of ${this.#access.source} needs storage.objects.create, get, list and delete on gs://${this.#bucket}.`,
      });
    }
    if (status === 404 && request.method !== "GET")
      return notFound(
        what,
        `Create the bucket ${this.#bucket}, or fix the experiment's artifact location.`,
      );
    return new MlflowError(codeFor(status), what);
  }

  async listPage(prefix: string, delimited: boolean, token: string): Promise<ListingPage> {
    const query: Record<string, string> = { prefix };
    if (delimited) query.delimiter = "/";
    if (token) query.pageToken = token;
    const url = this.#url(`/storage/v1/b/${encodeURIComponent(this.#bucket)}/o`, query);
    const json = JSON.parse(
      (await this.http.send({ method: "GET", url })).body.toString("utf8"),
    ) as {
      items?: { name: string; size?: string }[];
      prefixes?: string[];
      nextPageToken?: string;
    };
    return {
      folders: json.prefixes ?? [],
      objects: (json.items ?? []).map((item) => ({ key: item.name, size: Number(item.size ?? 0) })),
      next: json.nextPageToken ?? "",
    };
  }

  download(name: string) {
    const url = this.#objectUrl(name, { alt: "media" });
    return this.http.send({ method: "GET", url, stream: true, accept: [404] });
  }

  async remove(name: string): Promise<void> {
    await this.http.send({ method: "DELETE", url: this.#objectUrl(name), accept: [404] });
  }

  async upload(name: string, source: ArtifactData, size: number | undefined): Promise<Upload> {
    let stateFile: string | undefined;
    if ("file" in source && size !== undefined) {
      const info = await fs.stat(source.file);
      const identity = `${this.#bucket}\n${name}\n${size}\n${info.dev}:${info.ino}:${info.mtimeMs}`;
      stateFile = join(
        this.#stateDir,
        `gcs-${createHash("sha256").update(identity).digest("hex")}.json`,
      );
    }
    return { sink: new ResumableUpload(this, name, size, stateFile), partSize: this.#partSize };
  }
}

/** The byte count a 308 answer says the service holds. */
function persisted(range: string | string[] | undefined): number {
  const match = /bytes=0-(\d+)/.exec(String(range ?? ""));
  return match ? Number(match[1]) + 1 : 0;
}

/** One resumable upload session; parts go in order, one at a time, as the protocol wants. */
class ResumableUpload implements PartSink {
  readonly concurrency = 1;
  readonly #bucket: GcsBucket;
  readonly #name: string;
  readonly #size: number | undefined;
  readonly #stateFile: string | undefined;
  #session: URL | undefined;
  /** Bytes the service holds. */
  #offset = 0;
  #done = false;

  constructor(
    bucket: GcsBucket,
    name: string,
    size: number | undefined,
    stateFile: string | undefined,
  ) {
    this.#bucket = bucket;
    this.#name = name;
    this.#size = size;
    this.#stateFile = stateFile;
  }

  /**
   * A small file in one multipart/related request (metadata, then the bytes), as Google's clients
   * send them; a larger one in a session of one chunk, which the service takes far faster.
   */
  async putWhole(data: Buffer, digest: Buffer): Promise<void> {
    if (data.length > MULTIPART_MAX) {
      await this.start();
      await this.putPart({ index: 0, offset: 0, data }, digest, true);
      await this.finish();
      return;
    }
    const boundary = `mlruns-${digest.toString("hex")}`;
    const metadata = JSON.stringify({ name: this.#name, md5Hash: digest.toString("base64") });
    const body = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n${metadata}\r\n` +
          `--${boundary}\r\nContent-Type: application/octet-stream\r\n\r\n`,
      ),
      data,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const response = await this.#bucket.http.send({
      method: "POST",
      url: this.#bucket.uploadUrl("multipart"),
      headers: { "Content-Type": `multipart/related; boundary=${boundary}` },
      body,
    });
    const md5 = (JSON.parse(response.body.toString("utf8")) as { md5Hash?: string }).md5Hash;
    if (md5 !== undefined && md5 !== digest.toString("base64")) {
      throw new MlflowError(
        "INTERNAL_ERROR",
        `Google Cloud Storage stored ${this.#name} with another MD5 than was sent`,
        {
          hint: "Upload it again.",
        },
      );
    }
  }

  async start(): Promise<void> {
    if (await this.#resume()) return;
    const response = await this.#bucket.http.send({
      method: "POST",
      url: this.#bucket.uploadUrl("resumable"),
      headers: {
        "Content-Type": "application/json",
        ...(this.#size === undefined ? {} : { "X-Upload-Content-Length": String(this.#size) }),
      },
      body: Buffer.from(JSON.stringify({ name: this.#name })),
    });
    const location = response.headers.location;
    if (typeof location !== "string")
      throw new MlflowError("INTERNAL_ERROR", "Google Cloud Storage gave no upload session");
    this.#session = new URL(location);
    if (this.#stateFile !== undefined) {
      await fs.mkdir(join(this.#stateFile, ".."), { recursive: true, mode: 0o700 });
      await fs.writeFile(this.#stateFile, JSON.stringify({ session: location }), { mode: 0o600 });
    }
  }

  /** Picks up the session an earlier attempt left, if it is still open; true if it did. */
  async #resume(): Promise<boolean> {
    if (this.#stateFile === undefined || this.#size === undefined) return false;
    const saved = await fs.readFile(this.#stateFile, "utf8").catch(() => undefined);
    if (saved === undefined) return false;
    const session = new URL((JSON.parse(saved) as { session: string }).session);
    const status = await this.#bucket.http.send({
      method: "PUT",
      url: session,
      headers: { "Content-Range": `bytes */${this.#size}` },
      body: Buffer.alloc(0),
      accept: [308, 404, 410],
    });
    if (status.status === 404 || status.status === 410) {
      await fs.rm(this.#stateFile, { force: true });
      return false;
    }
    this.#session = session;
    this.#done = status.status !== 308;
    this.#offset = this.#done ? this.#size : persisted(status.headers.range);
    return true;
  }

  stored(part: Part): boolean {
    return this.#done || part.offset + part.data.length <= this.#offset;
  }

  async putPart(part: Part, _digest: Buffer, last: boolean): Promise<void> {
    const session = this.#session as URL;
    const end = part.offset + part.data.length;
    const total = last ? String(end) : "*";
    for (let stalled = 0; this.#offset < end || (last && !this.#done); ) {
      const data = part.data.subarray(this.#offset - part.offset);
      const range =
        data.length === 0 ? `bytes */${total}` : `bytes ${this.#offset}-${end - 1}/${total}`;
      const response = await this.#bucket.http.send({
        method: "PUT",
        url: session,
        headers: { "Content-Range": range },
        body: data,
        accept: [308],
      });
      if (response.status === 308) {
        const held = persisted(response.headers.range);
        if (held <= this.#offset && ++stalled > 5) {
          throw new MlflowError(
            "TEMPORARILY_UNAVAILABLE",
            `Google Cloud Storage keeps dropping the upload of ${this.#name} at byte ${held}`,
            {
              hint: "Run the same command again later: the upload resumes from there.",
            },
          );
        }
        this.#offset = held;
      } else {
        this.#offset = end;
        this.#done = true;
      }
    }
  }

  async finish(): Promise<void> {
    if (!this.#done)
      throw new MlflowError(
        "INTERNAL_ERROR",
        `The upload of ${this.#name} ended before its last byte`,
      );
    if (this.#stateFile !== undefined) await fs.rm(this.#stateFile, { force: true });
  }
}
