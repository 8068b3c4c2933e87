/**
 * Credentials out of messages: the user info of URLs (`http://alice:secret@host` → `http://***@host`)
 * is removed from every MlflowError and every message the CLI prints. It works on text that does
 * not parse as a URL too: an unencoded `/` or `@` in the password, a scheme typo (`htp://`), a
 * URL with one slash or none after `http:` (which URL parsers accept).
 */

/** Where the user info ends in `rest`, the text after `scheme://`: the index of its `@`, or -1. */
function userInfoEnd(rest: string): number {
  const last = rest.lastIndexOf("@");
  if (last < 0) return -1;
  // `user:password@` (the password may hold `/` or `@`), or `token@` before any path.
  const before = rest.slice(0, last);
  if (before.includes(":") || !before.includes("/")) return last;
  const first = rest.indexOf("@");
  return rest.slice(0, first).includes("/") ? -1 : first;
}

function strip(prefix: string, rest: string, whole: string): string {
  const end = userInfoEnd(rest);
  return end < 0 ? whole : `${prefix}***${rest.slice(end)}`;
}

/** A scheme and its slashes: any `scheme://`, and `http:`/`https:` with fewer slashes. */
const SCHEME = String.raw`\b(?:[a-z][a-z0-9+.-]*:[\\/]{2}|https?:[\\/]?)`;
const IN_TEXT = new RegExp(`(${SCHEME})([^\\s'"\`<>]*)`, "gi");
const WHOLE = new RegExp(`^(\\s*${SCHEME})(.*)$`, "is");

/** `text` with the user info of every URL in it replaced by `***`. */
export function redactCredentials(text: string): string {
  return text.includes("@") ? text.replace(IN_TEXT, (all, p, rest) => strip(p, rest, all)) : text;
}

/**
 * A string meant as one URL (a flag's value) without its user info, even when it is malformed or
 * lacks its scheme (`alice:secret@host`).
 */
export function redactUrl(url: string): string {
  const match = WHOLE.exec(url);
  return match ? strip(match[1] as string, match[2] as string, url) : strip("", url, url);
}
