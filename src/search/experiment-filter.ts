/** search_experiments filters: raw clauses resolved to experiment clauses (`SearchExperimentsUtils`). */
import {
  EXPERIMENT_ATTRIBUTES,
  EXPERIMENT_NUMERIC_ATTRIBUTES,
  type ExperimentClause,
  type ExperimentNumericAttribute,
  type ExperimentStringAttribute,
  NUMERIC_COMPARATORS,
  type NullComparator,
  type NumericComparator,
  STRING_COMPARATORS,
  type StringComparator,
} from "./grammar.ts";
import { parseRawClauses, pyRepr, type RawClause, syntaxError } from "./parse.ts";
import { listValue, stringValue, tagOrAttribute } from "./values.ts";

function resolveExperimentClause(raw: RawClause, source: string): ExperimentClause {
  const { type, key } = tagOrAttribute(raw.ident, source, EXPERIMENT_ATTRIBUTES);
  const span = raw.span;
  const value = raw.value;
  if (value === undefined) {
    if (type !== "tag") {
      throw syntaxError(
        `IS NULL / IS NOT NULL is only supported for tags, not for attribute '${key}'`,
        source,
        raw.comparatorStart,
      );
    }
    return { type, key, comparator: raw.comparator as NullComparator, span };
  }
  const comparator = raw.comparator;
  if (type === "tag") {
    const text = stringValue(value, source, "a quoted string value for tag (e.g. 'my-value')");
    if (!(STRING_COMPARATORS as readonly string[]).includes(comparator)) {
      throw syntaxError(`Invalid comparator for tag: ${comparator}`, source, raw.comparatorStart);
    }
    return { type, key, comparator: comparator as StringComparator, value: text, span };
  }
  if ((EXPERIMENT_NUMERIC_ATTRIBUTES as readonly string[]).includes(key)) {
    const numericKey = key as ExperimentNumericAttribute;
    if (value.kind !== "number") {
      throw syntaxError(
        `Expected numeric value type for numeric attribute: ${key}. Found ${value.text}`,
        source,
        value.start,
      );
    }
    if (!(NUMERIC_COMPARATORS as readonly string[]).includes(comparator)) {
      throw syntaxError(
        `Invalid comparator for numeric attribute: ${comparator}`,
        source,
        raw.comparatorStart,
      );
    }
    if (!/^-?\d+$/.test(value.text)) {
      // The SQL store takes integers only (the FileStore would compare the float).
      throw syntaxError(
        `Invalid value for numeric attribute '${key}': ${pyRepr(value.text)}`,
        source,
        value.start,
      );
    }
    return {
      type,
      key: numericKey,
      comparator: comparator as NumericComparator,
      value: Number(value.text),
      span,
    };
  }
  const stringKey = key as ExperimentStringAttribute;
  if (value.kind === "list") {
    const list = listValue(value, raw, source, stringKey, ["experiment_id"]);
    return { type, key: "experiment_id", ...list, span };
  }
  const text = stringValue(value, source, "a quoted string value for attributes");
  const allowed: readonly string[] =
    stringKey === "experiment_id" ? ["=", "!="] : STRING_COMPARATORS;
  if (!allowed.includes(comparator)) {
    throw syntaxError(
      stringKey === "experiment_id"
        ? `Invalid comparator for experiment_id: ${comparator}`
        : `Invalid comparator for string attribute: ${comparator}`,
      source,
      raw.comparatorStart,
    );
  }
  return { type, key: stringKey, comparator: comparator as StringComparator, value: text, span };
}

/** Parses a search_experiments filter (name, experiment_id, creation_time, last_update_time, tags). */
export function parseExperimentFilter(filter: string | undefined | null): ExperimentClause[] {
  return parseRawClauses(filter, { quoteInvalid: false }).map((raw) =>
    resolveExperimentClause(raw, filter as string),
  );
}
