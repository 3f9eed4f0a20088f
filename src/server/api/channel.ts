/** `GET /apps/{app_id}/channels/{channel_name}`: whether a channel is occupied, with counts, the cached event and the kept events' number on request. */
import { channelKind, channelNameProblem, isCacheChannel } from "../../protocol/channel-names.js";
import { infoAttributes } from "./info.js";
import type { ChannelBuffers, EventCache } from "../../cluster/cluster.js";
import type { CountServices } from "./channel-counts.js";
import { badRequest, ok, type Endpoint } from "./signed-endpoint.js";

export const channelInfo = (ctx: CountServices & { readonly eventCache: EventCache; readonly channelBuffers: ChannelBuffers }): Endpoint => async ({ app, query, params }) => {
  const name = params[0]!;
  const problem = channelNameProblem(name, app.maxChannelNameLength);
  if (problem) return badRequest(problem);
  const info = infoAttributes(query);
  const isPresence = channelKind(name) === "presence";
  if (info.has("user_count") && !isPresence) return badRequest("info=user_count is only available for presence channels.");
  if (info.has("cache") && !isCacheChannel(name)) return badRequest("info=cache is only available for cache channels (cache-, private-cache-, presence-cache-, private-encrypted-cache-).");

  const subscriptionCount = await ctx.occupancy.subscriptionCount(app.id, name);
  const body: {
    occupied: boolean;
    user_count?: number;
    subscription_count?: number;
    cache?: { event: string; data: string; ttl: number };
    buffered?: number;
  } = { occupied: subscriptionCount > 0 };
  if (info.has("user_count")) body.user_count = await ctx.presence.userCount(app.id, name);
  if (info.has("subscription_count")) body.subscription_count = subscriptionCount;
  if (info.has("cache")) {
    const cached = await ctx.eventCache.get(app.id, name);
    const now = Date.now();
    // Seconds the cached event has left; no "cache" key when nothing is cached.
    if (cached) body.cache = { event: cached.event, data: cached.data, ttl: Math.ceil((cached.expiresAt - now) / 1000) };
  }
  // Kept events waiting for the channel's next subscriber (0 where no vacantChannelBuffers rule applies).
  if (info.has("buffered")) body.buffered = await ctx.channelBuffers.waiting(app.id, name);
  return ok(body);
};
