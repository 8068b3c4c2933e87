/**
 * search_registered_models and search_model_versions over models and versions already in memory
 * (file and memory stores): MLflow's registry filter grammar (parse.ts), its order_by keys with
 * its tie-breakers, and its page sizes.
 */

import type { ModelVersion, RegisteredModel } from "../entities.ts";
import { invalid } from "../errors.ts";
import { compareNumbers } from "./evaluate.ts";
import { NUMERIC_COMPARATORS, type NumericComparator } from "./grammar.ts";
import { likeMatches } from "./like.ts";
import { compareCodePoints } from "./order.ts";
import { paginate } from "./page.ts";
import { parseRegistryFilter, type RegistryClause } from "./registry-filter.ts";

export interface RegistrySearchRequest {
  filter?: string;
  orderBy?: string[];
  maxResults?: number;
  pageToken?: string;
}

export interface SearchRegisteredModelsResult {
  models: RegisteredModel[];
  nextPageToken?: string;
}

export interface SearchModelVersionsResult {
  versions: ModelVersion[];
  nextPageToken?: string;
}

/** MLflow's page sizes (mlflow/store/model_registry/__init__.py). */
export const REGISTRY_PAGE = {
  models: { default: 100, max: 1000 },
  versions: { default: 10_000, max: 200_000 },
} as const;

const PROMPT_TAG = "mlflow.prompt.is_prompt";

function checkMaxResults(value: number | undefined, limits: { default: number; max: number }) {
  if (value === undefined || value === null) return limits.default;
  if (!Number.isInteger(value) || value < 1 || value > limits.max) {
    throw invalid(
      `Invalid value for max_results: it must be a positive integer at most ${limits.max}, got ${value}`,
    );
  }
  return value;
}

function matches(
  lhs: string | number | undefined | null,
  clause: RegistryClause,
  promptTag = false,
): boolean {
  if (lhs === undefined || lhs === null) {
    // A model without the prompt tag is "not a prompt" (MLflow's special case).
    if (!promptTag || clause.type !== "tag") return false;
    return (
      (clause.comparator === "=" && clause.value === "false") ||
      (clause.comparator === "!=" && clause.value === "true")
    );
  }
  const { comparator, value } = clause;
  if (typeof lhs === "number") {
    const numeric = (NUMERIC_COMPARATORS as readonly string[]).includes(comparator);
    return numeric && compareNumbers(lhs, comparator as NumericComparator, value as number);
  }
  switch (comparator) {
    case "=":
      return lhs === value;
    case "!=":
      return lhs !== value;
    case "LIKE":
      return likeMatches(lhs, value as string, false);
    case "ILIKE":
      return likeMatches(lhs, value as string, true);
    case "IN":
      return (value as string[]).includes(lhs);
    case "NOT IN":
      return !(value as string[]).includes(lhs);
    default:
      return false;
  }
}

const own = (record: Record<string, string>, key: string): string | undefined =>
  Object.hasOwn(record, key) ? record[key] : undefined;

function modelMatches(model: RegisteredModel, clause: RegistryClause): boolean {
  if (clause.type === "tag") {
    return matches(own(model.tags, clause.key), clause, clause.key === PROMPT_TAG);
  }
  return matches(model.name, clause);
}

function versionMatches(version: ModelVersion, clause: RegistryClause): boolean {
  if (clause.type === "tag") return matches(own(version.tags, clause.key), clause);
  switch (clause.key) {
    case "name":
      return matches(version.name, clause);
    case "run_id":
      return matches(version.runId, clause);
    case "source_path":
      return matches(version.source, clause);
    case "version_number":
      return matches(Number(version.version), clause);
    default:
      return false;
  }
}

interface OrderKey {
  key: string;
  ascending: boolean;
}

const ORDER = /^\s*(?:attribute\.)?`?([A-Za-z_]+)`?(?:\s+(ASC|DESC))?\s*$/i;

