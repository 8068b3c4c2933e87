/**
 * search_registered_models and search_model_versions filters (`SearchModelUtils`,
 * `SearchModelVersionUtils`): raw clauses resolved to registry clauses.
 */
import {
  type ListComparator,
  NUMERIC_COMPARATORS,
  type NumericComparator,
  type Span,
  STRING_ATTRIBUTE_COMPARATORS,
  STRING_COMPARATORS,
  type StringComparator,
} from "./grammar.ts";
import { parseRawClauses, type RawClause, syntaxError } from "./parse.ts";
import { checkComparator, listValue, numberValue, stringValue, tagOrAttribute } from "./values.ts";

export type RegistryClause =
  | { type: "attribute"; key: string; comparator: StringComparator; value: string; span: Span }
  | { type: "attribute"; key: string; comparator: ListComparator; value: string[]; span: Span }
  | {
      type: "attribute";
      key: "version_number";
      comparator: NumericComparator;
      value: number;
      span: Span;
    }
  | { type: "tag"; key: string; comparator: StringComparator; value: string; span: Span };

const REGISTRY_SEARCH = {
  models: { attributes: ["name"], lists: ["name"], numeric: [] as string[] },
  versions: {
    attributes: ["name", "version_number", "run_id", "source_path"],
    lists: ["name", "run_id"],
    numeric: ["version_number"],
  },
} as const;

function resolveRegistryClause(
  raw: RawClause,
  source: string,
  kind: "models" | "versions",
): RegistryClause {
  const rules = REGISTRY_SEARCH[kind];
  const { type, key } = tagOrAttribute(raw.ident, source, rules.attributes);
  const span = raw.span;
  const value = raw.value;
  const comparator = raw.comparator;
  if (value === undefined) {
    throw syntaxError(
      `Invalid comparator '${comparator}' for ${type} '${key}'`,
      source,
      raw.comparatorStart,
    );
  }
  if (type === "tag") {
    const text = stringValue(value, source, "a quoted string value for tag (e.g. 'my-value')");
    checkComparator(comparator, STRING_COMPARATORS, raw, source);
    return { type, key, comparator: comparator as StringComparator, value: text, span };
  }
  if ((rules.numeric as readonly string[]).includes(key)) {
    const number = numberValue(value);
    if (number === undefined || !Number.isInteger(number)) {
      throw syntaxError(
        `Expected an integer value for attribute '${key}'. Got value ${value.text}`,
        source,
        value.start,
      );
    }
    checkComparator(comparator, NUMERIC_COMPARATORS, raw, source);
    return {
      type,
      key: "version_number",
      comparator: comparator as NumericComparator,
      value: number,
      span,
    };
  }
  if (value.kind === "list")
    return { type, key, ...listValue(value, raw, source, key, rules.lists), span };
  const text = stringValue(
    value,
    source,
    "a quoted string value or a list of quoted string values for attributes",
  );
  checkComparator(comparator, STRING_ATTRIBUTE_COMPARATORS, raw, source);
  if (comparator === "IN" || comparator === "NOT IN") {
    throw syntaxError(
      `Comparator '${comparator}' needs a list of quoted strings, e.g. ('a', 'b')`,
      source,
      value.start,
    );
  }
  return {
    type,
    key,
    comparator: comparator as StringComparator,
    value: text,
    span,
  };
}

/**
 * Parses a registry search filter: for `models`, `name` and `tags.<key>`; for `versions`, also
 * `version_number`, `run_id` and `source_path`.
 * @example parseRegistryFilter("name LIKE 'iris%' AND tags.team = 'cv'", "models")
 */
export function parseRegistryFilter(
  filter: string | undefined | null,
  kind: "models" | "versions",
): RegistryClause[] {
  return parseRawClauses(filter, { quoteInvalid: false }).map((raw) =>
    resolveRegistryClause(raw, filter as string, kind),
  );
}
