/**
 * Azure Blob Storage artifacts: `wasbs://<container>@<account>.blob.core.windows.net/<path>`
 * (also `.chinacloudapi.cn` and `.usgovcloudapi.net`, as MLflow accepts), and
 * `abfss://<filesystem>@<account>.dfs.core.windows.net/<path>` for ADLS Gen2 accounts, which
 * are reached through the same account's Blob API (multi-protocol access).
 *
 * Files larger than one part are staged as blocks and committed in one Put Block List, so no
 * reader sees a part of a file. Block ids name each part's index and MD5: after a killed upload,
 * the blocks already staged (Get Block List, uncommitted) are not sent again.
 */
import type { ArtifactData, ArtifactStream, FileInfo } from "../../entities.ts";
import { invalid, MlflowError, notFound } from "../../errors.ts";
import { CloudHttp, type CloudRequest, codeFor, excerpt } from "../http.ts";
import {
  eachConcurrently,
  type Part,
  type PartSink,
  partSizeFrom,
  sourceSize,
  uploadInParts,
} from "../parts.ts";
import type { ArtifactRepository, Env, PutOptions } from "../repository.ts";
import { joinKey } from "../repository.ts";
import { uriEncode } from "../s3/sigv4.ts";
import { elements, text } from "../xml.ts";
import { type AzureAccess, azureAccess, signSharedKey } from "./credentials.ts";

const API_VERSION = "2021-08-06";
const MAX_BLOCKS = 50_000;
const CONCURRENCY = 4;

