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
import type { ArtifactData } from "../../entities.ts";
import { invalid, MlflowError, notFound } from "../../errors.ts";
import { excerpt } from "../../excerpt.ts";
import {
  type Bucket,
  BucketRepository,
  cloudRequest,
  type KeyRequest,
  type ListingPage,
  partSizeWithin,
  type Upload,
} from "../bucket.ts";
import { CloudHttp, type CloudRequest, codeFor } from "../http.ts";
import { type Part, type PartSink, partSizeFrom } from "../parts.ts";
import type { ArtifactRepository, Env } from "../repository.ts";
import { uriEncode } from "../s3/sigv4.ts";
import { elements, text } from "../xml.ts";
import { type AzureAccess, azureAccess, signSharedKey } from "./credentials.ts";

const API_VERSION = "2021-08-06";
const MAX_BLOCKS = 50_000;
const CONCURRENCY = 4;

export function openAzure(uri: string, env: Env): ArtifactRepository {
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
  return new BucketRepository(
    new AzureContainer(
      uri.replace(/\/+$/, ""),
      container as string,
      (path as string).replace(/\/+$/, ""),
      azureAccess(env, account as string, suffix as string),
      env,
    ),
  );
}

class AzureContainer implements Bucket {
  readonly uri: string;
  readonly root: string;
  readonly #container: string;
  readonly #access: AzureAccess;
  readonly #partSize: number;
  readonly #http: CloudHttp;

  constructor(uri: string, container: string, root: string, access: AzureAccess, env: Env) {
    this.uri = uri;
    this.#container = container;
    this.root = root;
    this.#access = access;
    this.#partSize = partSizeFrom(env);
    this.#http = new CloudHttp({
      service: "Azure Blob Storage",
      tls: { insecureTls: false },
      env,
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

  request(request: KeyRequest) {
    return this.#http.send(cloudRequest(request, this.#url(request.key, request.query)));
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

  async listPage(prefix: string, delimited: boolean, token: string): Promise<ListingPage> {
    const query: Record<string, string> = { restype: "container", comp: "list", prefix };
    if (delimited) query.delimiter = "/";
    if (token) query.marker = token;
    const xml = (await this.request({ method: "GET", query })).body.toString("utf8");
    return {
      folders: elements(xml, "BlobPrefix").map((block) => text(block, "Name") ?? ""),
      objects: elements(xml, "Blob").map((block) => ({
        key: text(block, "Name") ?? "",
        size: Number(text(block, "Content-Length") ?? 0),
      })),
      next: text(xml, "NextMarker") ?? "",
    };
  }

  download(blob: string) {
    return this.request({ method: "GET", key: blob, stream: true, accept: [404] });
  }

  async remove(blob: string): Promise<void> {
    await this.request({ method: "DELETE", key: blob, accept: [404] });
  }

  async upload(blob: string, _source: ArtifactData, size: number | undefined): Promise<Upload> {
    return {
      sink: new BlockUpload(this, blob),
      partSize: partSizeWithin(this.#partSize, size, MAX_BLOCKS),
    };
  }
}

/** A block id naming the part's place and content; every id of a blob has the same length. */
const blockId = (index: number, digest: Buffer) =>
  Buffer.from(`mlruns-${String(index).padStart(6, "0")}-${digest.toString("hex")}`).toString(
    "base64",
  );

class BlockUpload implements PartSink {
  readonly concurrency = CONCURRENCY;
  readonly #container: AzureContainer;
  readonly #blob: string;
  readonly #staged = new Map<string, number>();
  readonly #ids: string[] = [];

  constructor(container: AzureContainer, blob: string) {
    this.#container = container;
    this.#blob = blob;
  }

  async putWhole(data: Buffer, digest: Buffer): Promise<void> {
    await this.#container.request({
      method: "PUT",
      key: this.#blob,
      headers: { "x-ms-blob-type": "BlockBlob", "Content-MD5": digest.toString("base64") },
      body: data,
    });
  }

  async start(): Promise<void> {
    const response = await this.#container.request({
      method: "GET",
      key: this.#blob,
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
    await this.#container.request({
      method: "PUT",
      key: this.#blob,
      query: { comp: "block", blockid: blockId(part.index, digest) },
      headers: { "Content-MD5": digest.toString("base64") },
      body: part.data,
    });
  }

  async finish(): Promise<void> {
    const body = Buffer.from(
      `<?xml version="1.0" encoding="utf-8"?><BlockList>${this.#ids.map((id) => `<Latest>${id}</Latest>`).join("")}</BlockList>`,
    );
    await this.#container.request({
      method: "PUT",
      key: this.#blob,
      query: { comp: "blocklist" },
      headers: { "Content-Type": "application/xml" },
      body,
    });
  }
}
