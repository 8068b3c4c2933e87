/**
 * Run artifacts through the tracking server's artifact proxy (`mlflow server --serve-artifacts`,
 * the default since MLflow 2.0): a run whose `artifact_uri` is `mlflow-artifacts:/<p>` has its
 * files at `/api/2.0/mlflow-artifacts/artifacts/<p>/<relative path>`. Uploads are PUTs of the raw
 * bytes, one per file (the proxy has no directories and no mkdir); listings use the run-scoped
 * `artifacts/list`, which answers with paths relative to the run's root.
 */
import type { FileInfo } from "../../entities.ts";
import type { ArtifactData, ArtifactStream } from "../store.ts";
import { invalid, isMlflowError, MlflowError, notFound } from "../../errors.ts";
import { collectLocalArtifacts } from "../../local-artifacts.ts";
import type { RestClient } from "./client.ts";
import { ARTIFACT_PROXY, ENDPOINTS } from "./endpoints.ts";

/** Files uploaded at once. */
const UPLOAD_CONCURRENCY = 4;

const encodePath = (path: string) => path.split("/").map(encodeURIComponent).join("/");

/**
 * The proxy path of a run's artifact root, from its `artifact_uri`. Throws with an explanation
 * when the server does not proxy this run's artifacts.
 */
export function proxyRoot(client: RestClient, runId: string, artifactUri: string): string {
  const proxied = /^mlflow-artifacts:(\/\/([^/]*))?\/*(.*)$/.exec(artifactUri);
  const httpPrefix = `${client.url}${ARTIFACT_PROXY}/`;
  let root: string | undefined;
  if (proxied !== null) {
    const host = proxied[2];
    if (host !== undefined && host !== "" && host !== new URL(client.url).host) {
      throw new MlflowError(
        "INVALID_PARAMETER_VALUE",
        `Run ${runId}'s artifacts are proxied by another server (${artifactUri}), not by ${client.url}`,
        { hint: "Open a store on that server to read or write this run's artifacts." },
      );
    }
    root = proxied[3];
  } else if (artifactUri.startsWith(httpPrefix)) {
    root = decodeURIComponent(artifactUri.slice(httpPrefix.length));
  }
  if (root === undefined) {
    throw new MlflowError(
      "INVALID_PARAMETER_VALUE",
      `Run ${runId}'s artifacts live at '${artifactUri}', which the server at ${client.url} does ` +
        "not proxy; the RestStore reads and writes artifacts only through the server's " +
        "artifact proxy (artifact URIs starting with mlflow-artifacts:/)",
      {
        hint:
          "Start the server with --serve-artifacts and --artifacts-destination (and without a " +
          "--default-artifact-root outside the proxy), then log into a new experiment: an " +
          "experiment keeps the artifact location it was created with.",
      },
    );
  }
  return root.replace(/\/+$/, "");
}

/**
 * The proxy mangles some names: `#` is refused ("Invalid path") and `%` followed by two hex
 * digits is decoded twice (`%2541` is stored as `A`). Refuse them before uploading anything.
 */
function checkProxyName(path: string): void {
  if (path.includes("#") || /%[0-9a-fA-F]{2}/.test(path)) {
    throw invalid(
      `Cannot upload artifact '${path}' through MLflow's artifact proxy: names with '#' or ` +
        "'%' followed by two hex digits are refused or stored under another name",
      "Rename the file before logging it.",
    );
  }
}

export async function uploadArtifacts(
  client: RestClient,
  root: string,
  localPath: string,
  artifactPath: string | undefined,
): Promise<void> {
  const local = await collectLocalArtifacts(localPath, artifactPath);
  for (const file of local.files) checkProxyName(file.path);
  const queue = [...local.files];
  const worker = async () => {
    for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
      await client.send("PUT", `${ARTIFACT_PROXY}/${encodePath(`${root}/${file.path}`)}`, {
        body: { file: file.localPath, size: file.size },
      });
    }
  };
  await Promise.all(Array.from({ length: UPLOAD_CONCURRENCY }, worker));
}

