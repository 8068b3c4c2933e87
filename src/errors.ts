import { redactCredentials } from "./redact.ts";

/** MLflow's error codes, the same whichever store raised them (file, memory or server). */
export const ERROR_CODES = [
  "INVALID_PARAMETER_VALUE",
  "RESOURCE_DOES_NOT_EXIST",
  "RESOURCE_ALREADY_EXISTS",
  "INVALID_STATE",
  "BAD_REQUEST",
  "PERMISSION_DENIED",
  "UNAUTHENTICATED",
  "ENDPOINT_NOT_FOUND",
  "REQUEST_LIMIT_EXCEEDED",
  "TEMPORARILY_UNAVAILABLE",
  "INTERNAL_ERROR",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

const HTTP_STATUS: Record<ErrorCode, number> = {
  INVALID_PARAMETER_VALUE: 400,
  RESOURCE_DOES_NOT_EXIST: 404,
  RESOURCE_ALREADY_EXISTS: 400,
  INVALID_STATE: 500,
  BAD_REQUEST: 400,
  PERMISSION_DENIED: 403,
  UNAUTHENTICATED: 401,
  ENDPOINT_NOT_FOUND: 404,
  REQUEST_LIMIT_EXCEEDED: 429,
  TEMPORARILY_UNAVAILABLE: 503,
  INTERNAL_ERROR: 500,
};

/** The one error class of mlruns: an MLflow error code, a message, and an optional hint. */
export class MlflowError extends Error {
  override readonly name = "MlflowError";
  readonly code: ErrorCode;
  /** What the user can do about it, printed after the message by the CLI. */
  readonly hint: string | undefined;

  /** Credentials in URLs are removed from the message and the hint, whoever wrote them. */
  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(redactCredentials(message), { cause: options.cause });
    this.code = code;
    this.hint = options.hint === undefined ? undefined : redactCredentials(options.hint);
  }

  /** The HTTP status MLflow's server answers with for this code. */
  get httpStatus(): number {
    return HTTP_STATUS[this.code];
  }
}

/** True for an MlflowError, also across module copies where `instanceof` fails. */
export function isMlflowError(error: unknown, code?: ErrorCode): error is MlflowError {
  return (
    error instanceof Error &&
    error.name === "MlflowError" &&
    (code === undefined || (error as MlflowError).code === code)
  );
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && (ERROR_CODES as readonly string[]).includes(value);
}

export const invalid = (message: string, hint?: string): MlflowError =>
  new MlflowError("INVALID_PARAMETER_VALUE", message, hint === undefined ? {} : { hint });

export const notFound = (message: string, hint?: string): MlflowError =>
  new MlflowError("RESOURCE_DOES_NOT_EXIST", message, hint === undefined ? {} : { hint });
