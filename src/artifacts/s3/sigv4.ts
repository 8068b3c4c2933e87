/**
 * AWS Signature Version 4 for S3 requests (the `Authorization` header form), as AWS specifies
 * it: a canonical request, a string to sign and a key derived from the secret per day, region
 * and service. The payload hash is computed over bodies held in memory (every part is).
 */
import { createHash, createHmac } from "node:crypto";

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

const sha256Hex = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex");
const hmac = (key: string | Buffer, data: string) =>
  createHmac("sha256", key).update(data).digest();

/** RFC 3986 encoding, as SigV4 wants it (`/` kept in paths when `keepSlash`). */
export function uriEncode(value: string, keepSlash = false): string {
  const encoded = encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return keepSlash ? encoded.replace(/%2F/g, "/") : encoded;
}

export const EMPTY_SHA256 = sha256Hex("");

/**
 * Signs a request in place: sets `x-amz-date`, `x-amz-content-sha256`, the session token if any,
 * and `Authorization`. `url.pathname` must already be URI-encoded as it is sent.
 */
export function signV4(
  request: { method: string; url: URL; headers: Record<string, string>; body?: Uint8Array },
  credentials: AwsCredentials,
  region: string,
  service = "s3",
  now = new Date(),
): void {
  const amzDate = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
  const day = amzDate.slice(0, 8);
  const headers = request.headers;
  headers["x-amz-date"] = amzDate;
  headers["x-amz-content-sha256"] =
    request.body === undefined ? EMPTY_SHA256 : sha256Hex(request.body);
  if (credentials.sessionToken) headers["x-amz-security-token"] = credentials.sessionToken;
  headers.host = request.url.host;

  const signed = Object.keys(headers)
    .map((name) => name.toLowerCase())
    .filter(
      (name) =>
        name === "host" ||
        name.startsWith("x-amz-") ||
        name === "content-md5" ||
        name === "content-type",
    )
    .sort();
  const headerValue = (name: string) => {
    const key = Object.keys(headers).find((k) => k.toLowerCase() === name) as string;
    return String(headers[key]).trim().replace(/\s+/g, " ");
  };
  const query = [...request.url.searchParams]
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const canonical = [
    request.method,
    request.url.pathname,
    query,
    signed.map((name) => `${name}:${headerValue(name)}\n`).join(""),
    signed.join(";"),
    headers["x-amz-content-sha256"],
  ].join("\n");
  const scope = `${day}/${region}/${service}/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256Hex(canonical)].join("\n");
  const key = hmac(
    hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day), region), service),
    "aws4_request",
  );
  const signature = createHmac("sha256", key).update(toSign).digest("hex");
  headers.Authorization =
    `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, ` +
    `SignedHeaders=${signed.join(";")}, Signature=${signature}`;
}
