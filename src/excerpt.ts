/** A short single-line excerpt of an error body, for messages: markup dropped, white space folded. */
export function excerpt(body: Buffer, limit = 300): string {
  const text = body
    .toString("utf8")
    .replace(/<[^>]*>/g, " ")
    .replace(/\s+/g, " ")
    .trim();
  return text.length > limit ? `${text.slice(0, limit)}...` : text;
}
