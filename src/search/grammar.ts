/**
 * MLflow's filter grammar as data: the comparators, the entities and attributes a clause may
 * name (with their spellings), and the clauses a filter parses into, for runs and experiments.
 */
export const COMPARATORS = [
  "=",
  "!=",
  ">",
  ">=",
  "<",
  "<=",
  "LIKE",
  "ILIKE",
  "IN",
  "NOT IN",
  "IS NULL",
  "IS NOT NULL",
] as const;
export type Comparator = (typeof COMPARATORS)[number];
export const isComparator = (value: string): value is Comparator =>
  (COMPARATORS as readonly string[]).includes(value);

export const NUMERIC_COMPARATORS = [">", ">=", "!=", "=", "<", "<="] as const;
export type NumericComparator = (typeof NUMERIC_COMPARATORS)[number];
export const STRING_COMPARATORS = ["!=", "=", "LIKE", "ILIKE"] as const;
export type StringComparator = (typeof STRING_COMPARATORS)[number];
export type ListComparator = "IN" | "NOT IN";
export type NullComparator = "IS NULL" | "IS NOT NULL";

export const KEYED_COMPARATORS = [...STRING_COMPARATORS, "IS NULL", "IS NOT NULL"] as const;
export const STRING_ATTRIBUTE_COMPARATORS = [...STRING_COMPARATORS, "IN", "NOT IN"] as const;

export const ENTITY_TYPES = ["metric", "parameter", "tag", "attribute", "dataset"] as const;
export type EntityType = (typeof ENTITY_TYPES)[number];

export const ENTITY_ALIASES: Record<string, EntityType> = {
  metric: "metric",
  metrics: "metric",
  parameter: "parameter",
  parameters: "parameter",
  param: "parameter",
  params: "parameter",
  tag: "tag",
  tags: "tag",
  attribute: "attribute",
  attributes: "attribute",
  attr: "attribute",
  run: "attribute",
  dataset: "dataset",
  datasets: "dataset",
};

export const RUN_STRING_ATTRIBUTES = [
  "run_id",
  "run_name",
  "user_id",
  "status",
  "artifact_uri",
] as const;
export type RunStringAttribute = (typeof RUN_STRING_ATTRIBUTES)[number];
export const RUN_NUMERIC_ATTRIBUTES = ["start_time", "end_time"] as const;
export type RunNumericAttribute = (typeof RUN_NUMERIC_ATTRIBUTES)[number];
export type RunAttribute = RunStringAttribute | RunNumericAttribute;

/** order_by's spellings of the attributes: the `created` aliases, not the `Run name` ones (as MLflow). */
export const RUN_ORDER_BY_ATTRIBUTES: Record<string, RunAttribute> = {
  ...Object.fromEntries(
    [...RUN_STRING_ATTRIBUTES, ...RUN_NUMERIC_ATTRIBUTES].map((name) => [name, name]),
  ),
  created: "start_time",
  Created: "start_time",
};
/** Spellings accepted in filters, and what they mean. */
export const RUN_ATTRIBUTE_ALIASES: Record<string, RunAttribute> = {
  ...RUN_ORDER_BY_ATTRIBUTES,
  "run name": "run_name",
  "Run name": "run_name",
  "Run Name": "run_name",
};

export const DATASET_KEYS = ["name", "digest", "context"] as const;
export type DatasetKey = (typeof DATASET_KEYS)[number];

/** Where a clause came from in the filter string (UTF-16 offsets), for messages. */
export interface Span {
  start: number;
  end: number;
}

export type Clause =
  | { type: "metric"; key: string; comparator: NumericComparator; value: number; span: Span }
  | {
      type: "parameter" | "tag";
      key: string;
      comparator: StringComparator;
      value: string;
      span: Span;
    }
  | { type: "parameter" | "tag"; key: string; comparator: NullComparator; span: Span }
  | {
      type: "attribute";
      key: RunNumericAttribute;
      comparator: NumericComparator;
      value: number;
      span: Span;
    }
  | {
      type: "attribute";
      key: RunStringAttribute;
      comparator: StringComparator;
      value: string;
      span: Span;
    }
  | { type: "attribute"; key: "run_id"; comparator: ListComparator; value: string[]; span: Span }
  | { type: "dataset"; key: DatasetKey; comparator: StringComparator; value: string; span: Span }
  | { type: "dataset"; key: DatasetKey; comparator: ListComparator; value: string[]; span: Span };

export const EXPERIMENT_STRING_ATTRIBUTES = ["name", "experiment_id"] as const;
export type ExperimentStringAttribute = (typeof EXPERIMENT_STRING_ATTRIBUTES)[number];
export const EXPERIMENT_NUMERIC_ATTRIBUTES = ["creation_time", "last_update_time"] as const;
export type ExperimentNumericAttribute = (typeof EXPERIMENT_NUMERIC_ATTRIBUTES)[number];
export type ExperimentAttribute = ExperimentStringAttribute | ExperimentNumericAttribute;
export const EXPERIMENT_ATTRIBUTES = [
  ...EXPERIMENT_STRING_ATTRIBUTES,
  ...EXPERIMENT_NUMERIC_ATTRIBUTES,
] as const;

export type ExperimentClause =
  | {
      type: "attribute";
      key: ExperimentStringAttribute;
      comparator: StringComparator;
      value: string;
      span: Span;
    }
  | {
      type: "attribute";
      key: "experiment_id";
      comparator: ListComparator;
      value: string[];
      span: Span;
    }
  | {
      type: "attribute";
      key: ExperimentNumericAttribute;
      comparator: NumericComparator;
      value: number;
      span: Span;
    }
  | { type: "tag"; key: string; comparator: StringComparator; value: string; span: Span }
  | { type: "tag"; key: string; comparator: NullComparator; span: Span };
