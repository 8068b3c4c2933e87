/**
 * Request messages as MLflow's handlers read them: proto field names, from the JSON body (or the
 * query string of a GET), each field checked against its proto type before any handler runs.
 * Where MLflow's protobuf parser keeps the part of a message it read before a bad field, a
 * request here is refused whole, with MLflow's wording: "Missing value for required parameter
 * 'x'." or "Invalid value … for parameter 'x' supplied: Hint: Value was of type 'str'.".
 */
import { invalid, type MlflowError } from "../errors.ts";

const SEE_DOCS = " See the API docs for more information about request parameters.";

/** Python's name for a JSON value's type, as MLflow's messages print it. */
function pyType(value: unknown): string {
  if (value === null) return "NoneType";
  if (Array.isArray(value)) return "list";
  if (typeof value === "number") return Number.isInteger(value) ? "int" : "float";
  if (typeof value === "boolean") return "bool";
  if (typeof value === "string") return "str";
  return "dict";
}

export function invalidField(path: string, value: unknown, detail?: string): MlflowError {
  const why = detail ?? `Hint: Value was of type '${pyType(value)}'.`;
  return invalid(
    `Invalid value ${JSON.stringify(value)} for parameter '${path}' supplied: ${why}${SEE_DOCS}`,
  );
}

export const missingField = (path: string): MlflowError =>
  invalid(`Missing value for required parameter '${path}'.${SEE_DOCS}`);

/** One proto field: how to check and convert its JSON value. */
export interface Field<T> {
  readonly required: boolean;
  /** A repeated field: a GET query gives every value of the key. */
  readonly repeated: boolean;
  /** A bool field: a GET query gives "true" or "false" (any case). */
  readonly boolean: boolean;
  parse(value: unknown, path: string): T;
}

function field<T>(parse: (value: unknown, path: string) => T, flags: Partial<Field<T>> = {}) {
  return { required: false, repeated: false, boolean: false, parse, ...flags } as Field<T>;
}

/** The same field, which must be present (and, for strings, not empty, as MLflow asserts). */
export function required<T>(f: Field<T>): Field<T> & { readonly required: true } {
  return { ...f, required: true } as Field<T> & { readonly required: true };
}

export const string = field((value, path): string => {
  if (typeof value !== "string") throw invalidField(path, value);
  return value;
});

const INT = /^-?\d+$/;

/** int64: a JSON integer, or a string of one (protobuf's JSON form of an int64). */
export const int64 = field((value, path): number => {
  const n = typeof value === "string" && INT.test(value.trim()) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isSafeInteger(n)) throw invalidField(path, value);
  return n;
});

/** double: a number, a numeric string, or "NaN" / "Infinity" / "-Infinity". */
export const double = field((value, path): number => {
  if (typeof value === "number") return value;
  if (typeof value === "string") {
    const text = value.trim();
    if (text === "NaN") return Number.NaN;
    if (text === "Infinity" || text === "inf") return Number.POSITIVE_INFINITY;
    if (text === "-Infinity" || text === "-inf") return Number.NEGATIVE_INFINITY;
    if (text !== "" && Number.isFinite(Number(text))) return Number(text);
  }
  throw invalidField(path, value);
});

export const bool = field(
  (value, path): boolean => {
    if (typeof value !== "boolean") throw invalidField(path, value);
    return value;
  },
  { boolean: true },
);

/** A proto enum: its name, or its number (`first` is the number of the first name). */
export function oneOf<const T extends string>(names: readonly T[], first = 1): Field<T> {
  return field((value, path): T => {
    if (typeof value === "string" && (names as readonly string[]).includes(value))
      return value as T;
    const n = typeof value === "string" && INT.test(value) ? Number(value) : value;
    if (typeof n === "number" && Number.isInteger(n) && n >= first && n < first + names.length) {
      return names[n - first] as T;
    }
    throw invalidField(path, value, `Value must be one of ${names.join(", ")}.`);
  });
}

export function repeated<T>(item: Field<T>): Field<T[]> {
  return field(
    (value, path): T[] => {
      if (!Array.isArray(value)) throw invalidField(path, value);
      return value.map((entry, i) => {
        if (entry === null || entry === undefined) throw missingField(`${path}[${i}]`);
        return item.parse(entry, `${path}[${i}]`);
      });
    },
    { repeated: true },
  );
}

export type Schema = Record<string, Field<unknown>>;

/** The message a schema reads: required fields always present, the others maybe. */
export type Message<S extends Schema> = {
  [K in keyof S]: S[K] extends Field<infer T> & { readonly required: true }
    ? T
    : S[K] extends Field<infer T>
      ? T | undefined
      : never;
};

/** A nested message (a tag, a metric, a dataset). */
export function message<S extends Schema>(schema: S): Field<Message<S>> {
  return field((value, path): Message<S> => {
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw invalidField(path, value);
    }
    return readFields(schema, value as Record<string, unknown>, `${path}.`);
  });
}

function readFields<S extends Schema>(
  schema: S,
  source: Record<string, unknown>,
  prefix: string,
): Message<S> {
  const out: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(schema)) {
    const value = source[name];
    const path = `${prefix}${name}`;
    if (value === undefined || value === null || (f.required && value === "")) {
      if (f.required) throw missingField(path);
      continue;
    }
    out[name] = f.parse(value, path);
  }
  return out as Message<S>;
}

/** Reads a request message from a parsed JSON body. */
export function fromJson<S extends Schema>(schema: S, body: unknown): Message<S> {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw invalid(`The request body must be a JSON object, got ${pyType(body)}.${SEE_DOCS}`);
  }
  return readFields(schema, body as Record<string, unknown>, "");
}

/** Reads a request message from a GET query string, as MLflow's handlers convert it. */
export function fromQuery<S extends Schema>(schema: S, query: URLSearchParams): Message<S> {
  const source: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(schema)) {
    if (!query.has(name)) continue;
    if (f.repeated) {
      source[name] = query.getAll(name);
      continue;
    }
    const value = query.get(name) as string;
    if (f.boolean) {
      const lower = value.toLowerCase();
      if (lower !== "true" && lower !== "false") {
        throw invalid(`Invalid boolean value: ${value}, must be 'true' or 'false'.`);
      }
      source[name] = lower === "true";
    } else {
      source[name] = value;
    }
  }
  return readFields(schema, source, "");
}

/** `{key, value}` pairs (tags, params) as a record; the last of a repeated key wins. */
export const keyValue = message({ key: required(string), value: string });

export function toRecord(pairs: { key: string; value?: string | undefined }[] | undefined) {
  const record: Record<string, string> = {};
  for (const { key, value } of pairs ?? []) record[key] = value ?? "";
  return record;
}
