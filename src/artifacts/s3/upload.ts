/**
 * Uploads to S3 (repository.ts): the headers MLFLOW_S3_UPLOAD_EXTRA_ARGS asks for, and one key's
 * multipart upload, which finds an upload a killed process left behind (ListMultipartUploads)
 * and does not send again the parts whose size and MD5 (the ETag) match.
 */
import { invalid, MlflowError } from "../../errors.ts";
import { excerpt } from "../../excerpt.ts";
import type { KeyRequest } from "../bucket.ts";
import type { CloudHttp } from "../http.ts";
import type { Part, PartSink } from "../parts.ts";
import type { Env } from "../repository.ts";
import { elements, escapeXml, text } from "../xml.ts";

const CONCURRENCY = 4;

/** What an upload needs of its bucket. */
export interface S3Requests {
  /** One request on the bucket. */
  request(request: KeyRequest): ReturnType<CloudHttp["send"]>;
  /** The headers every upload sends (uploadHeaders). */
  readonly uploadHeaders: Record<string, string>;
}

/** boto3's upload arguments (MLFLOW_S3_UPLOAD_EXTRA_ARGS) as the headers S3 takes them in. */
const UPLOAD_ARG_HEADERS: Record<string, string> = {
  ACL: "x-amz-acl",
  CacheControl: "Cache-Control",
  ContentDisposition: "Content-Disposition",
  ContentEncoding: "Content-Encoding",
  ContentLanguage: "Content-Language",
  ContentType: "Content-Type",
  Expires: "Expires",
  GrantFullControl: "x-amz-grant-full-control",
  GrantRead: "x-amz-grant-read",
  GrantReadACP: "x-amz-grant-read-acp",
  GrantWriteACP: "x-amz-grant-write-acp",
  RequestPayer: "x-amz-request-payer",
  SSECustomerAlgorithm: "x-amz-server-side-encryption-customer-algorithm",
  SSECustomerKey: "x-amz-server-side-encryption-customer-key",
  SSECustomerKeyMD5: "x-amz-server-side-encryption-customer-key-MD5",
  SSEKMSEncryptionContext: "x-amz-server-side-encryption-context",
  SSEKMSKeyId: "x-amz-server-side-encryption-aws-kms-key-id",
  ServerSideEncryption: "x-amz-server-side-encryption",
  StorageClass: "x-amz-storage-class",
};

/** The headers of MLFLOW_S3_UPLOAD_EXTRA_ARGS (boto3's upload arguments). */
export function uploadHeaders(env: Env): Record<string, string> {
  const raw = env.MLFLOW_S3_UPLOAD_EXTRA_ARGS;
  if (!raw) return {};
  let args: Record<string, unknown>;
  try {
    args = JSON.parse(raw) as Record<string, unknown>;
  } catch (cause) {
    throw new MlflowError("INVALID_PARAMETER_VALUE", "MLFLOW_S3_UPLOAD_EXTRA_ARGS is not JSON", {
      cause,
      hint: 'Give a JSON object of boto3 upload arguments, e.g. {"ServerSideEncryption": "aws:kms"}.',
    });
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(args)) {
    if (name === "Metadata" && value !== null && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) headers[`x-amz-meta-${k}`] = String(v);
      continue;
    }
    const header = UPLOAD_ARG_HEADERS[name];
    if (header === undefined) {
      throw invalid(
        `MLFLOW_S3_UPLOAD_EXTRA_ARGS has '${name}', which mlruns does not know how to send`,
        `Use only ${Object.keys(UPLOAD_ARG_HEADERS).join(", ")} or Metadata.`,
      );
    }
    headers[header] = String(value);
  }
  return headers;
}

/** One multipart upload of one key. */
export class S3Upload implements PartSink {
  readonly concurrency = CONCURRENCY;
  readonly #bucket: S3Requests;
  readonly #key: string;
  #uploadId = "";
  /** Parts an earlier attempt stored: number → `"<md5 hex>"` and size. */
  #existing = new Map<number, { etag: string; size: number }>();
  readonly #etags: string[] = [];

