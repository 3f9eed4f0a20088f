/**
 * `POST /apps/{app_id}/users/{user_id}/terminate_connections`: closes every socket
 * signed in as that user with 4009, after which pusher-js does not reconnect.
 */
import { ErrorCode } from "../../protocol/error-codes.js";
import * as frames from "../../protocol/server-frames.js";
import { badRequest, ok, type Endpoint } from "./signed-endpoint.js";

export const terminateUserConnections: Endpoint = ({ app, params }, ctx) => {
  const userId = params[0]!;
  if (userId.length === 0) return badRequest("The user id in the path is empty.");
  for (const ws of ctx.users.socketsOf(app.id, userId)) {
    ws.send(frames.pusherError(ErrorCode.Unauthorized, "The app terminated this user's connections."));
    ws.end(ErrorCode.Unauthorized, "Connection terminated by the app");
  }
  return ok();
};
