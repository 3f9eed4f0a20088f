import type { QueryLookup } from "./signed-endpoint.js";

/** The comma-separated `info` query parameter as a set of attribute names. */
export function infoAttributes(query: QueryLookup): Set<string> {
  const raw = query.get("info");
  return new Set(raw ? raw.split(",").map((attribute) => attribute.trim()).filter(Boolean) : []);
}
