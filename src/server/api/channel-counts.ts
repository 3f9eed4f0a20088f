import type { App } from "../../apps/app.js";
import { channelKind } from "../../protocol/channel-names.js";
import type { Occupancy, Presence } from "../../cluster/cluster.js";

/** The endpoints that read counts use these. */
export interface CountServices {
  readonly occupancy: Occupancy;
  readonly presence: Presence;
}

export interface ChannelCounts {
  user_count?: number;
  subscription_count?: number;
}

/** The counts an `info` list asks for; user_count exists for presence channels only. */
export async function channelCounts(ctx: CountServices, app: App, channel: string, info: ReadonlySet<string>): Promise<ChannelCounts> {
  const counts: ChannelCounts = {};
  if (info.has("user_count") && channelKind(channel) === "presence") counts.user_count = await ctx.presence.userCount(app.id, channel);
  if (info.has("subscription_count")) counts.subscription_count = await ctx.occupancy.subscriptionCount(app.id, channel);
  return counts;
}
