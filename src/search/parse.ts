/**
 * Filter strings → raw clauses: the structure all of MLflow's filters share (identifier,
 * comparator, value, joined by AND), and syntax errors as MLflow words them, followed by the
 * filter and a caret line (every one an INVALID_PARAMETER_VALUE). What an identifier means is
 * resolved per search: run-filter.ts, experiment-filter.ts, registry-filter.ts, logged-models.ts.
 * Parsing never looks at a run.
 *
 * Checks MLflow's SQL store makes while building its query (comparator per kind) happen in the
 * resolvers too, so a bad comparator fails whether or not any run exists (MLflow's FileStore only
 * notices it when it evaluates a run).
 */
import { invalid, type MlflowError } from "../errors.ts";
import type { Span } from "./grammar.ts";
import { isKeyword, type Token, tokenize } from "./lex.ts";

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

export interface RawIdentifier {
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
export function parseRawClauses(
  filter: string | undefined | null,
  options: StructureOptions = { quoteInvalid: true },
): RawClause[] {
  if (!filter) return [];
  checkNotBlank(filter);
  return parseStructure(filter, options);
}
