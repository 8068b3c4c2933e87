/**
 * search_logged_models (MLflow's `SearchLoggedModelsUtils`) over models already in memory: the
 * runs filter grammar on the attributes `name`, `model_id`, `model_type`, `status`,
 * `source_run_id` and the times, and on `metrics.`, `params.` and `tags.`; order by attributes
 * or `metrics.<key>` (optionally on a dataset), then newest first, then by id; pages of 100.
 */

import type { LoggedModelRecord } from "../entities.ts";
import { invalid } from "../errors.ts";
import { compareNumbers } from "./evaluate.ts";
import {
  NUMERIC_COMPARATORS,
  type NumericComparator,
  STRING_COMPARATORS,
  type StringComparator,
} from "./grammar.ts";
import { likeMatches } from "./like.ts";
import { paginate } from "./page.ts";
import { parseRawClauses, type RawClause, syntaxError } from "./parse.ts";
import { checkComparator, numberValue, splitIdentifier, stringValue } from "./values.ts";

/** One order_by element of `search_logged_models`. */
export interface LoggedModelOrder {
  /** An attribute (`name`, `creation_timestamp`, …) or `metrics.<key>`. */
  fieldName: string;
  ascending?: boolean;
  datasetName?: string;
  datasetDigest?: string;
}

export interface SearchLoggedModelsRequest {
  experimentIds: string[];
  /** MLflow's filter grammar on attributes, `metrics.`, `params.` and `tags.`. */
  filter?: string;
  /** Only metrics on these datasets count for metric clauses (and a model needs one). */
  datasets?: { datasetName: string; datasetDigest?: string }[];
  orderBy?: LoggedModelOrder[];
  /** 100 by default. */
  maxResults?: number;
  pageToken?: string;
}

export interface SearchLoggedModelsResult {
  models: LoggedModelRecord[];
  nextPageToken?: string;
}

const STRING_ATTRIBUTES = {
  name: "name",
  model_id: "modelId",
  model_type: "modelType",
  status: "status",
  source_run_id: "sourceRunId",
} as const;
const NUMERIC_ATTRIBUTES = {
  creation_timestamp: "creationTimestamp",
  creation_time: "creationTimestamp",
  last_updated_timestamp: "lastUpdatedTimestamp",
  last_updated_time: "lastUpdatedTimestamp",
} as const;
const ENTITIES: Record<string, "metric" | "param" | "tag" | "attribute"> = {
  metric: "metric",
  metrics: "metric",
  param: "param",
  params: "param",
  parameter: "param",
  parameters: "param",
  tag: "tag",
  tags: "tag",
  attribute: "attribute",
  attributes: "attribute",
  attr: "attribute",
};

type Clause =
  | { type: "metric"; key: string; comparator: NumericComparator; value: number }
  | { type: "numeric"; key: keyof LoggedModelRecord; comparator: NumericComparator; value: number }
  | {
      type: "param" | "tag" | "attribute";
      key: string;
      comparator: StringComparator;
      value: string;
    };

function resolve(raw: RawClause, source: string): Clause {
  const { entity, key } = splitIdentifier(raw.ident.text);
  const type = entity === undefined ? "attribute" : ENTITIES[entity];
  if (type === undefined) {
    throw syntaxError(
      `Invalid entity type '${entity}'. Valid values are ['metric', 'parameter', 'tag', 'attribute']`,
      source,
      raw.ident.start,
    );
  }
  const value = raw.value;
  if (value === undefined) {
    throw syntaxError(
      `Invalid comparator '${raw.comparator}' for '${key}'`,
      source,
      raw.comparatorStart,
    );
  }
  const numeric = type === "metric" || (type === "attribute" && key in NUMERIC_ATTRIBUTES);
  if (numeric) {
    const number = numberValue(value);
    if (number === undefined) {
      throw syntaxError(
        `Expected numeric value type for ${key}. Found ${value.text}`,
        source,
        value.start,
      );
    }
    checkComparator(raw.comparator, NUMERIC_COMPARATORS, raw, source);
    const comparator = raw.comparator as NumericComparator;
    if (type === "metric") return { type, key, comparator, value: number };
    const field = NUMERIC_ATTRIBUTES[key as keyof typeof NUMERIC_ATTRIBUTES];
    return { type: "numeric", key: field, comparator, value: number };
  }
  if (type === "attribute" && !(key in STRING_ATTRIBUTES)) {
    throw invalid(`Invalid logged model search key '${key}'`);
  }
  const text = stringValue(value, source, "a quoted string value");
  checkComparator(raw.comparator, STRING_COMPARATORS, raw, source);
  return { type, key, comparator: raw.comparator as StringComparator, value: text };
}

type Datasets = SearchLoggedModelsRequest["datasets"];

const onDataset = (
  metric: LoggedModelRecord["metrics"][number],
  dataset: { datasetName: string; datasetDigest?: string | undefined },
) =>
  metric.datasetName === dataset.datasetName &&
  (dataset.datasetDigest === undefined || metric.datasetDigest === dataset.datasetDigest);

