/**
 * The little XML the object stores answer with (listings, upload ids, errors): flat elements
 * whose text is what we need. Not a general parser; it reads only elements that do not nest
 * inside themselves, which holds for every answer read here.
 */
const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

export function unescapeXml(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-z]+);/g, (whole, name: string) => {
    if (name.startsWith("#x")) return String.fromCodePoint(Number.parseInt(name.slice(2), 16));
    if (name.startsWith("#")) return String.fromCodePoint(Number.parseInt(name.slice(1), 10));
    return ENTITIES[name] ?? whole;
  });
}

export function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => `&${Object.keys(ENTITIES).find((k) => ENTITIES[k] === c)};`,
  );
}

/** The inner XML of every `<tag>` element, in order (`<tag/>` gives ""). */
export function elements(xml: string, tag: string): string[] {
  const out: string[] = [];
  const pattern = new RegExp(`<${tag}(?:\\s[^>]*)?(?:/>|>([\\s\\S]*?)</${tag}>)`, "g");
  for (const match of xml.matchAll(pattern)) out.push(match[1] ?? "");
  return out;
}

/** The unescaped text of the first `<tag>` element, if any. */
export function text(xml: string, tag: string): string | undefined {
  const inner = elements(xml, tag)[0];
  return inner === undefined ? undefined : unescapeXml(inner);
}
