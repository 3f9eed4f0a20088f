/**
 * pusher:subscribe and pusher:unsubscribe for one socket, and the release of all
 * its channels when it closes.
 */
import type { App } from "../apps/app.js";
import { channelKind, channelNameProblem, isCacheChannel, requiresAuth, SERVER_TO_USER_PREFIX } from "../protocol/channel-names.js";
import { parseChannelData, type ClientFrame, type ParsedChannelData } from "../protocol/client-frames.js";
import type { SignedInUser } from "../protocol/user-data.js";
import * as frames from "../protocol/server-frames.js";
import { verifyChannelAuth, verifyPrivateChannelAuth } from "../protocol/signatures.js";
import type { Connection } from "./connection.js";
import type { NodeContext } from "./node-context.js";
import { settle } from "./settle.js";
import { topicOf } from "./topics.js";
import type { WebSocket } from "./uws.js";

type Subscribe = Extract<ClientFrame, { kind: "subscribe" }>;

export function subscribe(ctx: NodeContext, ws: WebSocket<Connection>, app: App, request: Subscribe): void {
  const connection = ws.getUserData();
  const { channel } = request;
  const fail = (type: string, error: string, status: number) => {
    if (ctx.log.isLevelEnabled("debug")) ctx.log.debug({ appId: app.id, socketId: connection.socketId, channel: channel.slice(0, 200), type, status, error }, "subscription refused");
    if (ctx.tap.watching(app.id)) ctx.tap.emit(app.id, { type: "subscription_refused", socketId: connection.socketId, channel: channel.slice(0, 200), status, detail: `${type}: ${error}` });
    ws.send(frames.subscriptionError(channel, type, error, status));
  };

  const nameProblem = channelNameProblem(channel, app.maxChannelNameLength);
  if (nameProblem) return fail("InvalidChannel", nameProblem, 400);
  const kind = channelKind(channel);
  if (kind === "server-to-user") {
    const user = connection.user;
    if (!user || channel !== SERVER_TO_USER_PREFIX + user.id) {
      return fail("AuthError", `Only a connection signed in (pusher:signin) as user ${channel.slice(SERVER_TO_USER_PREFIX.length)} can subscribe to ${channel}.`, 401);
    }
  } else if (channel.startsWith("#")) {
    return fail("InvalidChannel", "Channel names starting with # are reserved for the server.", 400);
  }
  // pusher-js leaves out channel_data on presence channels once the socket has signed in.
  const channelData = kind === "presence" ? request.channelData : undefined;
  if (requiresAuth(kind)) {
    if (kind === "presence" && channelData === undefined && !connection.user) {
      return fail("AuthError", "A presence subscription needs channel_data, the JSON string your auth endpoint returned, or a signed-in connection.", 401);
    }
    const signed = kind === "presence"
      ? verifyChannelAuth(request.auth, app, connection.socketId, channel, channelData)
      : verifyPrivateChannelAuth(request.auth, app, connection.socketId, channel, request.channelData);
    if (!signed) {
      return fail(
        "AuthError",
        `Invalid signature for ${channel}: the auth must be "<app key>:<HMAC-SHA256 of socket_id:channel, or socket_id:channel:channel_data when channel_data is sent>" signed with this app's secret.`,
        401,
      );
    }
  }

  const channels = ctx.channels.forApp(app.id);
  if (connection.channels?.has(channel)) {
    // A repeated subscribe changes nothing but is answered, so the client's state machine completes.
    ws.send(frames.subscriptionSucceeded(channel, kind === "presence" ? { presence: channels.presenceSnapshot(channel) } : {}));
    return;
  }

  if (kind !== "presence") {
    channels.subscribe(channel);
    track(ws, connection, app, channel, undefined);
    ws.send(frames.subscriptionSucceeded(channel));
    if (ctx.tap.watching(app.id)) ctx.tap.emit(app.id, { type: "subscribed", socketId: connection.socketId, channel });
    ctx.occupancy.changed(app, channel, true);
    replayCache(ctx, ws, app, channel);
    ctx.subscriptionCounts.changed(app, channel);
    return;
  }

  const member = channelData !== undefined ? parseChannelData(channelData) : signedInMember(connection.user!);
  if (!member.ok) return fail("InvalidChannelData", member.message, 400);
  const { userId, userInfo } = member.member;
  const infoBytes = Buffer.byteLength(JSON.stringify(userInfo ?? null));
  if (infoBytes > app.maxPresenceMemberSizeInKb * 1024) {
    return fail("LimitReached", `user_info is ${infoBytes} bytes; this app allows ${app.maxPresenceMemberSizeInKb} KB per member.`, 413);
  }
  const joined = channels.joinPresence(channel, userId, userInfo, app.maxPresenceMembersPerChannel);
  if (!joined.ok) return fail("LimitReached", joined.reason, 403);
  track(ws, connection, app, channel, userId);
  ctx.occupancy.changed(app, channel, true);
  settle(ctx, ctx.presence.join(app, channel, userId, userInfo, joined.firstSocketOfUser, joined.members), (cluster) => {
    if (!cluster.ok) {
      // Full on other nodes: this node's part of the join is undone without a word to anyone.
      if (connection.open && connection.channels?.delete(channel)) {
        ws.unsubscribe(topicOf(app.id, channel));
        channels.leave(channel, userId);
        ctx.occupancy.changed(app, channel, false);
      }
      if (connection.open) fail("LimitReached", cluster.reason, 403);
      return;
    }
    if (cluster.added) {
      announceMemberAdded(ctx, app, channel, userId, userInfo, connection.socketId);
    }
    if (!connection.open || !connection.channels?.has(channel)) return;
    ws.send(frames.subscriptionSucceeded(channel, { presence: cluster.members }));
    if (ctx.tap.watching(app.id)) ctx.tap.emit(app.id, { type: "subscribed", socketId: connection.socketId, channel, userId });
    replayCache(ctx, ws, app, channel);
  });
}

