/** `GET /apps/{app_id}/channels/{channel_name}`: whether a channel is occupied, with counts on request. */
import { channelKind, channelNameProblem } from "../../protocol/channel-names.js";
import { infoAttributes } from "./info.js";
import { badRequest, ok, type Endpoint } from "./signed-endpoint.js";

export const channelInfo: Endpoint = ({ app, query, params }, ctx) => {
  const name = params[0]!;
  const problem = channelNameProblem(name, app.maxChannelNameLength);
  if (problem) return badRequest(problem);
  const info = infoAttributes(query);
  const isPresence = channelKind(name) === "presence";
  if (info.has("user_count") && !isPresence) return badRequest("info=user_count is only available for presence channels.");

  const channels = ctx.channels.forApp(app.id);
  const subscriptionCount = channels.subscriptionCount(name);
  const body: { occupied: boolean; user_count?: number; subscription_count?: number } = { occupied: subscriptionCount > 0 };
  if (info.has("user_count")) body.user_count = channels.userCount(name);
  if (info.has("subscription_count")) body.subscription_count = subscriptionCount;
  return ok(body);
};
