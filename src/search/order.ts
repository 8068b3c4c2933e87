/**
 * order_by clauses → comparators, with MLflow's rules:
 * - each clause is `<identifier> [ASC|DESC]` (default ASC), one key per list element;
 * - values come first, sorted in the requested direction; then NaN metrics; then runs without the
 *   key (or a null attribute such as the `end_time` of a running run): the same in ASC and DESC;
 * - strings compare by code point (Python's and SQLite's binary order: '10' < '9' < 'A' < 'a');
 * - tie-breaks `start_time DESC` (unless start_time/created is already listed), then `run_id ASC`,
 *   which is also the order with no order_by.
 * The same field twice is an error (MLflow's SQL store raises, its FileStore ignores it); we raise
 * INVALID_PARAMETER_VALUE where the SQL store answers with a 500.
 */
import type { Experiment, Run } from "../entities.ts";
import { invalid } from "../errors.ts";
import {
  ENTITY_ALIASES,
  type EntityType,
  EXPERIMENT_ATTRIBUTES,
  type ExperimentAttribute,
  RUN_ORDER_BY_ATTRIBUTES,
  type RunAttribute,
} from "./grammar.ts";
import { isKeyword, type Token, tokenize } from "./lex.ts";
import { syntaxError } from "./parse.ts";
import { tagOrAttribute } from "./values.ts";

export interface OrderByClause {
  type: Exclude<EntityType, "dataset">;
  key: string;
  ascending: boolean;
}

export interface ExperimentOrderByClause {
  key: ExperimentAttribute;
  ascending: boolean;
}

const cannotParse = (clause: string, at: number) =>
  syntaxError(`Invalid order_by clause '${clause}'. Could not be parsed.`, clause, at);

interface OrderTokens {
  parts: Token[];
  identifier: { text: string; start: number };
  ascending: boolean;
}

/** Splits `<identifier> [ASC|DESC]`; quoted identifier parts are kept as tokens. */
function splitOrderBy(clause: string): OrderTokens {
  if (typeof clause !== "string" || clause === "") throw cannotParse(String(clause), 0);
  const tokens = tokenize(clause);
  const first = tokens[0];
  if (first === undefined || !["word", "btick", "dquote"].includes(first.kind)) {
    throw cannotParse(clause, 0);
  }
  const parts: Token[] = [first];
  let i = 1;
  while (tokens[i]?.kind === "dot") {
    const dot = tokens[i] as Token;
    parts.push(dot);
    i++;
    const part = tokens[i];
    if (part !== undefined && ["word", "btick", "dquote", "string"].includes(part.kind)) {
      parts.push(part);
      i++;
    }
  }
  const identifierEnd = tokens[i - 1]?.end ?? 0;
  let ascending = true;
  if (i < tokens.length) {
    const ws = tokens[i];
    const direction = tokens[i + 1];
    if (ws?.kind !== "ws" || direction === undefined || i + 2 !== tokens.length) {
      throw cannotParse(clause, (direction ?? ws ?? first).start);
    }
    if (isKeyword(direction, "ASC", "DESC")) {
      ascending = direction.text.toUpperCase() === "ASC";
    } else if (direction.kind === "word" && !isKeyword(direction, "AND", "OR", "NOT", "IN")) {
      throw syntaxError(
        `Invalid ordering key in order_by clause '${clause}'.`,
        clause,
        direction.start,
      );
    } else {
      throw cannotParse(clause, direction.start);
    }
  }
  return { parts, identifier: { text: clause.slice(0, identifierEnd), start: 0 }, ascending };
}

const unquote = (token: Token): string =>
  token.kind === "btick" || token.kind === "dquote" || token.kind === "string"
    ? token.text.slice(1, -1)
    : token.text;

