/** `GET /apps/{app_id}/channels`: the occupied channels, optionally by prefix, with user counts for presence. */
import { badRequest, ok, type Endpoint } from "./signed-endpoint.js";
import { infoAttributes } from "./info.js";
import type { CountServices } from "./channel-counts.js";

export const listChannels = (ctx: CountServices): Endpoint => async ({ app, query }) => {
  const prefix = query.get("filter_by_prefix") ?? "";
  const info = infoAttributes(query);
  const withUserCount = info.has("user_count");
  if (withUserCount && !prefix.startsWith("presence-")) {
    return badRequest("info=user_count is only available with filter_by_prefix=presence- (user counts exist for presence channels only).");
  }
  const names = await ctx.occupancy.occupiedChannels(app.id, prefix);
  const userCounts = withUserCount ? await Promise.all(names.map((name) => ctx.presence.userCount(app.id, name))) : [];
  const result: Record<string, { user_count?: number }> = {};
  names.forEach((name, index) => (result[name] = withUserCount ? { user_count: userCounts[index]! } : {}));
  return ok({ channels: result });
};
