/** Ends a Pusher connection as protocol/closes.ts decided: the `pusher:error` first, if any, then the close. */
import type { Closing } from "../protocol/closes.js";
import { pusherError } from "../protocol/server-frames.js";
import type { WebSocket } from "./uws.js";

export function closeConnection<T>(ws: WebSocket<T>, closing: Closing): void {
  if (closing.message !== undefined) ws.send(pusherError(closing.code, closing.message));
  ws.end(closing.code, closing.reason);
}
