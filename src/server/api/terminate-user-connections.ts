/**
 * `POST /apps/{app_id}/users/{user_id}/terminate_connections`: closes every socket
 * signed in as that user, on every node, with 4009.
 */
import type { Broker } from "../../cluster/cluster.js";
import { badRequest, ok, type Endpoint } from "./signed-endpoint.js";

export const terminateUserConnections = (ctx: { readonly broker: Broker }): Endpoint => ({ app, params }) => {
  const userId = params[0]!;
  if (userId.length === 0) return badRequest("The user id in the path is empty.");
  ctx.broker.terminateUser(app.id, userId);
  return ok();
};
