/**
 * The parts of a raw clause read as MLflow reads them: `entity.key` identifiers, quoted strings,
 * numbers, Python tuple literals for IN, and the comparators each kind of key allows.
 */
import type { MlflowError } from "../errors.ts";
import type { ListComparator } from "./grammar.ts";
import type { Token } from "./lex.ts";
import { type RawClause, type RawIdentifier, syntaxError } from "./parse.ts";

const isQuoted = (text: string, quote: string): boolean =>
  text.length >= 2 && text.startsWith(quote) && text.endsWith(quote);
export const trimBackticks = (text: string): string =>
  isQuoted(text, "`") ? text.slice(1, -1) : text;
export const stripQuotes = (text: string): string =>
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

/**
 * `tag.key`, `tags.key`, `attribute.key` or a bare attribute among `attributes`, as the
 * experiment and registry searches read them: the entity as written (MLflow trims no backticks
 * there, unlike in run searches).
 */
export function tagOrAttribute(
  ident: Pick<RawIdentifier, "text" | "start">,
  source: string,
  attributes: readonly string[],
): { type: "attribute" | "tag"; key: string } {
  const { entity, key, keyAt } = splitIdentifier(ident.text);
  const written = entity === undefined ? undefined : ident.text.slice(0, keyAt - 1);
  if (written !== undefined && !["attribute", "tag", "tags"].includes(written)) {
    throw syntaxError(
      `Invalid entity type '${written}'. Valid entity types are ('attribute', 'tag', 'tags')`,
      source,
      ident.start,
    );
  }
  const type = written === undefined || written === "attribute" ? "attribute" : "tag";
  if (type === "attribute") checkAttributeKey(key, attributes, source, ident.start + keyAt);
  return { type, key };
}

/** MLflow's error for an attribute no search of this kind knows; `at` is where the key starts. */
export function checkAttributeKey(
  key: string,
  attributes: readonly string[],
  source: string,
  at: number,
): void {
  if (!attributes.includes(key)) {
    throw syntaxError(
      `Invalid attribute key '${key}' specified. Valid keys are '${pySet(attributes)}'`,
      source,
      at,
    );
  }
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
export function listValue(
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

/** A Python-set-looking list for messages (MLflow prints sets, whose order varies by process). */
export const pySet = (values: readonly string[]): string =>
  `{${values.map((v) => `'${v}'`).join(", ")}}`;

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
