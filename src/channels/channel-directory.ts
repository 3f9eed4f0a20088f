import type { ChannelKind } from "../protocol/channel-names.js";
import { AppChannels } from "./app-channels.js";

/** Channel state kept apart per app, so one app can never see another's channels. */
export class ChannelDirectory {
  private readonly apps = new Map<string, AppChannels>();

  forApp(appId: string): AppChannels {
    let channels = this.apps.get(appId);
    if (!channels) {
      channels = new AppChannels();
      this.apps.set(appId, channels);
    }
    return channels;
  }

  /** Subscriptions by channel kind of one app, for /metrics. */
  subscriptionsByKind(appId: string): Map<ChannelKind, number> {
    return this.apps.get(appId)?.subscriptionsByKind() ?? new Map();
  }

  /** Drops expired cache entries of every app. */
  sweepCaches(nowMs: number): void {
    for (const channels of this.apps.values()) channels.cache.sweep(nowMs);
  }
}
