import type { Redis } from "ioredis";

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

/**
 * A member no entry can be (each has a newline), which keeps a node's set in Redis
 * while the node holds nothing: a set without it is one Redis lost (node-set-keeper.ts).
 */
export const NODE_SET_MARK = "";

/**
 * Visits the entries of a node set (split into `count` parts), one at a time, as
 * the survivors of a dead node and a node resyncing after an outage both do.
 */
export async function eachNodeEntry(redis: Redis, key: string, count: number, visit: (parts: string[]) => Promise<unknown>): Promise<void> {
  for (const entry of await redis.smembers(key)) if (entry !== NODE_SET_MARK) await visit(splitNodeEntry(entry, count));
}

/** Undoes every entry of a dead node's set, then drops the set. */
export async function forgetNodeSet(redis: Redis, key: string, count: number, undo: (parts: string[]) => Promise<unknown>): Promise<void> {
  await eachNodeEntry(redis, key, count, undo);
  await redis.del(key);
}
