/**
 * meta.yaml text as PyYAML (YAML 1.1, SafeLoader) reads it back: every string quoted, so `yes`,
 * `12:30`, `0123` or `2024-01-01` stay strings; keys sorted as MLflow writes them. Reading goes
 * through the `yaml` package in 1.1 mode, so files MLflow wrote mean what they mean to MLflow.
 */
import { parse } from "yaml";

export type YamlValue =
  | string
  | number
  | boolean
  | null
  | YamlValue[]
  | { [key: string]: YamlValue };

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_.]*$/;
/** Words YAML 1.1 reads as booleans or null when left bare. */
const RESERVED_WORD = /^(y|n|yes|no|on|off|true|false|null|~)$/i;
/** What a single-quoted scalar can hold: printable, no line breaks (which YAML would fold). */
const SINGLE_QUOTABLE =
  /^[\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\u{10000}-\u{10ffff}]*$/u;

function quote(text: string): string {
  if (SINGLE_QUOTABLE.test(text)) return `'${text.replaceAll("'", "''")}'`;
  let out = "";
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    if (char === '"' || char === "\\") out += `\\${char}`;
    else if (char === "\n") out += "\\n";
    else if (char === "\t") out += "\\t";
    else if (code >= 0x20 && code <= 0x7e) out += char;
    else if (code > 0xffff || SINGLE_QUOTABLE.test(char)) out += char;
    else if (code <= 0xff) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else out += `\\u${code.toString(16).padStart(4, "0")}`;
  }
  return `"${out}"`;
}

function key(name: string): string {
  return PLAIN_KEY.test(name) && !RESERVED_WORD.test(name) ? name : quote(name);
}

function scalar(value: YamlValue): string | undefined {
  if (value === null) return "null";
  if (typeof value === "string") return quote(value);
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value))
      throw new Error(`YAML writer handles integers only: ${value}`);
    return String(value);
  }
  if (Array.isArray(value) && value.length === 0) return "[]";
  if (!Array.isArray(value) && Object.keys(value).length === 0) return "{}";
  return undefined;
}

function lines(value: YamlValue, indent: string): string[] {
  if (Array.isArray(value)) {
    return value.flatMap((item) => {
      const text = scalar(item);
      if (text === undefined) throw new Error("YAML writer: nested collections in lists");
      return [`${indent}- ${text}`];
    });
  }
  const out: string[] = [];
  const entries = Object.entries(value as Record<string, YamlValue>).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  for (const [name, item] of entries) {
    const text = scalar(item);
    if (text !== undefined) out.push(`${indent}${key(name)}: ${text}`);
    else out.push(`${indent}${key(name)}:`, ...lines(item, `${indent}  `));
  }
  return out;
}

/** Serializes a mapping as block YAML with sorted keys and every string quoted. */
export function toYaml(document: Record<string, YamlValue>): string {
  return `${lines(document, "").join("\n")}\n`;
}

/** Parses YAML the way PyYAML's SafeLoader does (YAML 1.1 types). */
export function fromYaml(text: string): unknown {
  const flat = parseFlatYaml(text);
  return flat !== undefined ? flat : parse(text, { version: "1.1" });
}

/** What is wrong with YAML that failed to parse, in one line (the parser adds a snippet below). */
export function yamlProblem(error: unknown): string {
  return `not valid YAML: ${((error as Error).message ?? String(error)).split("\n")[0]}`;
}

const FLAT_LINE = /^([a-z_][a-z0-9_]*): (.*)$/;
const FLAT_QUOTED = /^'((?:[^']|'')*)'$/;
/** Decimal ints that YAML 1.1 reads as themselves (no sign, octal, `_` or base prefix; safe). */
const FLAT_INT = /^(?:0|-?[1-9][0-9]{0,14})$/;

/**
 * The fast path of fromYaml: a document of `key: value` lines only, as our writer and MLflow
 * (PyYAML) write meta.yaml: lowercase plain keys, each value a single-quoted string (`''` for a
 * quote), `null`, a small decimal int, `[]` or `{}`, one space after the colon, nothing else on
 * the line, every line ending in `\n`. Anything else (comments, blank lines, `\r`, nesting,
 * other scalars, reserved words as keys, duplicate keys, characters a quoted scalar may fold or
 * reject) returns undefined: the full YAML 1.1 parser reads it. For what it accepts, the result
 * equals the parser's (test/file-meta-parse.test.ts compares them).
 */
export function parseFlatYaml(text: string): Record<string, unknown> | undefined {
  if (text.length === 0 || !text.endsWith("\n")) return undefined;
  const doc: Record<string, unknown> = {};
  let start = 0;
  while (start < text.length) {
    const stop = text.indexOf("\n", start);
    const match = FLAT_LINE.exec(text.slice(start, stop));
    start = stop + 1;
    if (match === null) return undefined;
    const [, key = "", value = ""] = match;
    if (RESERVED_WORD.test(key) || key === "__proto__" || Object.hasOwn(doc, key)) {
      return undefined;
    }
    if (value.startsWith("'")) {
      const quoted = FLAT_QUOTED.exec(value);
      if (quoted === null) return undefined;
      const content = quoted[1] ?? "";
      if (!SINGLE_QUOTABLE.test(content)) return undefined;
      doc[key] = content.replaceAll("''", "'");
    } else if (value === "null") doc[key] = null;
    else if (value === "[]") doc[key] = [];
    else if (value === "{}") doc[key] = {};
    else if (FLAT_INT.test(value)) doc[key] = Number(value);
    else return undefined;
  }
  return doc;
}
