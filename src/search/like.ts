/**
 * SQL LIKE and ILIKE in time linear in the value (times the pattern's length), whatever the
 * pattern. One regex for the whole pattern (`%` as `[^]*`) backtracks: `'%a%a%a%b'` on a long
 * value takes minutes. Here the pattern is cut at each `%` into pieces without `%`; a piece is a
 * fixed number of code points, so the leftmost place where each middle piece fits is always the
 * right one, and no choice is ever undone. Each piece is a small regex with no quantifier (its
 * `_` is `[^]`, one code point), which keeps the matching rules (Unicode case folding for ILIKE)
 * those of the `iu` regexes used before.
 *
 * Semantics: `%` matches any run of characters, newlines included; `_` exactly one code point;
 * every other character, backslash included, is literal; the match is anchored at both ends.
 */

interface LikeMatcher {
  /** The whole pattern when it has no `%`; otherwise the piece before the first `%`. */
  readonly head: RegExp;
  /** The pieces between `%`s, searched for in order. */
  readonly middle: RegExp[];
  /** The piece after the last `%`, which must end the value; undefined when there is no `%`. */
  readonly tail: RegExp | undefined;
}

const cache = new Map<string, LikeMatcher>();

function pieceSource(piece: string): string {
  let body = "";
  for (const ch of piece) body += ch === "_" ? "[^]" : ch.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");
  return body;
}

function compile(pattern: string, caseInsensitive: boolean): LikeMatcher {
  const flags = caseInsensitive ? "iu" : "u";
  const pieces = pattern.split("%").map(pieceSource);
  if (pieces.length === 1)
    return { head: new RegExp(`^${pieces[0]}$`, flags), middle: [], tail: undefined };
  return {
    head: new RegExp(pieces[0] as string, `${flags}y`),
    middle: pieces.slice(1, -1).map((piece) => new RegExp(piece, `${flags}g`)),
    tail: new RegExp(`${pieces.at(-1)}$`, `${flags}g`),
  };
}

function matcher(pattern: string, caseInsensitive: boolean): LikeMatcher {
  const key = `${caseInsensitive ? "i" : "s"}:${pattern}`;
  let found = cache.get(key);
  if (found === undefined) {
    found = compile(pattern, caseInsensitive);
    if (cache.size > 1000) cache.clear();
    cache.set(key, found);
  }
  return found;
}

/** Where the first match of `piece` at or after `from` ends, or -1. */
function endOfMatch(piece: RegExp, text: string, from: number): number {
  piece.lastIndex = from;
  return piece.exec(text) === null ? -1 : piece.lastIndex;
}

/** True when `text` matches the SQL LIKE `pattern` (ILIKE when `caseInsensitive`). */
export function likeMatches(text: string, pattern: string, caseInsensitive: boolean): boolean {
  const { head, middle, tail } = matcher(pattern, caseInsensitive);
  if (tail === undefined) return head.test(text);
  let at = endOfMatch(head, text, 0);
  for (const piece of middle) {
    if (at < 0) return false;
    at = endOfMatch(piece, text, at);
  }
  return at >= 0 && endOfMatch(tail, text, at) >= 0;
}
