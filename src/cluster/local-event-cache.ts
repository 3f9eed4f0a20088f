/** The event cache of a single process: in memory, per app (channels/channel-cache.ts), answered at once. */
import type { ChannelDirectory } from "../channels/channel-directory.js";
import type { CachedEvent } from "../channels/channel-cache.js";
import type { EventCache } from "./cluster.js";

export class LocalEventCache implements EventCache {
  constructor(private readonly channels: ChannelDirectory) {}

  set(appId: string, channel: string, event: string, data: string, frame: string): void {
    this.channels.forApp(appId).cache.set(channel, event, data, frame, Date.now());
  }

  get(appId: string, channel: string): CachedEvent | undefined {
    return this.channels.forApp(appId).cache.get(channel, Date.now());
  }
}
