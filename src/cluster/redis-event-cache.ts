/**
 * Cache channels' last events in Redis: `herald:{app}:cache:{channel}` holds
 * `{event, data}` and expires with Pusher's 30 minutes, so nothing needs sweeping.
 */
import type { Redis } from "ioredis";
import { CACHE_TTL_MS, type CachedEvent } from "../channels/channel-cache.js";
import type { Logger } from "../logger.js";
import { channelEventEncoder } from "../protocol/server-frames.js";
import { readClusterState } from "./errors.js";
import type { EventCache } from "./cluster.js";
import { cacheKey } from "./redis-keys.js";

export class RedisEventCache implements EventCache {
  constructor(
    private readonly redis: Redis,
    private readonly log: Logger,
  ) {}

  set(appId: string, channel: string, event: string, data: string): void {
    this.redis
      .set(cacheKey(appId, channel), JSON.stringify({ event, data }), "PX", CACHE_TTL_MS)
      .catch((error: unknown) => this.log.warn({ err: String(error), appId, channel }, "could not keep a cache channel's event in Redis"));
  }

  async get(appId: string, channel: string): Promise<CachedEvent | undefined> {
    const results = await readClusterState("cached events", () => this.redis.pipeline().get(cacheKey(appId, channel)).pttl(cacheKey(appId, channel)).exec());
    const stored = results?.[0]?.[1] as string | null | undefined;
    const ttlMs = results?.[1]?.[1] as number | undefined;
    if (!stored || ttlMs === undefined || ttlMs <= 0) return undefined;
    const { event, data } = JSON.parse(stored) as { event: string; data: string };
    return { event, data, frame: channelEventEncoder(event, data)(channel), expiresAt: Date.now() + ttlMs };
  }
}
