import { bufferRuleFor, type App } from "../apps/app.js";
import type { EventCache } from "../cluster/cluster.js";
import { isCacheChannel } from "../protocol/channel-names.js";

/**
 * Whether the channel's live events go through the store that keeps its last event, in order
 * with its answers to a new subscriber's replay (EventCache.publish, the threads' hub): then
 * the subscriber joins the channel's topic with its replay. Not for a channel under one of
 * the app's vacantChannelBuffers rules, whose events may be kept on their way instead.
 */
export function cacheInOrder(eventCache: EventCache, app: App, channel: string): boolean {
  return eventCache.publish !== undefined && isCacheChannel(channel) && (app.vacantChannelBuffers.length === 0 || bufferRuleFor(app, channel) === undefined);
}
