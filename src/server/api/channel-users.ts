/** `GET /apps/{app_id}/channels/{channel_name}/users`: the user ids in a presence channel. */
import { channelKind, channelNameProblem } from "../../protocol/channel-names.js";
import type { Presence } from "../../cluster/cluster.js";
import { badRequest, ok, type Endpoint } from "./signed-endpoint.js";

export const channelUsers = (ctx: { readonly presence: Presence }): Endpoint => async ({ app, params }) => {
  const name = params[0]!;
  const problem = channelNameProblem(name, app.maxChannelNameLength);
  if (problem) return badRequest(problem);
  if (channelKind(name) !== "presence") return badRequest(`${name} is not a presence channel; only presence channels have users.`);
  const users = (await ctx.presence.userIds(app.id, name)).map((id) => ({ id }));
  return ok({ users });
};
