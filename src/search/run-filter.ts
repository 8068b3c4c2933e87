/** search_runs filters: raw clauses resolved to run clauses (`SearchUtils.parse_search_filter`). */
import {
  type Clause,
  DATASET_KEYS,
  type DatasetKey,
  ENTITY_ALIASES,
  type EntityType,
  KEYED_COMPARATORS,
  NUMERIC_COMPARATORS,
  type NullComparator,
  type NumericComparator,
  RUN_ATTRIBUTE_ALIASES,
  RUN_NUMERIC_ATTRIBUTES,
  type RunAttribute,
  type RunNumericAttribute,
  type RunStringAttribute,
  STRING_ATTRIBUTE_COMPARATORS,
  type StringComparator,
} from "./grammar.ts";
import { parseRawClauses, type RawClause, type RawIdentifier, syntaxError } from "./parse.ts";
import {
  checkAttributeKey,
  checkComparator,
  listValue,
  numberValue,
  pySet,
  splitIdentifier,
  stringValue,
} from "./values.ts";

function resolveRunIdentifier(
  ident: RawIdentifier,
  source: string,
  attributes: Record<string, RunAttribute>,
): { type: EntityType; key: string } {
  const { entity, key, keyAt } = splitIdentifier(ident.text);
  let type: EntityType = "attribute";
  if (entity !== undefined) {
    const resolved = ENTITY_ALIASES[entity];
    if (resolved === undefined) {
      throw syntaxError(
        `Invalid entity type '${entity}'. Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']`,
        source,
        ident.start,
      );
    }
    type = resolved;
  }
  if (type === "attribute") {
    checkAttributeKey(key, Object.keys(attributes), source, ident.start + keyAt);
    return { type, key: attributes[key] as RunAttribute };
  }
  if (type === "dataset" && !(DATASET_KEYS as readonly string[]).includes(key)) {
    throw syntaxError(
      `Invalid dataset key '${key}' specified. Valid keys are '${pySet(DATASET_KEYS)}'`,
      source,
      ident.start + keyAt,
    );
  }
  return { type, key };
}

function resolveRunClause(raw: RawClause, source: string): Clause {
  const { type, key } = resolveRunIdentifier(raw.ident, source, RUN_ATTRIBUTE_ALIASES);
  const span = raw.span;
  const value = raw.value;
  if (value === undefined) {
    if (type !== "parameter" && type !== "tag") {
      const shownKey = splitIdentifier(raw.ident.text).key;
      throw syntaxError(
        `IS NULL / IS NOT NULL is only supported for tags and params, not for '${type}' '${shownKey}'`,
        source,
        raw.comparatorStart,
      );
    }
    return { type, key, comparator: raw.comparator as NullComparator, span };
  }
  const comparator = raw.comparator;

  if (type === "metric") {
    const n = numberValue(value);
    if (n === undefined) {
      throw syntaxError(
        `Expected numeric value type for metric. Found ${value.text}`,
        source,
        value.start,
      );
    }
    checkComparator(comparator, NUMERIC_COMPARATORS, raw, source);
    return { type, key, comparator: comparator as NumericComparator, value: n, span };
  }

  if (type === "parameter" || type === "tag") {
    const text = stringValue(value, source, `a quoted string value for ${type} (e.g. 'my-value')`);
    checkComparator(comparator, KEYED_COMPARATORS, raw, source);
    return { type, key, comparator: comparator as StringComparator, value: text, span };
  }

  if (type === "attribute") {
    if ((RUN_NUMERIC_ATTRIBUTES as readonly string[]).includes(key)) {
      const n = numberValue(value);
      if (n === undefined) {
        const shownKey = splitIdentifier(raw.ident.text).key;
        throw syntaxError(
          `Expected numeric value type for numeric attribute: ${shownKey}. Found ${value.text}`,
          source,
          value.start,
        );
      }
      checkComparator(comparator, NUMERIC_COMPARATORS, raw, source, STRING_ATTRIBUTE_COMPARATORS);
      return {
        type,
        key: key as RunNumericAttribute,
        comparator: comparator as NumericComparator,
        value: n,
        span,
      };
    }
    if (value.kind === "list") {
      const list = listValue(value, raw, source, key, ["run_id"]);
      checkComparator(comparator, STRING_ATTRIBUTE_COMPARATORS, raw, source);
      return { type, key: "run_id", ...list, span };
    }
    const text = stringValue(value, source, "a quoted string value for attributes");
    checkComparator(comparator, STRING_ATTRIBUTE_COMPARATORS, raw, source);
    return {
      type,
      key: key as RunStringAttribute,
      comparator: comparator as StringComparator,
      value: text,
      span,
    };
  }

  // dataset
  const datasetKey = key as DatasetKey;
  if (value.kind === "list") {
    const list = listValue(value, raw, source, datasetKey);
    checkComparator(comparator, STRING_ATTRIBUTE_COMPARATORS, raw, source);
    return { type, key: datasetKey, ...list, span };
  }
  const text = stringValue(value, source, "a quoted string value for dataset attributes");
  checkComparator(comparator, STRING_ATTRIBUTE_COMPARATORS, raw, source);
  return { type, key: datasetKey, comparator: comparator as StringComparator, value: text, span };
}

/**
 * Parses a search_runs filter. An empty filter gives no clauses (every run matches).
 * @example parseFilter("metrics.acc > 0.9 AND tags.team = 'cv'")
 */
export function parseFilter(filter: string | undefined | null): Clause[] {
  return parseRawClauses(filter).map((raw) => resolveRunClause(raw, filter as string));
}
