/**
 * What a node holds, recorded in its `herald:node:{node}:…` sets so that the
 * survivors can undo it when the node dies: app id, channel, user id, joined by
 * newlines. App ids and channel names hold none (apps.json and the channel rules
 * see to it); a user id may, so it always comes last.
 */
export function nodeEntry(...parts: string[]): string {
  return parts.join("\n");
}

/** Splits an entry into `count` parts; the last keeps any newline it holds. */
export function splitNodeEntry(entry: string, count: number): string[] {
  const parts: string[] = [];
  let start = 0;
  for (let i = 1; i < count; i++) {
    const end = entry.indexOf("\n", start);
    parts.push(entry.slice(start, end));
    start = end + 1;
  }
  parts.push(entry.slice(start));
  return parts;
}