export function openAzure(uri: string, env: Env): AzureRepository {
  const match =
    /^(wasbs?|abfss?):\/\/([^@/]+)@([^./]+)\.(blob|dfs)\.(core\.(?:windows\.net|chinacloudapi\.cn|usgovcloudapi\.net))\/*(.*)$/.exec(
      uri,
    );
  if (match === null) {
    throw invalid(
      `Invalid Azure URI '${uri}'`,
      "Use wasbs://<container>@<account>.blob.core.windows.net/<path> or abfss://<filesystem>@<account>.dfs.core.windows.net/<path>.",
    );
  }
  const [, , container, account, , suffix, path] = match as unknown as string[];
  return new AzureRepository(
    uri.replace(/\/+$/, ""),
    container as string,
    (path as string).replace(/\/+$/, ""),
    azureAccess(env, account as string, suffix as string),
    env,
  );
}

interface AzureRequest {
  method: CloudRequest["method"];
  blob?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Buffer;
  accept?: readonly number[];
  stream?: boolean;
}

export class AzureRepository implements ArtifactRepository {
  readonly uri: string;
  readonly #container: string;
  readonly #root: string;
  readonly #access: AzureAccess;
  readonly #partSize: number;
  readonly #http: CloudHttp;

  constructor(uri: string, container: string, root: string, access: AzureAccess, env: Env) {
    this.uri = uri;
    this.#container = container;
    this.#root = root;
    this.#access = access;
    this.#partSize = partSizeFrom(env);
    const timeout = Number(env.MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT);
    this.#http = new CloudHttp({
      service: "Azure Blob Storage",
      tls: { insecureTls: false },
      ...(timeout > 0 ? { timeoutSeconds: timeout } : {}),
      sign: async (request) => {
        request.headers["x-ms-date"] = new Date().toUTCString();
        request.headers["x-ms-version"] = API_VERSION;
        const { auth } = this.#access;
        if (auth.kind === "key") {
          const bodyLength = request.body instanceof Uint8Array ? request.body.byteLength : 0;
          signSharedKey(
            { method: request.method, url: request.url, headers: request.headers, bodyLength },
            auth.account,
            auth.key,
          );
        } else if (auth.kind === "token") {
          request.headers.Authorization = `Bearer ${await auth.token()}`;
        }
      },
      explain: (response, request) => this.#explain(response.status, response.body, request),
    });
  }

  #url(blob: string | undefined, query: Record<string, string> = {}): URL {
    const url = new URL(
      `${this.#access.endpoint}/${uriEncode(this.#container)}${blob === undefined ? "" : `/${uriEncode(blob, true)}`}`,
    );
    const search = Object.entries(query).map(([k, v]) => `${uriEncode(k)}=${uriEncode(v)}`);
    if (this.#access.auth.kind === "sas") search.push(this.#access.auth.query);
    url.search = search.join("&");
    return url;
  }

  request(request: AzureRequest) {
    return this.#http.send({
      method: request.method,
      url: this.#url(request.blob, request.query),
      headers: { ...request.headers },
      ...(request.body === undefined ? {} : { body: request.body }),
      ...(request.accept ? { accept: request.accept } : {}),
      ...(request.stream ? { stream: true } : {}),
    });
  }

  #explain(status: number, body: Buffer, request: CloudRequest): MlflowError {
    const xml = body.toString("utf8");
    const code = text(xml, "Code") ?? String(status);
    const message = (text(xml, "Message") ?? excerpt(body)).split("\n")[0];
    const what = `Azure Blob Storage refused ${request.method} ${this.uri} (HTTP ${status} ${code}${message ? `: ${message}` : ""})`;
    // Azure says AuthenticationFailed, Azurite AuthorizationFailure; both "failed to authenticate".
    const unauthenticated =
      code === "AuthenticationFailed" ||
      code === "NoAuthenticationInformation" ||
      /failed to authenticate/i.test(message ?? "");
    if (status === 401 || unauthenticated) {
      return new MlflowError("UNAUTHENTICATED", what, {
        hint: `Check the credentials in ${this.#access.source}: the account key, SAS token or sign-in must be valid for this storage account.`,
      });
    }
    if (status === 403) {
      return new MlflowError("PERMISSION_DENIED", what, {
        hint: `The credentials from ${this.#access.source} may not read or write container ${this.#container}.`,
      });
    }
    if (code === "ContainerNotFound")
      return notFound(
        what,
        `Create the container ${this.#container}, or fix the experiment's artifact location.`,
      );
    return new MlflowError(codeFor(status), what);
  }

  async list(path?: string): Promise<FileInfo[]> {
    const base = joinKey(this.#root, path);
    const prefix = base === "" ? "" : `${base}/`;
    const strip = this.#root === "" ? 0 : this.#root.length + 1;
    const files: FileInfo[] = [];
    let marker = "";
    do {
      const query: Record<string, string> = {
        restype: "container",
        comp: "list",
        delimiter: "/",
        prefix,
      };
      if (marker) query.marker = marker;
      const xml = (await this.request({ method: "GET", query })).body.toString("utf8");
      for (const block of elements(xml, "BlobPrefix")) {
        files.push({
          path: (text(block, "Name") ?? "").replace(/\/+$/, "").slice(strip),
          isDir: true,
        });
      }
      for (const block of elements(xml, "Blob")) {
        const name = text(block, "Name") ?? "";
        if (name === prefix) continue;
        files.push({
          path: name.slice(strip),
          isDir: false,
          fileSize: Number(text(block, "Content-Length") ?? 0),
        });
      }
      marker = text(xml, "NextMarker") ?? "";
    } while (marker);
    return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  async put(path: string, source: ArtifactData, options: PutOptions = {}): Promise<void> {
    const blob = joinKey(this.#root, path);
    const size = await sourceSize(source);
    const partSize =
      size === undefined ? this.#partSize : Math.max(this.#partSize, Math.ceil(size / MAX_BLOCKS));
    await uploadInParts(new BlockUpload(this, blob), source, partSize, options.onProgress);
  }

  async get(path: string): Promise<ArtifactStream> {
    const response = await this.request({
      method: "GET",
      blob: joinKey(this.#root, path),
      stream: true,
      accept: [404],
    });
    if (response.status === 404 || response.stream === undefined)
      throw notFound(`No artifact file '${path}' at ${this.uri}`);
    return { size: Number(response.headers["content-length"] ?? 0), stream: response.stream };
  }

  async delete(path?: string): Promise<void> {
    const base = joinKey(this.#root, path);
    const blobs: string[] = path ? [base] : [];
    let marker = "";
    do {
      const query: Record<string, string> = {
        restype: "container",
        comp: "list",
        prefix: base === "" ? "" : `${base}/`,
      };
      if (marker) query.marker = marker;
      const xml = (await this.request({ method: "GET", query })).body.toString("utf8");
      for (const block of elements(xml, "Blob")) blobs.push(text(block, "Name") ?? "");
      marker = text(xml, "NextMarker") ?? "";
    } while (marker);
    await eachConcurrently(blobs, CONCURRENCY, async (blob) => {
      await this.request({ method: "DELETE", blob, accept: [404] });
    });
  }
}

/** A block id naming the part's place and content; every id of a blob has the same length. */
const blockId = (index: number, digest: Buffer) =>
  Buffer.from(`mlruns-${String(index).padStart(6, "0")}-${digest.toString("hex")}`).toString(
    "base64",
  );

class BlockUpload implements PartSink {
  readonly concurrency = CONCURRENCY;
  readonly #repo: AzureRepository;
  readonly #blob: string;
  readonly #staged = new Map<string, number>();
  readonly #ids: string[] = [];

  constructor(repo: AzureRepository, blob: string) {
    this.#repo = repo;
    this.#blob = blob;
  }

  async putWhole(data: Buffer, digest: Buffer): Promise<void> {
    await this.#repo.request({
      method: "PUT",
      blob: this.#blob,
      headers: { "x-ms-blob-type": "BlockBlob", "Content-MD5": digest.toString("base64") },
      body: data,
    });
  }

  async start(): Promise<void> {
    const response = await this.#repo.request({
      method: "GET",
      blob: this.#blob,
      query: { comp: "blocklist", blocklisttype: "uncommitted" },
      accept: [404],
    });
    if (response.status === 404) return;
    const xml = response.body.toString("utf8");
    for (const block of elements(xml, "Block"))
      this.#staged.set(text(block, "Name") ?? "", Number(text(block, "Size")));
  }

  stored(part: Part, digest: Buffer): boolean {
    const id = blockId(part.index, digest);
    this.#ids[part.index] = id;
    return this.#staged.get(id) === part.data.length;
  }

  async putPart(part: Part, digest: Buffer): Promise<void> {
    await this.#repo.request({
      method: "PUT",
      blob: this.#blob,
      query: { comp: "block", blockid: blockId(part.index, digest) },
      headers: { "Content-MD5": digest.toString("base64") },
      body: part.data,
    });
  }

  async finish(): Promise<void> {
    const body = Buffer.from(
      `<?xml version="1.0" encoding="utf-8"?><BlockList>${this.#ids.map((id) => `<Latest>${id}</Latest>`).join("")}</BlockList>`,
    );
    await this.#repo.request({
      method: "PUT",
      blob: this.#blob,
      query: { comp: "blocklist" },
      headers: { "Content-Type": "application/xml" },
      body,
    });
  }
}
