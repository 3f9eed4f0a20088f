import type { App } from "../../apps/app.js";
import type { TriggeredEvent } from "../../protocol/http-events.js";
import { channelEventEncoder } from "../../protocol/server-frames.js";
import type { NodeContext } from "../node-context.js";

/** Publishes a validated event to each of its channels, one encoded frame per channel. */
export function publishEvent(ctx: NodeContext, app: App, event: TriggeredEvent): void {
  const encode = channelEventEncoder(event.name, event.data);
  for (const channel of event.channels) {
    ctx.broker.publish({ appId: app.id, channel, frame: encode(channel), exceptSocketId: event.socketId });
  }
}
