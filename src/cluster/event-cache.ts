/**
 * The last event of each cache channel, as every node sees it. A single process
 * keeps it in memory (channels/channel-cache.ts) and answers at once; a cluster
 * keeps it in Redis, so a subscriber on any node gets what was published
 * through any other.
 */
import type { ChannelDirectory } from "../channels/channel-directory.js";
import type { CachedEvent } from "../channels/channel-cache.js";

export interface EventCache {
  set(appId: string, channel: string, event: string, data: string, frame: string): void;
  get(appId: string, channel: string): CachedEvent | undefined | Promise<CachedEvent | undefined>;
}

export class LocalEventCache implements EventCache {
  constructor(private readonly channels: ChannelDirectory) {}

  set(appId: string, channel: string, event: string, data: string, frame: string): void {
    this.channels.forApp(appId).cache.set(channel, event, data, frame, Date.now());
  }

  get(appId: string, channel: string): CachedEvent | undefined {
    return this.channels.forApp(appId).cache.get(channel, Date.now());
  }
}
