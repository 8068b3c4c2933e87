/**
 * The tokenizer shared by the filter and order_by parsers. It follows the token rules of the SQL
 * lexer MLflow parses filters with (sqlparse), as far as the filter grammar can see them:
 * `'…'` strings (a doubled `''` or `\'` stays inside, no escape is processed), `"…"` and `` `…` ``
 * quoted names, signed integer and float literals, comparison operators, and parenthesised groups.
 */

export type TokenKind =
  | "ws"
  | "string" // 'single quoted'
  | "dquote" // "double quoted"
  | "btick" // `backticked`
  | "number"
  | "word"
  | "dot"
  | "op" // a run of < > = ~ !
  | "list" // a balanced ( … ) group, kept whole
  | "punct"; // anything else: ; , ( ) + - / and the like

export interface Token {
  kind: TokenKind;
  /** The source text, quotes and parentheses included. */
  text: string;
  /** Offset of the first character in the source string (UTF-16 units). */
  start: number;
  end: number;
}

const WS = /\s+/y;
const SQUOTE = /'(?:''|\\'|[^'])*'/y;
const DQUOTE = /"(?:""|\\"|[^"])*"/y;
const BTICK = /`(?:``|[^`])*`/y;
// sqlparse's number rules: an exponent form, a decimal form, then an integer, none of them
// directly followed by a letter or underscore.
const NUMBER = /-?(?:\d+(?:\.\d+)?[eE]-?\d+|\d+\.\d*|\.\d+|\d+)(?![\p{L}\p{N}_])/uy;
const WORD = /[\p{L}\p{N}_]+/uy;
const OP = /[<>=~!]+/y;

function matchAt(re: RegExp, source: string, at: number): string | undefined {
  re.lastIndex = at;
  const m = re.exec(source);
  return m?.[0];
}

/** The index just past the `)` that closes the `(` at `at`, skipping quoted text; -1 if none. */
function closingParen(source: string, at: number): number {
  let depth = 0;
  let i = at;
  while (i < source.length) {
    const c = source[i];
    if (c === "'" || c === '"' || c === "`") {
      const quoted = matchAt(c === "'" ? SQUOTE : c === '"' ? DQUOTE : BTICK, source, i);
      if (quoted === undefined) return -1;
      i += quoted.length;
      continue;
    }
    if (c === "(") depth++;
    else if (c === ")") {
      depth--;
      if (depth === 0) return i + 1;
    }
    i++;
  }
  return -1;
}

export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const push = (kind: TokenKind, text: string): void => {
    tokens.push({ kind, text, start: i, end: i + text.length });
    i += text.length;
  };
  // Rules tried in order at each position; the first that matches wins.
  const rules: [TokenKind, RegExp][] = [
    ["ws", WS],
    ["string", SQUOTE],
    ["dquote", DQUOTE],
    ["btick", BTICK],
    ["number", NUMBER],
    ["word", WORD],
    ["op", OP],
  ];
  scan: while (i < source.length) {
    const c = source[i] as string;
    for (const [kind, re] of rules) {
      const text = matchAt(re, source, i);
      if (text !== undefined) {
        push(kind, text);
        continue scan;
      }
    }
    if (c === ".") push("dot", c);
    else if (c === "(") {
      const end = closingParen(source, i);
      push(end === -1 ? "punct" : "list", end === -1 ? c : source.slice(i, end));
    } else {
      // One code point (an unclosed quote included), so a caret never splits a surrogate pair.
      push("punct", String.fromCodePoint(source.codePointAt(i) as number));
    }
  }
  return tokens;
}

/** Case-insensitive keyword test on a word token. */
export function isKeyword(token: Token | undefined, ...words: string[]): boolean {
  return token?.kind === "word" && words.includes(token.text.toUpperCase());
}
