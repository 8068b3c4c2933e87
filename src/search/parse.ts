/**
 * Filter strings → clause lists, with MLflow's grammar (`SearchUtils.parse_search_filter` for runs,
 * `SearchExperimentsUtils` for experiments). Parsing never looks at a run. Every error is an
 * INVALID_PARAMETER_VALUE whose message is MLflow's, followed by the filter and a caret line.
 *
 * Checks MLflow's SQL store makes while building its query (comparator per kind) happen here too,
 * so a bad comparator fails whether or not any run exists (MLflow's FileStore only notices it when
 * it evaluates a run).
 */
import { invalid, type MlflowError } from "../errors.ts";
import { isKeyword, type Token, tokenize } from "./lex.ts";

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

const KEYED_COMPARATORS = [...STRING_COMPARATORS, "IS NULL", "IS NOT NULL"] as const;
const STRING_ATTRIBUTE_COMPARATORS = [...STRING_COMPARATORS, "IN", "NOT IN"] as const;

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

/** Spellings accepted in filters, and what they mean. */
const RUN_ATTRIBUTE_ALIASES: Record<string, RunAttribute> = {
  run_id: "run_id",
  run_name: "run_name",
  user_id: "user_id",
  status: "status",
  artifact_uri: "artifact_uri",
  start_time: "start_time",
  end_time: "end_time",
  created: "start_time",
  Created: "start_time",
  "run name": "run_name",
  "Run name": "run_name",
  "Run Name": "run_name",
};
/** order_by accepts the `created` aliases but not the `Run name` ones (as MLflow). */
export const RUN_ORDER_BY_ATTRIBUTES: Record<string, RunAttribute> = {
  run_id: "run_id",
  run_name: "run_name",
  user_id: "user_id",
  status: "status",
  artifact_uri: "artifact_uri",
  start_time: "start_time",
  end_time: "end_time",
  created: "start_time",
  Created: "start_time",
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

// ---------------------------------------------------------------------------------------------
// Errors

/**
 * An INVALID_PARAMETER_VALUE whose message is `meaning`, then the source on its own line, then a
 * caret under offset `at`. Tabs and newlines in the source are shown as spaces so the caret lines up.
 */
export function syntaxError(meaning: string, source: string, at: number): MlflowError {
  const shown = source.replace(/[\t\n\r\v\f]/g, " ");
  const column = Array.from(source.slice(0, Math.max(0, Math.min(at, source.length)))).length;
  return invalid(`${meaning}\n${shown}\n${" ".repeat(column)}^`, syntaxHint(meaning, source, at));
}

/** What to do about a syntax error, from what stands at the caret (what SQL habits suggest). */
function syntaxHint(meaning: string, source: string, at: number): string {
  const rest = source.slice(at);
  const word = (/^[^\s()'"`]+/.exec(rest)?.[0] ?? "").toUpperCase();
  if (word === "OR" || word === "||") {
    return "MLflow filters have no OR, only AND: for one of several values use IN ('a', 'b') (run ids, datasets), else run one search per alternative";
  }
  if (word === "NOT") {
    return "A clause cannot start with NOT: use !=, NOT IN (...) or IS NULL inside it";
  }
  if (rest.startsWith("(")) return "MLflow filters have no parentheses: join clauses with AND";
  if (rest.startsWith("==")) return "Compare with a single =";
  if (/not quoted/.test(meaning)) {
    return "Quote strings: params.model = 'rf' (params and tags are strings, metrics numbers)";
  }
  if (/order_by/.test(meaning)) return "Order by e.g. metrics.acc DESC or attributes.start_time";
  return "A filter is clauses joined with AND, e.g. metrics.acc > 0.9 and params.model = 'rf'; quote a key with spaces in backticks: metrics.`val loss`";
}

/** Python's repr of a str, as MLflow's messages print it. */
export function pyRepr(value: string): string {
  const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
  const body = value
    .replace(/\\/g, "\\\\")
    .replace(/\n/g, "\\n")
    .replace(/\r/g, "\\r")
    .replace(/\t/g, "\\t");
  return quote + (quote === "'" ? body.replace(/'/g, "\\'") : body) + quote;
}

/** A Python-set-looking list for messages (MLflow prints sets, whose order varies by process). */
const pySet = (values: readonly string[]): string => `{${values.map((v) => `'${v}'`).join(", ")}}`;

// ---------------------------------------------------------------------------------------------
// Structure: tokens → raw clauses (identifier, comparator, value token)

interface RawIdentifier {
  text: string;
  start: number;
  end: number;
}

export interface RawClause {
  ident: RawIdentifier;
  comparator: string;
  comparatorStart: number;
  /** Absent for IS NULL / IS NOT NULL. */
  value?: Token;
  span: Span;
}

interface StructureOptions {
  /** How "Invalid clause(s)" quotes the token: runs quote it, experiments do not. */
  quoteInvalid: boolean;
}

const IDENTIFIER_HEAD = new Set(["word", "btick", "dquote"]);
const IDENTIFIER_PART = new Set(["word", "btick", "dquote", "string"]);
const VALUE_KINDS = new Set(["string", "dquote", "btick", "number", "word", "list"]);
/** Words that cannot start a clause (sqlparse reads them as keywords). */
const RESERVED_HEADS = new Set(["OR", "NOT", "IS", "IN", "NULL", "LIKE", "ILIKE", "BETWEEN"]);

function parseStructure(source: string, options: StructureOptions): RawClause[] {
  const tokens = tokenize(source);
  const clauses: RawClause[] = [];
  let i = 0;
  const skipWs = (): void => {
    while (tokens[i]?.kind === "ws") i++;
  };
  const invalidClause = (token: Token | RawIdentifier): MlflowError =>
    syntaxError(
      `Invalid clause(s) in filter string: ${options.quoteInvalid ? `'${token.text}'` : token.text}`,
      source,
      token.start,
    );

  for (;;) {
    skipWs();
    const head = tokens[i];
    if (head === undefined) break;
    if (isKeyword(head, "AND")) {
      // MLflow tolerates leading, doubled and trailing ANDs.
      i++;
      continue;
    }
    if (head.kind === "punct" && head.text === ";") {
      const rest = tokens.slice(i + 1).some((t) => t.kind !== "ws");
      if (rest) {
        throw syntaxError(
          `Search filter contained multiple expression ${pyRepr(source)}. Provide AND-ed expression list.`,
          source,
          head.start,
        );
      }
      throw invalidClause(head);
    }
    if (head.kind === "string" || head.kind === "number") {
      let j = i + 1;
      while (tokens[j]?.kind === "ws") j++;
      if (tokens[j]?.kind === "op" || isKeyword(tokens[j], "LIKE", "ILIKE")) {
        throw syntaxError(
          `Invalid comparison clause. Expected 'Identifier' found '${head.text}'`,
          source,
          head.start,
        );
      }
      throw invalidClause(head);
    }
    if (
      !IDENTIFIER_HEAD.has(head.kind) ||
      (head.kind === "word" && RESERVED_HEADS.has(head.text.toUpperCase()))
    ) {
      throw invalidClause(head);
    }

    // The identifier: parts joined by dots, with no space in between.
    const identStart = head.start;
    i++;
    while (tokens[i]?.kind === "dot") {
      i++;
      const part = tokens[i];
      if (part !== undefined && IDENTIFIER_PART.has(part.kind)) i++;
    }
    const identEnd = tokens[i - 1]?.end ?? identStart;
    const ident: RawIdentifier = {
      text: source.slice(identStart, identEnd),
      start: identStart,
      end: identEnd,
    };

    skipWs();
    const op = tokens[i];
    if (op === undefined) throw invalidClause(ident);
    const comparatorStart = op.start;
    let comparator: string;
    if (isKeyword(op, "IS")) {
      i++;
      skipWs();
      const next = tokens[i];
      if (isKeyword(next, "NULL")) {
        i++;
        comparator = "IS NULL";
      } else if (
        isKeyword(next, "NOT") &&
        tokens[i + 1]?.kind === "ws" &&
        tokens[i + 1]?.text === " " &&
        isKeyword(tokens[i + 2], "NULL")
      ) {
        i += 3;
        comparator = "IS NOT NULL";
      } else {
        throw invalidClause(next ?? op);
      }
      clauses.push({
        ident,
        comparator,
        comparatorStart,
        span: { start: identStart, end: op.end },
      });
      continue;
    }
    if (isKeyword(op, "NOT")) {
      i++;
      skipWs();
      const next = tokens[i];
      if (isKeyword(next, "IN")) comparator = "NOT IN";
      else if (isKeyword(next, "LIKE", "ILIKE")) comparator = `NOT ${next?.text.toUpperCase()}`;
      else throw invalidClause(op);
      i++;
    } else if (isKeyword(op, "IN")) {
      comparator = "IN";
      i++;
    } else if (isKeyword(op, "LIKE", "ILIKE") || op.kind === "op") {
      comparator = op.text.toUpperCase();
      i++;
    } else {
      throw invalidClause(op);
    }

    skipWs();
    const value = tokens[i];
    if (value === undefined || !VALUE_KINDS.has(value.kind)) throw invalidClause(value ?? op);
    if ((comparator === "IN" || comparator === "NOT IN") && value.kind !== "list") {
      throw invalidClause(value);
    }
    i++;
    clauses.push({
      ident,
      comparator,
      comparatorStart,
      value,
      span: { start: identStart, end: value.end },
    });
  }
  return clauses;
}

// ---------------------------------------------------------------------------------------------
// Identifiers and values

const isQuoted = (text: string, quote: string): boolean =>
  text.length >= 2 && text.startsWith(quote) && text.endsWith(quote);
const trimBackticks = (text: string): string => (isQuoted(text, "`") ? text.slice(1, -1) : text);
const stripQuotes = (text: string): string =>
  isQuoted(text, "'") || isQuoted(text, '"') ? text.slice(1, -1) : text;

/** `entity.key`, split at the first dot; no dot means an attribute. */
export function splitIdentifier(text: string): {
  entity: string | undefined;
  key: string;
  keyAt: number;
} {
  const dot = text.indexOf(".");
  if (dot === -1) return { entity: undefined, key: trimBackticks(stripQuotes(text)), keyAt: 0 };
  return {
    entity: trimBackticks(text.slice(0, dot)),
    key: trimBackticks(stripQuotes(text.slice(dot + 1))),
    keyAt: dot + 1,
  };
}

function quotedString(value: Token, source: string): string {
  if (value.kind === "string" || value.kind === "dquote") return value.text.slice(1, -1);
  throw syntaxError(
    `Parameter value is either not quoted or unidentified quote types used for string value ${value.text}. Use either single or double quotes.`,
    source,
    value.start,
  );
}

export function numberValue(value: Token): number | undefined {
  return value.kind === "number" ? Number(value.text) : undefined;
}

const LIST_ERROR = "While parsing a list in the query, expected a non-empty list of string values";

/** A `( … )` token read as a Python tuple literal of strings, as MLflow reads it. */
export function parseStringList(token: Token, source: string): string[] {
  const text = token.text;
  const illFormed = (): MlflowError =>
    syntaxError(`${LIST_ERROR}, but got ill-formed list.`, source, token.start);
  const items: (string | number)[] = [];
  let i = 1;
  const end = text.length - 1;
  const skip = (): void => {
    while (i < end && /\s/.test(text[i] as string)) i++;
  };
  let trailingComma = false;
  for (;;) {
    skip();
    if (i >= end) break;
    let item: string | number | undefined;
    const c = text[i] as string;
    if (c === "'" || c === '"') {
      let s = "";
      while (i < end && (text[i] === "'" || text[i] === '"')) {
        const read = readPythonString(text, i);
        if (read === undefined) throw illFormed();
        s += read.value;
        i = read.end;
        skip();
      }
      item = s;
    } else {
      const m = /^[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)/.exec(text.slice(i));
      if (m === null) throw illFormed();
      item = Number(m[0]);
      i += m[0].length;
    }
    items.push(item);
    skip();
    trailingComma = false;
    if (i >= end) break;
    if (text[i] !== ",") throw illFormed();
    i++;
    trailingComma = true;
  }
  if (items.length === 0 && trailingComma) throw illFormed();
  if (items.length === 0) {
    throw syntaxError(`${LIST_ERROR}, but got empty list`, source, token.start);
  }
  if (!items.every((x): x is string => typeof x === "string")) {
    throw syntaxError(
      `While parsing a list in the query, expected string value, punctuation, or whitespace, but got different type in list: ${text}`,
      source,
      token.start,
    );
  }
  return items;
}

const PY_ESCAPES: Record<string, string> = {
  "\\": "\\",
  "'": "'",
  '"': '"',
  n: "\n",
  t: "\t",
  r: "\r",
  a: "\x07",
  b: "\b",
  f: "\f",
  v: "\v",
  "\n": "",
};

/** One Python string literal (no prefix) starting at `at`, with its escapes processed. */
function readPythonString(text: string, at: number): { value: string; end: number } | undefined {
  const quote = text[at] as string;
  let i = at + 1;
  let out = "";
  while (i < text.length) {
    const c = text[i] as string;
    if (c === quote) return { value: out, end: i + 1 };
    if (c === "\n") return undefined;
    if (c === "\\") {
      const n = text[i + 1];
      if (n === undefined) return undefined;
      if (n in PY_ESCAPES) {
        out += PY_ESCAPES[n];
        i += 2;
        continue;
      }
      const hex =
        n === "x"
          ? /^[0-9a-fA-F]{2}/
          : n === "u"
            ? /^[0-9a-fA-F]{4}/
            : n === "U"
              ? /^[0-9a-fA-F]{8}/
              : undefined;
      if (hex !== undefined) {
        const m = hex.exec(text.slice(i + 2));
        if (m === null) return undefined;
        out += String.fromCodePoint(Number.parseInt(m[0], 16));
        i += 2 + m[0].length;
        continue;
      }
      const oct = /^[0-7]{1,3}/.exec(text.slice(i + 1));
      if (oct !== null) {
        out += String.fromCodePoint(Number.parseInt(oct[0], 8));
        i += 1 + oct[0].length;
        continue;
      }
      out += `\\${n}`;
      i += 2;
      continue;
    }
    out += c;
    i++;
  }
  return undefined;
}

export function checkComparator(
  comparator: string,
  allowed: readonly string[],
  raw: RawClause,
  source: string,
  shownSet: readonly string[] = allowed,
): void {
  if (!allowed.includes(comparator)) {
    throw syntaxError(
      `Invalid comparator '${comparator}' not one of '${pySet(shownSet)}'`,
      source,
      raw.comparatorStart,
    );
  }
}

/** A value that must be one quoted string: a number or a list gets MLflow's error. */
export function stringValue(value: Token, source: string, expected: string): string {
  if (value.kind === "number" || value.kind === "list") {
    throw syntaxError(`Expected ${expected}. Got value ${value.text}`, source, value.start);
  }
  return quotedString(value, source);
}

/** `key IN ('a', 'b')`, for the keys in `listKeys` (any key when omitted). */
function listValue(
  value: Token,
  raw: RawClause,
  source: string,
  key: string,
  listKeys?: readonly string[],
): { comparator: ListComparator; value: string[] } {
  if (listKeys !== undefined && !listKeys.includes(key)) {
    throw syntaxError(
      `Only ${JSON.stringify(listKeys).replaceAll('"', "'")} attributes support comparison with a list of quoted string values.`,
      source,
      value.start,
    );
  }
  return {
    comparator: listComparator(raw.comparator, raw, source),
    value: parseStringList(value, source),
  };
}

// ---------------------------------------------------------------------------------------------
// search_runs

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
    const attribute = Object.hasOwn(attributes, key) ? attributes[key] : undefined;
    if (attribute === undefined) {
      throw syntaxError(
        `Invalid attribute key '${key}' specified. Valid keys are '${pySet(Object.keys(attributes))}'`,
        source,
        ident.start + keyAt,
      );
    }
    return { type, key: attribute };
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
 * A list only goes with IN / NOT IN. MLflow accepts `run_id = ('a', 'b')` and then compares a
 * string with a tuple (never true on the FileStore, a driver error on SQL); we reject it.
 */
function listComparator(comparator: string, raw: RawClause, source: string): ListComparator {
  if (comparator === "IN" || comparator === "NOT IN") return comparator;
  throw syntaxError(
    `Comparator '${comparator}' cannot take a list of values; use IN or NOT IN`,
    source,
    raw.comparatorStart,
  );
}

/** MLflow takes "" as "no filter" but rejects a filter of only whitespace. */
function checkNotBlank(filter: string): void {
  if (filter.trim() === "") {
    throw syntaxError(`Invalid filter '${filter}'. Could not be parsed.`, filter, 0);
  }
}

/**
 * A filter split into raw clauses (identifier, comparator, value token), for a searcher that
 * resolves identifiers by its own rules (logged models). An empty filter gives none.
 */
export function parseRawClauses(filter: string | undefined | null): RawClause[] {
  if (!filter) return [];
  checkNotBlank(filter);
  return parseStructure(filter, { quoteInvalid: true });
}

/**
 * Parses a search_runs filter. An empty filter gives no clauses (every run matches).
 * @example parseFilter("metrics.acc > 0.9 AND tags.team = 'cv'")
 */
export function parseFilter(filter: string | undefined | null): Clause[] {
  return parseRawClauses(filter).map((raw) => resolveRunClause(raw, filter as string));
}

// ---------------------------------------------------------------------------------------------
// search_experiments

const EXPERIMENT_ATTRIBUTES = [
  "name",
  "experiment_id",
  "creation_time",
  "last_update_time",
] as const;

export function resolveExperimentIdentifier(
  ident: { text: string; start: number },
  source: string,
): { type: "attribute" | "tag"; key: string } {
  const text = ident.text;
  const dot = text.indexOf(".");
  let type: "attribute" | "tag" = "attribute";
  let rawKey = text;
  let keyAt = 0;
  if (dot !== -1) {
    const entity = text.slice(0, dot);
    if (entity !== "attribute" && entity !== "tag" && entity !== "tags") {
      throw syntaxError(
        `Invalid entity type '${entity}'. Valid entity types are ('attribute', 'tag', 'tags')`,
        source,
        ident.start,
      );
    }
    type = entity === "attribute" ? "attribute" : "tag";
    rawKey = text.slice(dot + 1);
    keyAt = dot + 1;
  }
  const key = trimBackticks(stripQuotes(rawKey));
  if (type === "attribute" && !(EXPERIMENT_ATTRIBUTES as readonly string[]).includes(key)) {
    throw syntaxError(
      `Invalid attribute key '${key}' specified. Valid keys are '${pySet(EXPERIMENT_ATTRIBUTES)}'`,
      source,
      ident.start + keyAt,
    );
  }
  return { type, key };
}

function resolveExperimentClause(raw: RawClause, source: string): ExperimentClause {
  const { type, key } = resolveExperimentIdentifier(raw.ident, source);
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
  if (!filter) return [];
  checkNotBlank(filter);
  return parseStructure(filter, { quoteInvalid: false }).map((raw) =>
    resolveExperimentClause(raw, filter),
  );
}

// ---------------------------------------------------------------------------------------------
// search_registered_models / search_model_versions (SearchModelUtils, SearchModelVersionUtils)

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
  const { entity, key, keyAt } = splitIdentifier(raw.ident.text);
  if (entity !== undefined && !["attribute", "tag", "tags"].includes(entity)) {
    throw syntaxError(
      `Invalid entity type '${entity}'. Valid entity types are ('attribute', 'tag', 'tags')`,
      source,
      raw.ident.start,
    );
  }
  const type = entity === "tag" || entity === "tags" ? "tag" : "attribute";
  if (type === "attribute" && !(rules.attributes as readonly string[]).includes(key)) {
    throw syntaxError(
      `Invalid attribute key '${key}' specified. Valid keys are '${pySet(rules.attributes)}'`,
      source,
      raw.ident.start + keyAt,
    );
  }
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
  if (!filter) return [];
  checkNotBlank(filter);
  return parseStructure(filter, { quoteInvalid: false }).map((raw) =>
    resolveRegistryClause(raw, filter, kind),
  );
}
