/**
 * The artifact repository for a URI, by scheme, in one place. A repository's module is loaded
 * only when a URI of its scheme is opened, so a local user never pays for cloud code.
 */
import { invalid } from "../errors.ts";
import type { ArtifactRepository, Env } from "./repository.ts";

export interface OpenOptions {
  env?: Env;
}

/** The URI schemes with a repository, for messages. */
export const SCHEMES = ["file", "mlflow-artifacts", "http(s)", "s3", "gs", "wasbs", "abfss"];

/** True when `uri` names a place a repository can reach: anything but a local path. */
export function isRemoteUri(uri: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(uri) && !uri.startsWith("file:");
}

const SCHEME = /^([a-z][a-z0-9+.-]*):/i;
const BUCKETS = new Set(["s3", "s3a", "gs", "wasbs", "wasb", "abfss", "abfs"]);

/** True for an object store's URI (S3, GCS, Azure Blob), which this package reaches itself. */
export function isBucketUri(uri: string): boolean {
  return BUCKETS.has(SCHEME.exec(uri)?.[1]?.toLowerCase() ?? "");
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
  const scheme = SCHEME.exec(uri)?.[1]?.toLowerCase();
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
