/**
 * The HTTP edge of the server: request bodies read with a cap, JSON answers, and errors in
 * MLflow's shape (`{"error_code", "message"}` with the HTTP status MLflow gives that code).
 * Errors that are not MlflowErrors become INTERNAL_ERROR without their details (those go to the
 * server's log), so a crash never leaks paths or stacks to a client.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { type ErrorCode, invalid, isMlflowError, MlflowError } from "../errors.ts";

/** Our own version, in every answer (MLflow's version is what `/version` answers). */
export const SERVER_HEADER = "mlruns";

export class HttpError extends MlflowError {
  readonly status: number;
  /** Headers the answer carries (e.g. `WWW-Authenticate` on a 401). */
  readonly headers: Record<string, string>;
  constructor(
    status: number,
    code: ErrorCode,
    message: string,
    hint?: string,
    headers: Record<string, string> = {},
  ) {
    super(code, message, hint === undefined ? {} : { hint });
    this.status = status;
    this.headers = headers;
  }
}

/** The whole body, refused past `limit` bytes (413) before it is all in memory. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? Number.NaN);
  if (declared > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

const tooLarge = (limit: number) =>
  new HttpError(
    413,
    "INVALID_PARAMETER_VALUE",
    `The request body exceeds ${limit} bytes, the most this endpoint takes`,
    "Send less per request (e.g. split a batch).",
  );

/** A JSON body as MLflow reads one: empty means `{}`, a JSON string is decoded once more. */
export function parseJsonBody(body: Buffer): unknown {
  if (body.byteLength === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(body.toString("utf8"));
    if (typeof value === "string") value = JSON.parse(value);
  } catch (error) {
    throw invalid(`Malformed JSON in the request body: ${(error as Error).message}`);
  }
  return value ?? {};
}

/** MLflow requires `Content-Type: application/json` on POST (a browser form cannot send it). */
export function checkJsonContentType(req: IncomingMessage): void {
  if (req.method !== "POST") return;
  const type = req.headers["content-type"];
  if (type === undefined) throw invalid("Bad Request. Content-Type header is missing.");
  if (type.split(";")[0]?.trim().toLowerCase() !== "application/json") {
    throw invalid("Bad Request. Content-Type must be one of ['application/json'].");
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(text),
  });
  res.end(text);
}

export function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    "Content-Type": "text/plain; charset=utf-8",
    "Content-Length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** The status and body for an error; the second value says whether it is worth logging. */
export function errorReply(error: unknown): {
  status: number;
  body: { error_code: string; message: string };
  unexpected: boolean;
} {
  if (error instanceof HttpError) {
    return { status: error.status, body: errorBody(error), unexpected: false };
  }
  if (isMlflowError(error)) {
    const unexpected = error.httpStatus >= 500;
    return { status: error.httpStatus, body: errorBody(error), unexpected };
  }
  return {
    status: 500,
    body: {
      error_code: "INTERNAL_ERROR",
      message: "The server failed to handle the request; its log says why",
    },
    unexpected: true,
  };
}

function errorBody(error: MlflowError): { error_code: string; message: string } {
  const hint = error.hint === undefined ? "" : ` (hint: ${error.hint})`;
  return { error_code: error.code, message: `${error.message}${hint}` };
}
