/**
 * Paging: max_results limits and page tokens.
 *
 * A token is base64 of JSON `{"offset": N, "fp": "…"}`. MLflow's own tokens are
 * `{"offset": N}`; ours add `fp`, a digest of what the token was issued for (runs or experiments,
 * filter, order_by) and of the offset, so a token reused with another query or edited by hand is
 * rejected. A token without `fp` (one an MLflow server issued) is accepted as MLflow accepts it.
 */
import { createHash } from "node:crypto";
import { invalid } from "../errors.ts";

/** MLflow's default page size for search_runs and search_experiments. */
export const DEFAULT_MAX_RESULTS = 1000;
/** MLflow's SEARCH_MAX_RESULTS_THRESHOLD. */
export const MAX_RESULTS_THRESHOLD = 50000;

/** The page size to use, or INVALID_PARAMETER_VALUE with MLflow's messages. */
export function checkMaxResults(maxResults: number | undefined | null): number {
  if (maxResults === undefined || maxResults === null) return DEFAULT_MAX_RESULTS;
  if (!Number.isInteger(maxResults) || maxResults < 1) {
    throw invalid(
      `Invalid value ${maxResults} for parameter 'max_results' supplied. It must be a positive integer`,
    );
  }
  if (maxResults > MAX_RESULTS_THRESHOLD) {
    throw invalid(
      `Invalid value ${maxResults} for parameter 'max_results' supplied. It must be at most ${MAX_RESULTS_THRESHOLD}`,
    );
  }
  return maxResults;
}

/** A metric history page size: a positive integer (MLflow sets no upper bound). */
export function checkHistoryPageSize(maxResults: number): number {
  if (!Number.isSafeInteger(maxResults) || maxResults < 1) {
    throw invalid(
      `Invalid value ${maxResults} for parameter 'max_results' supplied. It must be a positive integer.`,
    );
  }
  return maxResults;
}

/** What a token is bound to: which search, and its filter and order_by. */
export interface QueryIdentity {
  kind:
    | "runs"
    | "experiments"
    | "registered-models"
    | "model-versions"
    | "metric-history"
    | "logged-models";
  filter?: string | undefined;
  orderBy?: readonly string[] | undefined;
}

function fingerprint(query: QueryIdentity, offset: number): string {
  const canonical = JSON.stringify([query.kind, query.filter ?? "", query.orderBy ?? [], offset]);
  return createHash("sha256").update(canonical).digest("base64url").slice(0, 16);
}

export function encodePageToken(offset: number, query: QueryIdentity): string {
  // Python's json.dumps spacing, so the token reads like MLflow's.
  const json = `{"offset": ${offset}, "fp": "${fingerprint(query, offset)}"}`;
  return Buffer.from(json, "utf8").toString("base64");
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The offset a token carries (0 without a token). */
export function decodePageToken(token: string | undefined | null, query: QueryIdentity): number {
  if (!token) return 0;
  if (!BASE64.test(token)) throw invalid("Invalid page token, could not base64-decode");
  const decoded = Buffer.from(token, "base64").toString("utf8");
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoded);
  } catch {
    throw invalid(`Invalid page token, decoded value=${decoded}`);
  }
  const offset =
    typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>).offset
      : undefined;
  if (!offset) throw invalid(`Invalid page token, parsed value=${decoded}`);
  if (typeof offset !== "number" || !Number.isSafeInteger(offset) || offset < 0) {
    throw invalid(`Invalid page token, not stringable ${JSON.stringify(offset)}`);
  }
  const fp = (parsed as Record<string, unknown>).fp;
  if (fp !== undefined && fp !== fingerprint(query, offset)) {
    throw invalid(
      "Invalid page token: it was altered, or issued for another filter or order_by",
      "Start again without a page token.",
    );
  }
  return offset;
}

export interface Page<T> {
  items: T[];
  nextPageToken?: string;
}

/** Slices one page out of the whole sorted result. */
export function paginate<T>(
  items: readonly T[],
  pageToken: string | undefined | null,
  maxResults: number,
  query: QueryIdentity,
): Page<T> {
  return paginateFirst(items.length, pageToken, maxResults, query, (end) => items.slice(0, end));
}

/**
 * One page of a result of `total` items of which `first(end)` gives the first `end` in order:
 * for a caller that need not order them all (search_runs over a big tree).
 */
export function paginateFirst<T>(
  total: number,
  pageToken: string | undefined | null,
  maxResults: number,
  query: QueryIdentity,
  first: (end: number) => readonly T[],
): Page<T> {
  const start = decodePageToken(pageToken, query);
  const end = start + maxResults;
  const page: Page<T> = { items: first(end).slice(start, end) };
  if (end < total) page.nextPageToken = encodePageToken(end, query);
  return page;
}
