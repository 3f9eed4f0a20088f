/**
 * Client events (`client-*`) relayed from one socket to the other subscribers of
 * a private or presence channel, with every rule of the Pusher protocol.
 */
import type { App } from "../apps/app.js";
import { RateWindow } from "../apps/rate-window.js";
import { channelKind } from "../protocol/channel-names.js";
import type { ClientFrame } from "../protocol/client-frames.js";
import { ErrorCode } from "../protocol/error-codes.js";
import * as frames from "../protocol/server-frames.js";
import type { Connection, PusherSocket } from "./connection.js";
import type { Broker } from "../cluster/cluster.js";
import { payloadFields } from "../console/entries.js";
import type { ConsoleTap } from "../console/tap.js";
import type { NodeCounters } from "../metrics/counters.js";
import type { Webhooks } from "../webhooks/webhooks.js";

/** What relaying a client event uses. */
export interface ClientEventServices {
  readonly broker: Broker;
  readonly counters: NodeCounters;
  readonly tap: ConsoleTap;
  /** For client_event webhooks. */
  readonly webhooks: Webhooks;
}

type ClientEvent = Extract<ClientFrame, { kind: "client-event" }>;

/** `nowSecond` is a coarse clock second, which the per-socket rate window counts in. */
export function relayClientEvent(ctx: ClientEventServices, ws: PusherSocket, app: App, request: ClientEvent, nowSecond: number): void {
  const connection = ws.getUserData();
  const problem = clientEventProblem(app, connection, request);
  if (problem) {
    ws.send(frames.pusherError(ErrorCode.FrameRejected, problem));
    return;
  }
  const data = typeof request.data === "string" ? request.data : JSON.stringify(request.data ?? {});
  const dataBytes = Buffer.byteLength(data);
  if (dataBytes > app.maxEventPayloadInKb * 1024) {
    ws.send(frames.pusherError(ErrorCode.FrameRejected, `The data of ${request.event} is ${dataBytes} bytes; this app allows ${app.maxEventPayloadInKb} KB.`));
    return;
  }
  // Only events that would be relayed count against the allowance.
  const limit = app.maxClientEventsPerSecond;
  if (limit >= 0 && !(connection.clientEvents ??= new RateWindow()).tryTake(1, limit, nowSecond)) {
    ctx.counters.of(app.id).rateLimited.client_events += 1;
    if (ctx.tap.watching(app.id)) ctx.tap.emit(app.id, { type: "rate_limited", socketId: connection.socketId, channel: request.channel, detail: `client events over ${limit} per second` });
    ws.send(frames.pusherError(ErrorCode.ClientEventRateLimited, `Client event rejected: this app allows ${limit} client events per second per connection.`));
    return;
  }
  const userId = connection.channels!.get(request.channel);
  ctx.broker.publish({
    appId: app.id,
    channel: request.channel,
    frame: frames.channelEvent(request.event, request.channel, data, userId),
    exceptSocketId: connection.socketId,
  });
  ctx.webhooks.clientEvent(app, request.channel, request.event, data, connection.socketId, userId);
  if (ctx.tap.watching(app.id)) {
    ctx.tap.emit(app.id, { type: "client_event", socketId: connection.socketId, channel: request.channel, event: request.event, userId, ...payloadFields(data) });
  }
}

function clientEventProblem(app: App, connection: Connection, { event, channel }: ClientEvent): string | null {
  if (!app.enableClientMessages) {
    return "Client events are disabled for this app; set \"enableClientMessages\": true in apps.json to allow them.";
  }
  const kind = channelKind(channel);
  if (kind === "encrypted") return "Client events are not allowed on private-encrypted- channels.";
  if (kind !== "private" && kind !== "presence") {
    return `Client events are only allowed on private- and presence- channels, not on ${channel.slice(0, 200)}.`;
  }
  if (!connection.channels?.has(channel)) return `Subscribe to ${channel} before sending client events on it.`;
  if (event.length > app.maxEventNameLength) {
    return `The event name is ${event.length} characters long; this app allows ${app.maxEventNameLength}.`;
  }
  return null;
}
