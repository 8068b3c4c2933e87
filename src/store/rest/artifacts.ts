/**
 * Run artifacts through the tracking server's artifact proxy (`mlflow server --serve-artifacts`,
 * the default since MLflow 2.0), as an artifact repository: a run whose `artifact_uri` is
 * `mlflow-artifacts:/<p>` has its files at `/api/2.0/mlflow-artifacts/artifacts/<p>/<path>`.
 * Uploads are PUTs of the raw bytes, one per file (the proxy has no directories). When the
 * server says it can (`multipart_uploads_enabled` in MLflow 3's `server-info`), a large file
 * goes instead straight to the server's bucket through presigned part URLs (`mpu/create`,
 * `mpu/complete`), so its bytes do not pass through the server.
 */
import { eachConcurrently, partSizeFrom, readParts, sourceSize } from "../../artifacts/parts.ts";
import type { ArtifactRepository, PutOptions } from "../../artifacts/repository.ts";
import type { ArtifactData, ArtifactStream, FileInfo } from "../../entities.ts";
import { invalid, isMlflowError, MlflowError, notFound } from "../../errors.ts";
import type { RestClient } from "./client.ts";
import { ARTIFACT_PROXY } from "./endpoints.ts";

const encodePath = (path: string) => path.split("/").map(encodeURIComponent).join("/");
const MPU = "/api/2.0/mlflow-artifacts/mpu";

/**
 * The proxy path of a run's (or logged model's) artifact root, from its artifact URI; undefined when the server
 * does not proxy them.
 */