function metricsOf(model: LoggedModelRecord, key: string, datasets: Datasets) {
  return model.metrics.filter(
    (m) => m.key === key && (!datasets?.length || datasets.some((d) => onDataset(m, d))),
  );
}

function matches(model: LoggedModelRecord, clause: Clause, datasets: Datasets): boolean {
  if (clause.type === "metric") {
    const found = metricsOf(model, clause.key, datasets)[0];
    return found !== undefined && compareNumbers(found.value, clause.comparator, clause.value);
  }
  if (clause.type === "numeric") {
    return compareNumbers(model[clause.key] as number, clause.comparator, clause.value);
  }
  const lhs =
    clause.type === "param"
      ? model.params[clause.key]
      : clause.type === "tag"
        ? model.tags[clause.key]
        : (model[STRING_ATTRIBUTES[clause.key as keyof typeof STRING_ATTRIBUTES]] as string | null);
  if (lhs === undefined || lhs === null) return false;
  switch (clause.comparator) {
    case "=":
      return lhs === clause.value;
    case "!=":
      return lhs !== clause.value;
    case "LIKE":
      return likeMatches(lhs, clause.value, false);
    case "ILIKE":
      return likeMatches(lhs, clause.value, true);
  }
}

function sortKey(
  model: LoggedModelRecord,
  order: Required<Pick<LoggedModelOrder, "fieldName">> & LoggedModelOrder,
) {
  if (order.fieldName.startsWith("metrics.")) {
    const key = order.fieldName.slice("metrics.".length);
    const latest = model.metrics
      .filter(
        (m) =>
          m.key === key &&
          (!order.datasetName || m.datasetName === order.datasetName) &&
          (!order.datasetDigest || m.datasetDigest === order.datasetDigest),
      )
      .sort((a, b) => b.timestamp - a.timestamp)[0];
    return latest?.value ?? null;
  }
  const field =
    STRING_ATTRIBUTES[order.fieldName as keyof typeof STRING_ATTRIBUTES] ??
    NUMERIC_ATTRIBUTES[order.fieldName as keyof typeof NUMERIC_ATTRIBUTES];
  return model[field] as string | number | null;
}

function checkOrder(order: LoggedModelOrder): LoggedModelOrder {
  const name = order.fieldName.trim();
  if (name.includes(".")) {
    if (!name.startsWith("metrics.")) {
      throw invalid(
        `Invalid order by field name: ${name.split(".")[0]}, only \`metrics.<name>\` is allowed.`,
      );
    }
  } else if (!(name in STRING_ATTRIBUTES) && !(name in NUMERIC_ATTRIBUTES)) {
    throw invalid(`Invalid order by field name: ${name}.`);
  }
  if (order.datasetDigest && !order.datasetName) {
    throw invalid("`dataset_digest` can only be specified if `dataset_name` is also specified.");
  }
  return { ...order, fieldName: name === "creation_time" ? "creation_timestamp" : name };
}

/** Missing values sort last in either direction, as MLflow's sort keys put them. */
function compare(a: string | number | null, b: string | number | null, ascending: boolean) {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  const order = a < b ? -1 : 1;
  return ascending ? order : -order;
}

export function searchLoggedModels(
  models: readonly LoggedModelRecord[],
  request: SearchLoggedModelsRequest,
): SearchLoggedModelsResult {
  const maxResults = request.maxResults ?? 100;
  if (!Number.isInteger(maxResults) || maxResults < 1) {
    throw invalid(`Invalid value ${maxResults} for parameter 'max_results' supplied.`);
  }
  if (request.datasets?.some((d) => !d.datasetName)) {
    throw invalid("`dataset_name` in the `datasets` clause must be specified.");
  }
  const clauses = parseRawClauses(request.filter).map((raw) => resolve(raw, request.filter ?? ""));
  const { datasets } = request;
  let found = models.filter((m) => clauses.every((c) => matches(m, c, datasets)));
  if (datasets?.length && !clauses.some((c) => c.type === "metric")) {
    found = found.filter((m) =>
      m.metrics.some((metric) => datasets.some((d) => onDataset(metric, d))),
    );
  }
  const orders = (request.orderBy ?? []).map(checkOrder);
  if (!orders.some((o) => o.fieldName === "creation_timestamp")) {
    orders.push({ fieldName: "creation_timestamp", ascending: false });
  }
  if (!orders.some((o) => o.fieldName === "model_id")) orders.push({ fieldName: "model_id" });
  const sorted = [...found].sort((a, b) => {
    for (const order of orders) {
      const c = compare(sortKey(a, order), sortKey(b, order), order.ascending ?? true);
      if (c !== 0) return c;
    }
    return 0;
  });
  const page = paginate(sorted, request.pageToken, maxResults, {
    kind: "logged-models",
    filter: `${request.experimentIds.join(",")}|${request.filter ?? ""}`,
    orderBy: orders.map((o) => `${o.fieldName} ${o.ascending ?? true}`),
  });
  return {
    models: page.items,
    ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
  };
}
