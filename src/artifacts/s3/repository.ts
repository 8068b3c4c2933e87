/**
 * `s3://bucket/prefix` artifacts, over S3's REST API signed with SigV4, with the settings
 * MLflow's S3 repository reads: `MLFLOW_S3_ENDPOINT_URL` (S3-compatible stores),
 * `MLFLOW_S3_IGNORE_TLS`, `MLFLOW_S3_UPLOAD_EXTRA_ARGS`, `MLFLOW_S3_EXPECTED_BUCKET_OWNER`,
 * `MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE`, and boto3's `AWS_CA_BUNDLE` and region variables.
 *
 * Files larger than one part go up as a multipart upload (upload.ts), which S3 shows only once
 * it is completed.
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
import { shared } from "../credential-cache.ts";
import { CloudHttp, type CloudRequest, codeFor } from "../http.ts";
import { partSizeFrom } from "../parts.ts";
import type { ArtifactRepository, Env } from "../repository.ts";
import { elements, text } from "../xml.ts";
import { awsRegion, type Expiring, resolveAwsCredentials } from "./credentials.ts";
import { signV4, uriEncode } from "./sigv4.ts";
import { S3Upload, uploadHeaders } from "./upload.ts";

const AUTH_CODES = new Set([
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "ExpiredToken",
  "InvalidToken",
  "TokenRefreshRequired",
]);
const MISSING_CODES = new Set(["NoSuchBucket", "NoSuchKey", "NoSuchUpload"]);
const MAX_PARTS = 10_000;

export async function openS3(uri: string, env: Env): Promise<ArtifactRepository> {
  const match = /^s3a?:\/\/([^/]+)\/*(.*)$/.exec(uri);
  if (match === null) throw invalid(`Invalid S3 URI '${uri}': expected s3://<bucket>/<path>`);
  return new BucketRepository(
    new S3Bucket(
      match[1] as string,
      (match[2] as string).replace(/\/+$/, ""),
      env,
      await awsRegion(env),
    ),
  );
}

class S3Bucket implements Bucket {
  readonly uri: string;
  readonly root: string;
  readonly #bucket: string;
  readonly #env: Env;
  #region: string;
  readonly #endpoint: URL | undefined;
  readonly #pathStyle: boolean;
  readonly #uploadHeaders: Record<string, string>;
  readonly #partSize: number;
  readonly #http: CloudHttp;

  constructor(bucket: string, root: string, env: Env, region: string) {
    this.#bucket = bucket;
    this.root = root;
    this.#env = env;
    this.#region = region;
    this.uri = `s3://${bucket}${root === "" ? "" : `/${root}`}`;
    const endpoint = env.MLFLOW_S3_ENDPOINT_URL || env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL;
    this.#endpoint = endpoint ? new URL(endpoint) : undefined;
    const style = (env.MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE || "auto").toLowerCase();
    // boto3's "auto": virtual hosts on AWS for DNS-safe names, paths on custom endpoints.
    this.#pathStyle =
      style === "path" ||
      (style === "auto" && (this.#endpoint !== undefined || bucket.includes(".")));
    this.#uploadHeaders = uploadHeaders(env);
    this.#partSize = partSizeFrom(env);
    const insecure = /^(1|true)$/i.test(env.MLFLOW_S3_IGNORE_TLS ?? "");
    this.#http = new CloudHttp({
      service: "S3",
      tls: {
        insecureTls: insecure,
        serverCertPath: insecure ? undefined : env.AWS_CA_BUNDLE || undefined,
      },
      env,
      sign: async (request) => {
        const body = request.body instanceof Uint8Array ? request.body : undefined;
        const { method, url, headers } = request;
        signV4(
          { method, url, headers, ...(body ? { body } : {}) },
          await this.#keys(),
          this.#region,
        );
      },
      explain: (response, request) => this.#explain(response.status, response.body, request),
    });
  }

  #keys(): Promise<Expiring> {
    const e = this.#env;
    const settings = [
      e.AWS_ACCESS_KEY_ID,
      e.AWS_SECRET_ACCESS_KEY,
      e.AWS_SESSION_TOKEN,
      e.AWS_PROFILE,
      e.AWS_DEFAULT_PROFILE,
      e.AWS_SHARED_CREDENTIALS_FILE,
      e.AWS_CONFIG_FILE,
      e.AWS_WEB_IDENTITY_TOKEN_FILE,
      e.HOME,
    ];
    return shared(`aws\n${settings.join("\n")}`, () => resolveAwsCredentials(e));
  }

  #url(key: string | undefined, query: Record<string, string> = {}): URL {
    const encodedKey = key === undefined ? "" : uriEncode(key, true);
    let url: URL;
    if (this.#pathStyle) {
      const base = this.#endpoint ?? new URL(`https://s3.${this.#region}.amazonaws.com`);
      url = new URL(base.toString());
      const prefix = url.pathname.replace(/\/+$/, "");
      url.pathname = `${prefix}/${uriEncode(this.#bucket)}${key === undefined ? "" : `/${encodedKey}`}`;
    } else {
      const base = this.#endpoint ?? new URL(`https://s3.${this.#region}.amazonaws.com`);
      url = new URL(base.toString());
      url.hostname = `${this.#bucket}.${url.hostname}`;
      url.pathname = `/${encodedKey}`;
    }
    url.search = Object.entries(query)
      .map(([k, v]) => `${uriEncode(k)}=${uriEncode(v)}`)
      .join("&");
    return url;
  }

  async #send(request: KeyRequest) {
    const headers = { ...request.headers };
    const owner = this.#env.MLFLOW_S3_EXPECTED_BUCKET_OWNER;
    if (owner) headers["x-amz-expected-bucket-owner"] = owner;
    const build = () =>
      cloudRequest({ ...request, headers }, this.#url(request.key, request.query), [
        ...(request.accept ?? []),
        301,
        307,
        400,
      ]);
    let response = await this.#http.send(build());
    // A bucket in another region says so once; boto3 follows, and so do we.
    const moved = response.headers["x-amz-bucket-region"];
    if (
      [301, 307, 400].includes(response.status) &&
      typeof moved === "string" &&
      moved !== this.#region
    ) {
      this.#region = moved;
      response = await this.#http.send(build());
    }
    if ([301, 307, 400].includes(response.status) && !request.accept?.includes(response.status)) {
      throw this.#explain(response.status, response.body, build());
    }
    return response;
  }

  #explain(status: number, body: Buffer, request: CloudRequest): MlflowError {
    const xml = body.toString("utf8");
    const code = text(xml, "Code") ?? String(status);
    const message = text(xml, "Message") ?? excerpt(body);
    const path = decodeURIComponent(request.url.pathname);
    const key = this.#pathStyle ? path.slice(path.indexOf("/", 1) + 1) : path.slice(1);
    const where = `s3://${this.#bucket}/${key === path ? "" : key}`;
    const what = `S3 refused ${request.method} ${where} (HTTP ${status} ${code}${message ? `: ${message}` : ""})`;
    if (AUTH_CODES.has(code) || status === 401) {
      return new MlflowError("UNAUTHENTICATED", what, {
        hint:
          "Check the AWS credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE) " +
          "and, for an S3-compatible store, MLFLOW_S3_ENDPOINT_URL.",
      });
    }
    if (code === "AccessDenied" || status === 403) {
      return new MlflowError("PERMISSION_DENIED", what, {
        hint: `These AWS credentials may not use s3://${this.#bucket}; ask for s3:GetObject, s3:PutObject, s3:ListBucket and s3:DeleteObject on it.`,
      });
    }
    if (code === "NoSuchBucket") {
      return notFound(
        what,
        `Create the bucket ${this.#bucket}, or fix the experiment's artifact location.`,
      );
    }
    if (MISSING_CODES.has(code)) return notFound(what);
    return new MlflowError(codeFor(status), what);
  }

  async listPage(prefix: string, delimited: boolean, token: string): Promise<ListingPage> {
    const query: Record<string, string> = { "list-type": "2", prefix };
    if (delimited) query.delimiter = "/";
    if (token) query["continuation-token"] = token;
    const xml = (await this.#send({ method: "GET", query })).body.toString("utf8");
    return {
      folders: elements(xml, "CommonPrefixes").map((block) => text(block, "Prefix") ?? ""),
      objects: elements(xml, "Contents").map((block) => ({
        key: text(block, "Key") ?? "",
        size: Number(text(block, "Size") ?? 0),
      })),
      next: text(xml, "IsTruncated") === "true" ? (text(xml, "NextContinuationToken") ?? "") : "",
    };
  }

  download(key: string) {
    return this.#send({ method: "GET", key, stream: true, accept: [404] });
  }

  async remove(key: string): Promise<void> {
    await this.#send({ method: "DELETE", key, accept: [404] });
  }

  async upload(key: string, _source: ArtifactData, size: number | undefined): Promise<Upload> {
    return {
      sink: new S3Upload(this, key),
      partSize: partSizeWithin(this.#partSize, size, MAX_PARTS),
    };
  }

  /** For S3Upload: one request on this bucket. */
  request(request: KeyRequest) {
    return this.#send(request);
  }

  get uploadHeaders(): Record<string, string> {
    return this.#uploadHeaders;
  }
}