export function proxyRoot(
  client: RestClient,
  owner: string,
  artifactUri: string,
): string | undefined {
  const proxied = /^mlflow-artifacts:(\/\/([^/]*))?\/*(.*)$/.exec(artifactUri);
  const httpPrefix = `${client.url}${ARTIFACT_PROXY}/`;
  let root: string | undefined;
  if (proxied !== null) {
    const host = proxied[2];
    if (host !== undefined && host !== "" && host !== new URL(client.url).host) {
      throw new MlflowError(
        "INVALID_PARAMETER_VALUE",
        `${owner}'s artifacts are proxied by another server (${artifactUri}), not by ${client.url}`,
        { hint: "Open a store on that server to read or write this run's artifacts." },
      );
    }
    root = proxied[3];
  } else if (artifactUri.startsWith(httpPrefix)) {
    root = decodeURIComponent(artifactUri.slice(httpPrefix.length));
  }
  return root?.replace(/\/+$/, "");
}

/** The error for artifacts (of "Run …", "Logged model …") that neither the proxy nor a bucket client reaches. */
export function unreachableArtifacts(
  client: RestClient,
  owner: string,
  artifactUri: string,
): MlflowError {
  return new MlflowError(
    "INVALID_PARAMETER_VALUE",
    `${owner}'s artifacts live at '${artifactUri}', which the server at ${client.url} does ` +
      "not proxy; the RestStore reads and writes artifacts through the server's artifact proxy " +
      "(artifact URIs starting with mlflow-artifacts:/) or straight in a bucket (s3://, gs://, " +
      "wasbs://, abfss://), not in the server's local folders",
    {
      hint:
        "Start the server with --serve-artifacts and --artifacts-destination (and without a " +
        "--default-artifact-root outside the proxy), then log into a new experiment: an " +
        "experiment keeps the artifact location it was created with.",
    },
  );
}

/**
 * The proxy mangles some names: `#` is refused ("Invalid path") and `%` followed by two hex
 * digits is decoded twice (`%2541` is stored as `A`). Refuse them before uploading anything.
 */
export function checkProxyName(path: string): void {
  if (path.includes("#") || /%[0-9a-fA-F]{2}/.test(path)) {
    throw invalid(
      `Cannot upload artifact '${path}' through MLflow's artifact proxy: names with '#' or ` +
        "'%' followed by two hex digits are refused or stored under another name",
      "Rename the file before logging it.",
    );
  }
}

interface ListJson {
  files?: { path?: string; is_dir?: boolean; file_size?: number | string }[];
}

interface CreateJson {
  upload_id?: string;
  credentials?: { url: string; part_number: number; headers?: Record<string, string> }[];
}

export class ProxyRepository implements ArtifactRepository {
  readonly uri: string;
  readonly #client: RestClient;
  readonly #root: string;
  readonly #multipart: () => Promise<boolean>;
  readonly #partSize: number;

  /** `multipart` says whether the server offers presigned multipart uploads. */
  constructor(client: RestClient, root: string, multipart: () => Promise<boolean>) {
    this.#client = client;
    this.#root = root;
    this.uri = `mlflow-artifacts:/${root}`;
    this.#multipart = multipart;
    this.#partSize = partSizeFrom(process.env);
  }

  #path(path: string | undefined): string {
    return [this.#root, path ?? ""].filter((p) => p !== "").join("/");
  }

  async list(path?: string): Promise<FileInfo[]> {
    const page = await this.#client.json<ListJson>("GET", ARTIFACT_PROXY, {
      query: { path: this.#path(path) },
    });
    const prefix = path ? `${path}/` : "";
    return (page.files ?? [])
      .map(
        (f): FileInfo =>
          // The server omits file_size for a 0-byte file.
          f.is_dir
            ? { path: `${prefix}${f.path ?? ""}`, isDir: true }
            : {
                path: `${prefix}${f.path ?? ""}`,
                isDir: false,
                fileSize: Number(f.file_size ?? 0),
              },
      )
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  async put(path: string, data: ArtifactData, options: PutOptions = {}): Promise<void> {
    checkProxyName(path);
    const size = await sourceSize(data);
    if (size !== undefined && size > this.#partSize && (await this.#multipart())) {
      await this.#putPresigned(path, data, size);
    } else {
      const body =
        data instanceof Uint8Array
          ? data
          : "file" in data
            ? { file: data.file, size: size ?? 0 }
            : { stream: data };
      await this.#client.send("PUT", `${ARTIFACT_PROXY}/${encodePath(this.#path(path))}`, { body });
    }
    options.onProgress?.(size ?? 0);
  }

  /** Straight to the server's bucket, part by part, through URLs the server signs. */
  async #putPresigned(path: string, data: ArtifactData, size: number): Promise<void> {
    const slash = path.lastIndexOf("/");
    const dir = encodePath(this.#path(slash < 0 ? undefined : path.slice(0, slash)));
    const name = path.slice(slash + 1);
    const numParts = Math.ceil(size / this.#partSize);
    const created = await this.#client.json<CreateJson>("POST", `${MPU}/create/${dir}`, {
      json: { path: name, num_parts: numParts },
    });
    const credentials = created.credentials ?? [];
    const etags: string[] = [];
    try {
      await eachConcurrently(readParts(data, this.#partSize), 4, async (part) => {
        const credential = credentials[part.index];
        if (credential === undefined)
          throw new MlflowError(
            "INTERNAL_ERROR",
            `The server signed no URL for part ${part.index + 1} of ${path}`,
          );
        const response = await fetch(credential.url, {
          method: "PUT",
          headers: credential.headers ?? {},
          body: part.data,
        });
        if (!response.ok) {
          throw new MlflowError(
            "INTERNAL_ERROR",
            `The bucket refused part ${part.index + 1} of ${path} (HTTP ${response.status})`,
            {
              hint: "Run the same command again.",
            },
          );
        }
        etags[credential.part_number - 1] = response.headers.get("etag") ?? "";
      });
      await this.#client.send("POST", `${MPU}/complete/${dir}`, {
        json: {
          path: name,
          upload_id: created.upload_id ?? "",
          parts: credentials.map((c) => ({
            part_number: c.part_number,
            etag: etags[c.part_number - 1] ?? "",
            url: c.url,
          })),
        },
      });
    } catch (error) {
      await this.#client
        .send("POST", `${MPU}/abort/${dir}`, {
          json: { path: name, upload_id: created.upload_id ?? "" },
        })
        .catch(() => undefined);
      throw error;
    }
  }

  async get(path: string): Promise<ArtifactStream> {
    try {
      // MLflow 2 answers a missing file with 500: not worth retrying, the listing below tells.
      const response = await this.#client.send(
        "GET",
        `${ARTIFACT_PROXY}/${encodePath(this.#path(path))}`,
        {
          noRetryStatus: [500],
          streamResponse: true,
        },
      );
      const stream = response.stream as NonNullable<typeof response.stream>;
      const length = response.headers["content-length"];
      // MLflow 2 streams a download without Content-Length: the listing has the size.
      const size = length === undefined ? (await this.#entry(path))?.fileSize : Number(length);
      return { size: size ?? 0, stream };
    } catch (error) {
      if (!isMlflowError(error)) throw error;
      // A missing file is a 404 on MLflow 3 but a 500 on MLflow 2, and a directory fails either
      // way: the listing of the parent tells which it was.
      const entry = await this.#entry(path);
      if (entry === undefined) throw notFound(`No artifact file '${path}' at ${this.uri}`);
      if (entry.isDir) throw invalid(`Artifact '${path}' at ${this.uri} is a directory`);
      throw error;
    }
  }

  /** A file's or folder's entry in the listing of its parent. */
  async #entry(path: string): Promise<FileInfo | undefined> {
    const parent = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : undefined;
    return (await this.list(parent)).find((f) => f.path === path);
  }

  async delete(path?: string): Promise<void> {
    await this.#client.send("DELETE", `${ARTIFACT_PROXY}/${encodePath(this.#path(path))}`);
  }
}