/** Parses one search_runs order_by element. */
export function parseOrderBy(clause: string): OrderByClause {
  const { parts, ascending } = splitOrderBy(clause);
  const [head, ...rest] = parts;
  if (head === undefined) throw cannotParse(clause, 0);
  // MLflow reads the identifier as a shell word, so quotes around any part vanish; a double-quoted
  // first part, however, is rejected before that happens.
  if (rest.length === 0) {
    const key = unquote(head);
    const attribute = Object.hasOwn(RUN_ORDER_BY_ATTRIBUTES, key)
      ? RUN_ORDER_BY_ATTRIBUTES[key]
      : undefined;
    if (attribute === undefined) throw invalidAttribute(key, clause, 0);
    return { type: "attribute", key: attribute, ascending };
  }
  const entity = head.kind === "btick" ? unquote(head) : head.text;
  const type = Object.hasOwn(ENTITY_ALIASES, entity) ? ENTITY_ALIASES[entity] : undefined;
  if (type === undefined) {
    throw syntaxError(
      `Invalid entity type '${entity}'. Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']`,
      clause,
      0,
    );
  }
  const keyStart = (rest[0] as Token).end;
  const key = rest
    .slice(1)
    .map((t) => (t.kind === "dot" ? "." : unquote(t)))
    .join("");
  if (type === "attribute") {
    const attribute = Object.hasOwn(RUN_ORDER_BY_ATTRIBUTES, key)
      ? RUN_ORDER_BY_ATTRIBUTES[key]
      : undefined;
    if (attribute === undefined) throw invalidAttribute(key, clause, keyStart);
    return { type, key: attribute, ascending };
  }
  if (type === "dataset") {
    throw syntaxError(`Invalid identifier type 'dataset'`, clause, 0);
  }
  return { type, key, ascending };
}

function invalidAttribute(key: string, clause: string, at: number) {
  const valid = Object.keys(RUN_ORDER_BY_ATTRIBUTES)
    .map((k) => `'${k}'`)
    .join(", ");
  return syntaxError(
    `Invalid attribute key '${key}' specified. Valid keys are '{${valid}}'`,
    clause,
    at,
  );
}

/** Parses a whole order_by list and rejects the same field twice. */
export function parseOrderByList(orderBy: readonly string[] | undefined | null): OrderByClause[] {
  const parsed = (orderBy ?? []).map(parseOrderBy);
  const seen = new Set<string>();
  for (const clause of parsed) {
    const id = `${clause.type}\u0000${clause.key}`;
    if (seen.has(id)) {
      throw invalid(
        `\`order_by\` contains duplicate fields: [${(orderBy ?? []).map((o) => `'${o}'`).join(", ")}]`,
      );
    }
    seen.add(id);
  }
  return parsed;
}

/** Code-point order (UTF-16 `<` misplaces characters above U+FFFF). */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done) return y.done ? 0 : -1;
    if (y.done) return 1;
    const cx = (x.value as string).codePointAt(0) as number;
    const cy = (y.value as string).codePointAt(0) as number;
    if (cx !== cy) return cx < cy ? -1 : 1;
  }
}

type SortValue = string | number | null | undefined;

/** 0: a value, 1: NaN, 2: missing/null. Ranks sort ascending whatever the direction. */
const rank = (v: SortValue): number =>
  v === null || v === undefined ? 2 : typeof v === "number" && Number.isNaN(v) ? 1 : 0;

function compareValues(a: SortValue, b: SortValue, ascending: boolean): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (ra !== 0) return 0;
  const c =
    typeof a === "number" && typeof b === "number"
      ? a === b
        ? 0
        : a < b
          ? -1
          : 1
      : compareCodePoints(String(a), String(b));
  return ascending ? c : -c;
}

function runSortValue(run: Run, clause: OrderByClause): SortValue {
  const { data, info } = run;
  switch (clause.type) {
    case "metric":
      return Object.hasOwn(data.metrics, clause.key) ? data.metrics[clause.key]?.value : undefined;
    case "parameter":
      return Object.hasOwn(data.params, clause.key) ? data.params[clause.key] : undefined;
    case "tag":
      return Object.hasOwn(data.tags, clause.key) ? data.tags[clause.key] : undefined;
    case "attribute":
      switch (clause.key as RunAttribute) {
        case "run_id":
          return info.runId;
        case "run_name":
          return info.runName;
        case "user_id":
          return info.userId;
        case "status":
          return info.status;
        case "artifact_uri":
          return info.artifactUri;
        case "start_time":
          return info.startTime;
        case "end_time":
          return info.endTime;
      }
  }
}

/**
 * `runs` in the order of the parsed clauses, then MLflow's tie-breaks (`start_time DESC` unless
 * ordered by it, then `run_id`). Each run's sort values are taken once, not once a comparison.
 * With `limit`, only the first `limit` of that order (a page needs no more): a bounded heap,
 * O(n log limit) instead of sorting every match.
 */