export function unsubscribe(ctx: NodeContext, ws: WebSocket<Connection>, app: App, channel: string): void {
  const connection = ws.getUserData();
  if (!connection.channels?.has(channel)) return;
  const userId = connection.channels.get(channel);
  connection.channels.delete(channel);
  ws.unsubscribe(topicOf(app.id, channel));
  if (ctx.tap.watching(app.id)) ctx.tap.emit(app.id, { type: "unsubscribed", socketId: connection.socketId, channel });
  release(ctx, app, channel, userId);
}

/** Releases every channel of a closed socket (uWS has already dropped its topics). */
export function releaseAll(ctx: NodeContext, app: App, connection: Connection): void {
  if (!connection.channels) return;
  for (const [channel, userId] of connection.channels) release(ctx, app, channel, userId);
  connection.channels = undefined;
}

/** A signed-in socket joins presence channels as its user, with the user_info it signed in with. */
function signedInMember(user: SignedInUser): ParsedChannelData {
  return { ok: true, member: { userId: user.id, userInfo: user.info } };
}

/** A new subscriber of a cache channel gets its last event, or word that there is none. */
function replayCache(ctx: NodeContext, ws: WebSocket<Connection>, app: App, channel: string): void {
  if (!isCacheChannel(channel)) return;
  const connection = ws.getUserData();
  settle(ctx, ctx.eventCache.get(app.id, channel), (cached) => {
    if (!connection.open) return;
    if (cached) {
      ws.send(cached.frame);
      return;
    }
    ws.send(frames.cacheMiss(channel));
    ctx.webhooks.cacheMiss(app, channel);
    if (ctx.tap.watching(app.id)) ctx.tap.emit(app.id, { type: "cache_miss", socketId: connection.socketId, channel });
  });
}

function track(ws: WebSocket<Connection>, connection: Connection, app: App, channel: string, userId: string | undefined): void {
  ws.subscribe(topicOf(app.id, channel));
  (connection.channels ??= new Map()).set(channel, userId);
}

function release(ctx: NodeContext, app: App, channel: string, userId: string | undefined): void {
  const lastSocketOfUser = ctx.channels.forApp(app.id).leave(channel, userId);
  ctx.occupancy.changed(app, channel, false);
  ctx.subscriptionCounts.changed(app, channel);
  if (lastSocketOfUser && userId !== undefined) {
    settle(ctx, ctx.presence.leave(app, channel, userId), (leftEverywhere) => {
      if (leftEverywhere) announceMemberRemoved(ctx, app, channel, userId);
    });
  }
}

/** Tells the channel's subscribers on every node, but `exceptSocketId`, that a user joined it. */
export function announceMemberAdded(ctx: NodeContext, app: App, channel: string, userId: string, userInfo: unknown, exceptSocketId?: string): void {
  ctx.broker.publish({ appId: app.id, channel, frame: frames.memberAdded(channel, userId, userInfo), exceptSocketId });
}

/** Tells the channel's subscribers on every node that a user left it (presence reports it to webhooks). */
export function announceMemberRemoved(ctx: NodeContext, app: App, channel: string, userId: string): void {
  ctx.broker.publish({ appId: app.id, channel, frame: frames.memberRemoved(channel, userId) });
}

