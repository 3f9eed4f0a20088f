/** Ends a Pusher connection as protocol/closes.ts decided: the `pusher:error` first, if any, then the close. */
import type { Closing } from "../protocol/closes.js";
import { pusherError } from "../protocol/server-frames.js";
import type { PusherSocket } from "./connection.js";

export function closeConnection(socket: PusherSocket, closing: Closing): void {
  if (closing.message !== undefined) socket.send(pusherError(closing.code, closing.message));
  socket.end(closing.code, closing.reason);
}