export function sortRuns(
  runs: readonly Run[],
  clauses: readonly OrderByClause[],
  limit = Number.POSITIVE_INFINITY,
): Run[] {
  const all: OrderByClause[] = [...clauses];
  if (!all.some((c) => c.type === "attribute" && c.key === "start_time")) {
    all.push({ type: "attribute", key: "start_time", ascending: false });
  }
  all.push({ type: "attribute", key: "run_id", ascending: true });
  type Keyed = { run: Run; values: SortValue[] };
  const compare = (a: Keyed, b: Keyed) => {
    for (let i = 0; i < all.length; i++) {
      const c = compareValues(a.values[i], b.values[i], (all[i] as OrderByClause).ascending);
      if (c !== 0) return c;
    }
    return 0;
  };
  const keyed = (run: Run): Keyed => ({ run, values: all.map((c) => runSortValue(run, c)) });
  const chosen = limit * 4 < runs.length ? firstOf(runs, keyed, compare, limit) : runs.map(keyed);
  return chosen
    .sort(compare)
    .slice(0, limit)
    .map((k) => k.run);
}

/** The `limit` smallest of `items` by `compare` (unordered): a max-heap of the best so far. */
function firstOf<T, K>(
  items: readonly T[],
  key: (item: T) => K,
  compare: (a: K, b: K) => number,
  limit: number,
): K[] {
  const heap: K[] = [];
  const swap = (i: number, j: number) => {
    [heap[i], heap[j]] = [heap[j] as K, heap[i] as K];
  };
  const worse = (i: number, j: number) => compare(heap[i] as K, heap[j] as K) > 0;
  for (const item of items) {
    const k = key(item);
    if (heap.length < limit) {
      heap.push(k);
      for (let i = heap.length - 1; i > 0 && worse(i, (i - 1) >> 1); i = (i - 1) >> 1) {
        swap(i, (i - 1) >> 1);
      }
    } else if (limit > 0 && compare(k, heap[0] as K) < 0) {
      heap[0] = k;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let top = i;
        if (l < heap.length && worse(l, top)) top = l;
        if (r < heap.length && worse(r, top)) top = r;
        if (top === i) break;
        swap(i, top);
        i = top;
      }
    }
  }
  return heap;
}

// ---------------------------------------------------------------------------------------------
// search_experiments

/** Parses one search_experiments order_by element (attributes only). */
export function parseExperimentOrderBy(clause: string): ExperimentOrderByClause {
  const { parts, ascending } = splitOrderBy(clause);
  const text = parts.map((t) => (t.kind === "dot" ? "." : unquote(t))).join("");
  const { type, key } = tagOrAttribute({ text, start: 0 }, clause, EXPERIMENT_ATTRIBUTES);
  if (type !== "attribute") throw syntaxError(`Invalid order_by entity: ${type}`, clause, 0);
  return { key: key as ExperimentAttribute, ascending };
}

export const DEFAULT_EXPERIMENT_ORDER_BY = ["creation_time DESC", "experiment_id ASC"] as const;

export function parseExperimentOrderByList(
  orderBy: readonly string[] | undefined | null,
): ExperimentOrderByClause[] {
  const list = orderBy && orderBy.length > 0 ? orderBy : DEFAULT_EXPERIMENT_ORDER_BY;
  return list.map(parseExperimentOrderBy);
}

function experimentSortValue(e: Experiment, key: ExperimentAttribute): SortValue {
  switch (key) {
    case "name":
      return e.name;
    case "experiment_id":
      return e.experimentId;
    case "creation_time":
      return e.creationTime;
    case "last_update_time":
      return e.lastUpdateTime;
  }
}

/** Numeric ids compare as integers (the SQL column is an INTEGER; the FileStore compares text). */
function compareExperimentIds(a: string, b: string): number {
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) {
    const x = BigInt(a);
    const y = BigInt(b);
    return x === y ? 0 : x < y ? -1 : 1;
  }
  return compareCodePoints(a, b);
}

export function experimentComparator(
  clauses: readonly ExperimentOrderByClause[],
): (a: Experiment, b: Experiment) => number {
  const all: ExperimentOrderByClause[] = [...clauses];
  if (!all.some((c) => c.key === "experiment_id")) {
    all.push({ key: "experiment_id", ascending: false });
  }
  return (a, b) => {
    for (const { key, ascending } of all) {
      let c: number;
      if (key === "experiment_id") {
        c = compareExperimentIds(a.experimentId, b.experimentId);
        if (!ascending) c = -c;
      } else {
        c = compareValues(experimentSortValue(a, key), experimentSortValue(b, key), ascending);
      }
      if (c !== 0) return c;
    }
    return 0;
  };
}
