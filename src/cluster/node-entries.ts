import { Cluster, type Redis } from "ioredis";

/**
 * What a node holds, recorded in its `herald:node:{node}:…` sets so that the
 * survivors can undo it when the node dies: app id, channel, user id, joined by
 * newlines. App ids and channel names hold none (apps.json and the channel rules
 * see to it); a user id may, so it always comes last.
 */
export function nodeEntry(...parts: string[]): string {
  return parts.join("\n");
}

/** Splits an entry into `count` parts; the last keeps any separator it holds. */
export function splitNodeEntry(entry: string, count: number, separator = "\n"): string[] {
  const parts: string[] = [];
  let start = 0;
  for (let i = 1; i < count; i++) {
    const end = entry.indexOf(separator, start);
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
 * Visits the entries of a node set (split into `count` parts), `atOnce` at a time (one, as a
 * node resyncing after an outage does); throws the first failure once those at hand are done.
 */
export async function eachNodeEntry(redis: Redis, key: string, count: number, visit: (parts: string[]) => Promise<unknown>, atOnce = 1): Promise<void> {
  const entries = (await redis.smembers(key)).filter((entry) => entry !== NODE_SET_MARK);
  for (let start = 0; start < entries.length; start += atOnce) {
    const outcomes = await Promise.allSettled(entries.slice(start, start + atOnce).map((entry) => visit(splitNodeEntry(entry, count))));
    const failed = outcomes.find((outcome) => outcome.status === "rejected");
    if (failed) throw failed.reason;
  }
}

/**
 * Where the survivors look for what a dead node held when its set is lost: each app's
 * keys that start with `prefix(appId)`, the rest of the key being the entry's other
 * parts joined by ":" (a channel name holds none), and that `hold` the dead node.
 */
export interface AppKeySearch {
  readonly appIds: Iterable<string>;
  prefix(appId: string): string;
  holds(key: string): Promise<boolean>;
}

/** How many of a dead node's entries its survivor undoes at once. */
const UNDONE_AT_ONCE = 64;

/**
 * Undoes every entry of a dead node's set, then drops the set. A set without its mark is
 * one Redis lost, and the node died before its next heartbeat could write it again (on a
 * Redis Cluster, the shard holding it restarted empty just before): then what the node
 * still held is searched for among the apps' own keys, a walk over the keys that so rare
 * a double fault can pay.
 */
export async function forgetNodeSet(redis: Redis, key: string, count: number, undo: (parts: string[]) => Promise<unknown>, search: AppKeySearch): Promise<void> {
  const lost = (await redis.sismember(key, NODE_SET_MARK)) === 0;
  // The entries are independent (each its own keys), and each undo waits on a round trip or two:
  // many at once. A set is dropped only once every entry is undone, so one that fails is tried
  // again with the rest when the cleanup is.
  await eachNodeEntry(redis, key, count, undo, UNDONE_AT_ONCE);
  if (lost) {
    for (const appId of search.appIds) {
      const prefix = search.prefix(appId);
      await eachKeyStartingWith(redis, prefix, async (found) => {
        if (await search.holds(found)) await undo([appId, ...splitNodeEntry(found.slice(prefix.length), count - 1, ":")]);
      });
    }
  }
  await redis.del(key);
}

/** Visits each key that starts with `prefix` (SCAN, on every master of a Redis Cluster). */
async function eachKeyStartingWith(redis: Redis, prefix: string, visit: (key: string) => Promise<unknown>): Promise<void> {
  // An app id may hold what MATCH reads as a pattern.
  const pattern = `${prefix.replace(/[*?[\]\\]/g, "\\$&")}*`;
  // Typed as Redis, which a Cluster stands in for (redis-cluster.ts).
  const cluster: unknown = redis;
  for (const server of cluster instanceof Cluster ? cluster.nodes("master") : [redis]) {
    let cursor = "0";
    do {
      const [next, keys] = await server.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      for (const key of keys) await visit(key);
      cursor = next;
    } while (cursor !== "0");
  }
}
