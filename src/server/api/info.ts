/** The comma-separated `info` query parameter as a set of attribute names. */
export function infoAttributes(query: ReadonlyMap<string, string>): Set<string> {
  const raw = query.get("info");
  return new Set(raw ? raw.split(",").map((attribute) => attribute.trim()).filter(Boolean) : []);
}
