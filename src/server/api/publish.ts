import { bufferRuleFor, type App } from "../../apps/app.js";
import { isCacheChannel } from "../../protocol/channel-names.js";
import type { TriggeredEvent } from "../../protocol/http-events.js";
import { channelEventEncoder } from "../../protocol/server-frames.js";
import type { Broker, EventCache } from "../../cluster/cluster.js";
import { payloadFields } from "../../console/entries.js";
import type { ConsoleTap } from "../../console/tap.js";
import type { VacantChannels } from "../vacant-channels.js";
import { cacheInOrder } from "../cache-in-order.js";

/** What publishing an HTTP API event uses. */
export interface PublishServices {
  readonly tap: ConsoleTap;
  readonly eventCache: EventCache;
  readonly broker: Broker;
  readonly vacant: VacantChannels;
}

/**
 * Publishes a validated event to each of its channels, one encoded frame per
 * channel, and keeps it as the last event of the cache channels among them (the
 * store of which may send it too: EventCache.publish). A
 * channel under one of the app's vacantChannelBuffers rules may keep it instead:
 * when that is decided later, the result settles once it is, and the API answers
 * then (VacantChannels.publish).
 */
export function publishEvent(ctx: PublishServices, app: App, event: TriggeredEvent): Promise<unknown> | undefined {
  if (ctx.tap.watching(app.id)) {
    ctx.tap.emit(app.id, { type: "api_event", event: event.name, channels: event.channels, exceptSocketId: event.socketId, ...payloadFields(event.data) });
  }
  const encode = channelEventEncoder(event.name, event.data);
  let deciding: Array<Promise<void>> | undefined;
  for (const channel of event.channels) {
    const frame = encode(channel);
    const message = { appId: app.id, channel, frame, exceptSocketId: event.socketId };
    if (cacheInOrder(ctx.eventCache, app, channel)) {
      ctx.eventCache.publish!(message, event.name, event.data);
      continue;
    }
    if (isCacheChannel(channel)) ctx.eventCache.set(app.id, channel, event.name, event.data, frame);
    const rule = app.vacantChannelBuffers.length === 0 ? undefined : bufferRuleFor(app, channel);
    if (rule === undefined) ctx.broker.publish(message);
    else {
      const decision = ctx.vacant.publish(app, rule, message);
      if (decision) (deciding ??= []).push(decision);
    }
  }
  return deciding && Promise.all(deciding);
}
