/**
 * Python's text forms, so that values we write read back byte-for-byte as MLflow's Python client
 * would have written them: `repr(float)` for metric values, `str(value)` for params; and
 * Python's `float()`, to read back the values of any writer.
 */

/**
 * A finite number's text, as String() writes it, but without V8's number-to-string cache: the
 * cache keeps each string long enough to be promoted to the old generation, so writing millions
 * of points that way grew a process by tens of MB of garbage awaiting a full GC.
 */
export const numberText = (value: number): string => JSON.stringify(value);

/** Python's `repr(float)`: shortest round-trip digits, `5.0`, `1e-07`, `1e+16`, `nan`, `inf`. */
export function pyFloatRepr(value: number): string {
  if (Number.isNaN(value)) return "nan";
  if (value === Number.POSITIVE_INFINITY) return "inf";
  if (value === Number.NEGATIVE_INFINITY) return "-inf";
  if (value === 0) return Object.is(value, -0) ? "-0.0" : "0.0";
  const magnitude = Math.abs(value);
  const text = numberText(value);
  // Between 1e-4 and 1e16 both languages print the shortest digits in fixed notation.
  if (magnitude >= 1e-4 && magnitude < 1e16) {
    return Number.isInteger(value) ? `${text}.0` : text;
  }
  // Elsewhere Python writes the same shortest digits in exponent notation, with an exponent of
  // two digits at least: JavaScript does so below 1e-6 and from 1e21, with one digit at least.
  const exponential = magnitude < 1e-6 || magnitude >= 1e21 ? text : value.toExponential();
  const e = exponential.indexOf("e");
  return exponential.length - e === 3
    ? `${exponential.slice(0, e + 2)}0${exponential.slice(e + 2)}`
    : exponential;
}

/** A value a user may pass as a param. */
export type ParamValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | undefined
  | readonly ParamValue[]
  | { readonly [key: string]: ParamValue };

/** What Python's `str.isprintable` calls non-printable: Unicode "Other" and "Separator". */
const NON_PRINTABLE = /^[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]$/u;

function pyEscape(code: number): string {
  if (code < 0x100) return `\\x${code.toString(16).padStart(2, "0")}`;
  if (code < 0x10000) return `\\u${code.toString(16).padStart(4, "0")}`;
  return `\\U${code.toString(16).padStart(8, "0")}`;
}

function pyStringRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = "";
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    if (char === "\\" || char === quote) out += `\\${char}`;
    else if (char === "\n") out += "\\n";
    else if (char === "\r") out += "\\r";
    else if (char === "\t") out += "\\t";
    else if (char !== " " && NON_PRINTABLE.test(char)) out += pyEscape(code);
    else out += char;
  }
  return `${quote}${out}${quote}`;
}

function pyRepr(value: ParamValue): string {
  return typeof value === "string" ? pyStringRepr(value) : pyStr(value);
}

/**
 * Python's `str(value)`, which MLflow applies to params: `True`, `None`, `[1, 2]`, `{'k': 1}`.
 * A JavaScript number that is an integer prints as a Python int (`5`), any other as a float.
 */
export function pyStr(value: ParamValue): string {
  if (typeof value === "string") return value;
  if (value === null || value === undefined) return "None";
  if (typeof value === "boolean") return value ? "True" : "False";
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") {
    return Number.isInteger(value) && Math.abs(value) < 1e16 ? String(value) : pyFloatRepr(value);
  }
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(", ")}]`;
  const entries = Object.entries(value as { readonly [key: string]: ParamValue });
  return `{${entries.map(([k, v]) => `${pyStringRepr(k)}: ${pyRepr(v)}`).join(", ")}}`;
}

/**
 * Python's `json.dumps` with its defaults: `", "` and `": "` between items, non-ASCII characters
 * escaped as `\uXXXX`, floats as Python's repr (`1.0`, `1e-05`), NaN and the infinities bare.
 * For JSON that MLflow writes into a tree (e.g. the `mlflow.log-model.history` tag).
 */
export function pyJsonDumps(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") {
    if (Number.isNaN(value)) return "NaN";
    if (!Number.isFinite(value)) return value > 0 ? "Infinity" : "-Infinity";
    return Number.isInteger(value) && !Object.is(value, -0) ? String(value) : pyFloatRepr(value);
  }
  if (typeof value === "string") {
    return JSON.stringify(value).replace(
      /[\u007f-\uffff]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
    );
  }
  if (Array.isArray(value)) return `[${value.map(pyJsonDumps).join(", ")}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(
    ([, v]) => v !== undefined,
  );
  return `{${entries.map(([k, v]) => `${pyJsonDumps(k)}: ${pyJsonDumps(v)}`).join(", ")}}`;
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
const SPECIAL = /^([+-]?)(nan|inf|infinity)$/i;

/** Python's `float()` on text: `nan`, `inf`, `Infinity`, `1e-07`, `5.`, `.5`. */
export function parsePyFloat(text: string): number | undefined {
  const special = SPECIAL.exec(text);
  if (special) {
    if (special[2]?.toLowerCase() === "nan") return Number.NaN;
    return special[1] === "-" ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  }
  return DECIMAL.test(text) ? Number(text) : undefined;
}
