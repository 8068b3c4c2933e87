/**
 * Artifact repositories: where a run's files live, by URI scheme, behind one small streaming
 * interface. Local folders, MLflow's artifact proxy, S3 (and S3-compatible stores), Google Cloud
 * Storage and Azure Blob Storage. A repository's module is loaded only when a URI of its scheme
 * is opened, so a local user never pays for cloud code.
 */
import type { FileInfo } from "../entities.ts";
import { invalid } from "../errors.ts";
import type { LocalArtifactFile } from "../local-artifacts.ts";
import type { ArtifactData, ArtifactStream } from "../store/store.ts";
import { eachConcurrently, partSizeFrom } from "./parts.ts";

export interface PutOptions {
  /** Called with each number of bytes sent; parts an earlier, killed upload left are not sent. */
  onProgress?: (bytes: number) => void;
}

export interface ArtifactRepository {
  /** The root URI, without credentials: safe to print. */
  readonly uri: string;
  /** The direct children of `path` (the root when absent), sorted; paths are relative to the root. */
  list(path?: string): Promise<FileInfo[]>;
  /** Writes one file; it becomes visible whole, or not at all. */
  put(path: string, data: ArtifactData, options?: PutOptions): Promise<void>;
  /** One file, streamed, with its size. A missing file is RESOURCE_DOES_NOT_EXIST. */
  get(path: string): Promise<ArtifactStream>;
  /** Removes one file, or every file under a folder (all of them when `path` is absent). */
  delete(path?: string): Promise<void>;
}

/** Where a repository finds its credentials and settings: MLflow's variables, as its client reads them. */
export type Env = Readonly<Record<string, string | undefined>>;

export interface OpenOptions {
  env?: Env;
}

/** The URI schemes with a repository, for messages. */
export const SCHEMES = ["file", "mlflow-artifacts", "http(s)", "s3", "gs", "wasbs", "abfss"];

/** True when `uri` names a place a repository can reach: anything but a local path. */
export function isRemoteUri(uri: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(uri) && !uri.startsWith("file:");
}

/**
 * The repository for an artifact URI (`s3://bucket/path`, `gs://…`, `wasbs://c@a.blob.core.windows.net/…`,
 * `abfss://…`, a `file:` URI or a path). MLflow's proxy (`mlflow-artifacts:`) needs a server
 * client and is opened by the RestStore, not here.
 */
export async function openRepository(
  uri: string,
  options: OpenOptions = {},
): Promise<ArtifactRepository> {
  const env = options.env ?? process.env;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1]?.toLowerCase();
  switch (scheme) {
    case undefined:
    case "file":
      return new (await import("./local.ts")).LocalRepository(uri);
    case "s3":
    case "s3a":
      return (await import("./s3/repository.ts")).openS3(uri, env);
    case "gs":
      return (await import("./gcs/repository.ts")).openGcs(uri, env);
    case "wasbs":
    case "wasb":
    case "abfss":
    case "abfs":
      return (await import("./azure/repository.ts")).openAzure(uri, env);
    default:
      throw invalid(
        `No artifact repository for ${scheme}: URIs; mlruns reads and writes artifacts at ` +
          `${SCHEMES.join(", ")} URIs`,
        "Log to an experiment whose artifact location uses one of these schemes.",
      );
  }
}

/** The whole of a file, for small artifacts. */
export async function readAll(repository: ArtifactRepository, path: string): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of (await repository.get(path)).stream) chunks.push(chunk);
  return new Uint8Array(Buffer.concat(chunks));
}

/**
 * Uploads local files (as `collectLocalArtifacts` lists them): small ones four at a time, large
 * ones one after another, each sending its own parts in parallel, so memory stays bounded.
 */
export async function putFiles(
  repository: ArtifactRepository,
  files: readonly LocalArtifactFile[],
): Promise<void> {
  const large = partSizeFrom(process.env);
  await eachConcurrently(
    files.filter((f) => f.size <= large),
    4,
    (f) => repository.put(f.path, { file: f.localPath }),
  );
  for (const f of files.filter((file) => file.size > large))
    await repository.put(f.path, { file: f.localPath });
}

/** `prefix/path` without doubled or leading slashes. */
export function joinKey(prefix: string, path: string | undefined): string {
  return [prefix, path ?? ""]
    .map((part) => part.replace(/^\/+|\/+$/g, ""))
    .filter((part) => part !== "")
    .join("/");
}