  constructor(bucket: S3Requests, key: string) {
    this.#bucket = bucket;
    this.#key = key;
  }

  async putWhole(data: Buffer, digest: Buffer): Promise<void> {
    await this.#bucket.request({
      method: "PUT",
      key: this.#key,
      headers: { ...this.#bucket.uploadHeaders, "Content-MD5": digest.toString("base64") },
      body: data,
    });
  }

  async start(): Promise<void> {
    const found = await this.#findUpload();
    if (found !== undefined) {
      this.#uploadId = found;
      await this.#listParts();
      return;
    }
    const xml = (
      await this.#bucket.request({
        method: "POST",
        key: this.#key,
        query: { uploads: "" },
        headers: this.#bucket.uploadHeaders,
      })
    ).body.toString("utf8");
    this.#uploadId = text(xml, "UploadId") ?? "";
    if (this.#uploadId === "")
      throw new MlflowError("INTERNAL_ERROR", `S3 gave no upload id for ${this.#key}`);
  }

  /** The newest unfinished upload of this key, if an earlier attempt left one. */
  async #findUpload(): Promise<string | undefined> {
    const xml = (
      await this.#bucket.request({ method: "GET", query: { uploads: "", prefix: this.#key } })
    ).body.toString("utf8");
    const uploads = elements(xml, "Upload")
      .filter((block) => text(block, "Key") === this.#key)
      .map((block) => ({
        id: text(block, "UploadId") ?? "",
        initiated: text(block, "Initiated") ?? "",
      }))
      .sort((a, b) => (a.initiated < b.initiated ? 1 : -1));
    return uploads[0]?.id || undefined;
  }

  async #listParts(): Promise<void> {
    let marker = "0";
    for (;;) {
      const response = await this.#bucket.request({
        method: "GET",
        key: this.#key,
        query: { uploadId: this.#uploadId, "part-number-marker": marker },
        accept: [404],
      });
      if (response.status === 404) return; // completed or aborted meanwhile: nothing to reuse
      const xml = response.body.toString("utf8");
      for (const block of elements(xml, "Part")) {
        this.#existing.set(Number(text(block, "PartNumber")), {
          etag: text(block, "ETag") ?? "",
          size: Number(text(block, "Size")),
        });
      }
      if (text(xml, "IsTruncated") !== "true") return;
      marker = text(xml, "NextPartNumberMarker") ?? "";
    }
  }

  stored(part: Part, digest: Buffer): boolean {
    const have = this.#existing.get(part.index + 1);
    const etag = `"${digest.toString("hex")}"`;
    if (have === undefined || have.size !== part.data.length || have.etag !== etag) return false;
    this.#etags[part.index] = etag;
    return true;
  }

  async putPart(part: Part, digest: Buffer): Promise<void> {
    const response = await this.#bucket.request({
      method: "PUT",
      key: this.#key,
      query: { partNumber: String(part.index + 1), uploadId: this.#uploadId },
      headers: { "Content-MD5": digest.toString("base64") },
      body: part.data,
    });
    const etag = response.headers.etag;
    this.#etags[part.index] = typeof etag === "string" ? etag : `"${digest.toString("hex")}"`;
  }

  async finish(): Promise<void> {
    const body = Buffer.from(
      `<CompleteMultipartUpload>${this.#etags
        .map(
          (etag, i) =>
            `<Part><PartNumber>${i + 1}</PartNumber><ETag>${escapeXml(etag)}</ETag></Part>`,
        )
        .join("")}</CompleteMultipartUpload>`,
    );
    const response = await this.#bucket.request({
      method: "POST",
      key: this.#key,
      query: { uploadId: this.#uploadId },
      headers: { "Content-Type": "application/xml" },
      body,
    });
    // S3 may answer 200 and still have failed: the error is in the body.
    const xml = response.body.toString("utf8");
    if (/<Error>/.test(xml)) {
      throw new MlflowError(
        "INTERNAL_ERROR",
        `S3 could not complete the upload of ${this.#key}: ${text(xml, "Message") ?? excerpt(response.body)}`,
        {
          hint: "Run the same command again: the parts already sent are kept and reused.",
        },
      );
    }
  }
}