function parseOrder(orderBy: readonly string[], valid: readonly string[]): OrderKey[] {
  return orderBy.map((clause) => {
    const match = ORDER.exec(clause);
    const key = match?.[1] === "timestamp" ? "creation_timestamp" : match?.[1];
    if (match === null || key === undefined) {
      throw invalid(`Invalid order_by clause '${clause}'. Could not be parsed.`);
    }
    if (!valid.includes(key)) {
      throw invalid(
        `Invalid order by key '${key}' specified. Valid keys are ${valid.map((k) => `'${k}'`).join(", ")}`,
      );
    }
    return { key, ascending: (match[2] ?? "ASC").toUpperCase() === "ASC" };
  });
}

type Sortable = {
  name: string;
  creationTimestamp: number | null;
  lastUpdatedTimestamp: number | null;
  version?: string;
};

function sortValue(item: Sortable, key: string): string | number | null {
  if (key === "name") return item.name;
  if (key === "version_number") return Number(item.version);
  if (key === "creation_timestamp") return item.creationTimestamp;
  return item.lastUpdatedTimestamp;
}

function comparator(order: readonly OrderKey[]) {
  return (a: Sortable, b: Sortable): number => {
    for (const { key, ascending } of order) {
      const x = sortValue(a, key);
      const y = sortValue(b, key);
      let c = 0;
      if (x === null || y === null) c = x === y ? 0 : x === null ? 1 : -1;
      else if (typeof x === "number" && typeof y === "number") c = x - y;
      else c = compareCodePoints(String(x), String(y));
      if (c !== 0) return ascending || x === null || y === null ? c : -c;
    }
    return 0;
  };
}

/** Filters, orders (by name by default) and pages registered models. */
export function searchRegisteredModels(
  models: readonly RegisteredModel[],
  request: RegistrySearchRequest = {},
): SearchRegisteredModelsResult {
  const maxResults = checkMaxResults(request.maxResults, REGISTRY_PAGE.models);
  const clauses = parseRegistryFilter(request.filter, "models");
  const order = parseOrder(request.orderBy ?? [], [
    "name",
    "creation_timestamp",
    "last_updated_timestamp",
  ]);
  if (!order.some((o) => o.key === "name")) order.push({ key: "name", ascending: true });
  const mentionsPrompt = clauses.some((c) => c.type === "tag" && c.key === PROMPT_TAG);
  const found = models
    .filter((m) => mentionsPrompt || own(m.tags, PROMPT_TAG) !== "true")
    .filter((m) => clauses.every((c) => modelMatches(m, c)))
    .sort(comparator(order));
  const page = paginate(found, request.pageToken, maxResults, {
    kind: "registered-models",
    filter: request.filter,
    orderBy: request.orderBy,
  });
  const { items, ...token } = page;
  return { models: items, ...token };
}

/** Filters, orders (last change first by default) and pages model versions. */
export function searchModelVersions(
  versions: readonly ModelVersion[],
  request: RegistrySearchRequest = {},
): SearchModelVersionsResult {
  const maxResults = checkMaxResults(request.maxResults, REGISTRY_PAGE.versions);
  const clauses = parseRegistryFilter(request.filter, "versions");
  const given = request.orderBy ?? [];
  const order = parseOrder(given.length > 0 ? given : ["last_updated_timestamp DESC"], [
    "name",
    "version_number",
    "creation_timestamp",
    "last_updated_timestamp",
  ]);
  if (!order.some((o) => o.key === "name")) order.push({ key: "name", ascending: true });
  if (!order.some((o) => o.key === "version_number")) {
    order.push({ key: "version_number", ascending: false });
  }
  const found = versions
    .filter((v) => clauses.every((c) => versionMatches(v, c)))
    .sort(comparator(order));
  const page = paginate(found, request.pageToken, maxResults, {
    kind: "model-versions",
    filter: request.filter,
    orderBy: request.orderBy,
  });
  const { items, ...token } = page;
  return { versions: items, ...token };
}