/** A file's bytes; a missing file is RESOURCE_DOES_NOT_EXIST on every server version. */
export async function readArtifactFile(
  client: RestClient,
  runId: string,
  root: string,
  path: string,
): Promise<Uint8Array> {
  const response = await getArtifact(client, runId, root, path, false);
  return new Uint8Array(response.body.buffer, response.body.byteOffset, response.body.byteLength);
}

/** A file as a stream, with its size (MLflow 2 sends no Content-Length: the listing says). */
export async function openArtifactFile(
  client: RestClient,
  runId: string,
  root: string,
  path: string,
): Promise<ArtifactStream> {
  const response = await getArtifact(client, runId, root, path, true);
  const stream = response.stream as NonNullable<typeof response.stream>;
  const length = response.headers["content-length"];
  if (length !== undefined) return { size: Number(length), stream };
  const parent = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : undefined;
  const entry = (await listArtifacts(client, runId, parent)).find((f) => f.path === path);
  return { size: entry?.fileSize ?? 0, stream };
}

async function getArtifact(
  client: RestClient,
  runId: string,
  root: string,
  path: string,
  streamResponse: boolean,
) {
  try {
    // MLflow 2 answers a missing file with 500: not worth retrying, the listing below tells.
    return await client.send("GET", `${ARTIFACT_PROXY}/${encodePath(`${root}/${path}`)}`, {
      noRetryStatus: [500],
      streamResponse,
    });
  } catch (error) {
    if (!isMlflowError(error)) throw error;
    // A missing file is a 404 on MLflow 3 but a 500 on MLflow 2, and a directory fails either
    // way: the listing of the parent tells which it was.
    const parent = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : undefined;
    const entry = (await listArtifacts(client, runId, parent)).find((f) => f.path === path);
    if (entry === undefined) throw notFound(`No artifact file '${path}' in run ${runId}`);
    if (entry.isDir) throw invalid(`Artifact '${path}' of run ${runId} is a directory`);
    throw error;
  }
}

/** One file, from bytes or a stream (a stream is sent once, without retries). */
export async function putArtifactFile(
  client: RestClient,
  root: string,
  path: string,
  data: ArtifactData,
): Promise<void> {
  checkProxyName(path);
  await client.send("PUT", `${ARTIFACT_PROXY}/${encodePath(`${root}/${path}`)}`, {
    body: data instanceof Uint8Array ? data : { stream: data },
  });
}

/** A file or folder ("" for every artifact of the run). */
export async function deleteArtifactPath(
  client: RestClient,
  root: string,
  path: string,
): Promise<void> {
  const target = path === "" ? root : `${root}/${path}`;
  await client.send("DELETE", `${ARTIFACT_PROXY}/${encodePath(target)}`);
}

interface ListJson {
  files?: { path?: string; is_dir?: boolean; file_size?: number | string }[];
  next_page_token?: string;
}

/** Direct children of `path`, sorted; an unknown run fails, a missing folder lists as empty. */
export async function listArtifacts(
  client: RestClient,
  runId: string,
  path: string | undefined,
): Promise<FileInfo[]> {
  const [method, endpoint] = ENDPOINTS.listArtifacts;
  const files: FileInfo[] = [];
  let pageToken: string | undefined;
  do {
    const page = await client.json<ListJson>(method, endpoint, {
      query: { run_id: runId, path, page_token: pageToken },
    });
    for (const f of page.files ?? []) {
      // The server omits file_size for a 0-byte file.
      files.push(
        f.is_dir
          ? { path: f.path ?? "", isDir: true }
          : { path: f.path ?? "", isDir: false, fileSize: Number(f.file_size ?? 0) },
      );
    }
    pageToken = page.next_page_token || undefined;
  } while (pageToken !== undefined);
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
