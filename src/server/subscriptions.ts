/**
 * pusher:subscribe and pusher:unsubscribe for one socket, and the release of all
 * its channels when it closes.
 */
import { bufferRuleFor, type App } from "../apps/app.js";
import { isCacheChannel } from "../protocol/channel-names.js";
import type { PresenceMember } from "../protocol/client-frames.js";
import * as frames from "../protocol/server-frames.js";
import { checkSubscription, type SubscribeRequest, type SubscriptionRefusal } from "../protocol/subscription-rules.js";
import type { CachedEvent } from "../channels/channel-cache.js";
import type { ChannelDirectory } from "../channels/channel-directory.js";
import type { Broker, ClusterJoin, EventCache, Occupancy, Presence } from "../cluster/cluster.js";
import type { ConsoleTap } from "../console/tap.js";
import type { Logger } from "../logger.js";
import type { Webhooks } from "../webhooks/webhooks.js";
import { cacheInOrder } from "./cache-in-order.js";
import type { Connection, PusherSocket } from "./connection.js";
import { settle } from "./settle.js";
import type { SubscriptionCounts } from "./subscription-counts.js";
import { topicOf } from "./topics.js";
import type { VacantChannels } from "./vacant-channels.js";

/** What subscribing, unsubscribing and the presence announcements use. */
export interface SubscriptionServices {
  readonly log: Logger;
  readonly tap: ConsoleTap;
  /** This node's subscribers and presence members. */
  readonly channels: ChannelDirectory;
  readonly occupancy: Occupancy;
  readonly presence: Presence;
  /** Cache channels' last events, replayed to new subscribers. */
  readonly eventCache: EventCache;
  readonly subscriptionCounts: SubscriptionCounts;
  readonly broker: Broker;
  /** For cache_miss. */
  readonly webhooks: Webhooks;
  /** Hands what was kept for a vacant channel to the subscriber that occupies it again. */
  readonly vacant: VacantChannels;
}

/** Answers a `pusher:subscribe`: refused as the rules say, or joined to a plain or a presence channel. */
export function subscribe(ctx: SubscriptionServices, socket: PusherSocket, app: App, request: SubscribeRequest): void {
  const connection = socket.getUserData();
  const { channel } = request;
  const check = checkSubscription(app, connection.socketId, connection.user, request);
  if (!check.ok) return refuse(ctx, socket, app, channel, check.refusal);
  if (connection.channels?.has(channel)) return answerAgain(ctx, socket, app, channel, check.kind === "presence");
  if (check.kind === "presence") joinPresenceChannel(ctx, socket, app, channel, check.member);
  else joinChannel(ctx, socket, app, channel);
}

/**
 * A repeated subscribe changes nothing but is answered, so the client's state machine
 * completes; for a presence channel with the members of every thread and node, as the first
 * answer had (this node's own, while the cluster cannot be read).
 */
function answerAgain(ctx: SubscriptionServices, socket: PusherSocket, app: App, channel: string, presence: boolean): void {
  if (!presence) {
    socket.send(frames.subscriptionSucceeded(channel));
    return;
  }
  const connection = socket.getUserData();
  const answer = (members: frames.PresenceData) => {
    if (connection.open && connection.channels?.has(channel)) socket.send(frames.subscriptionSucceeded(channel, members));
  };
  ctx.presence.members(app.id, channel).then(
    (members) => answer(frames.presenceDataOf(members)),
    () => answer(ctx.channels.forApp(app.id).presenceData(channel)),
  );
}

function refuse(ctx: SubscriptionServices, socket: PusherSocket, app: App, channel: string, { type, error, status }: SubscriptionRefusal): void {
  const { socketId } = socket.getUserData();
  if (ctx.log.isLevelEnabled("debug")) ctx.log.debug({ appId: app.id, socketId, channel: channel.slice(0, 200), type, status, error }, "subscription refused");
  if (ctx.tap.watching(app.id)) ctx.tap.emit(app.id, { type: "subscription_refused", socketId, channel: channel.slice(0, 200), status, detail: `${type}: ${error}` });
  socket.send(frames.subscriptionError(channel, type, error, status));
}

/**
 * Public, private, encrypted and #server-to-user channels: joined at once; a cache channel
 * whose store sends its events in order with its replay (cacheInOrder), with the replay.
 */
function joinChannel(ctx: SubscriptionServices, socket: PusherSocket, app: App, channel: string): void {
  const connection = socket.getUserData();
  ctx.channels.forApp(app.id).subscribe(channel);
  const withReplay = cacheInOrder(ctx.eventCache, app, channel);
  track(socket, connection, app, channel, undefined, !withReplay);
  // Reported before the client hears it is in: an API read it makes next (through any node or thread) finds it.
  // It is also what brings the channel's events to this thread from the hub.
  ctx.occupancy.changed(app, channel, true);
  if (withReplay) return joinWithReplay(ctx, socket, app, channel);
  const claim = claimKept(ctx, socket, app, channel);
  if (claim?.kept instanceof Promise) joinOnceClaimed(ctx, socket, app, channel, claim.kept, claim.handOver);
  else {
    joined(ctx, socket, app, channel);
    replayCache(ctx, socket, app, channel, claim && (() => claim.handOver(claim.kept as string[])));
  }
  ctx.subscriptionCounts.changed(app, channel);
}

/**
 * The store answers the replay in order with the channel's events: the socket takes them from
 * its answer on. (No vacantChannelBuffers rule covers such a channel: nothing is kept for it.)
 */
function joinWithReplay(ctx: SubscriptionServices, socket: PusherSocket, app: App, channel: string): void {
  const connection = socket.getUserData();
  settle(ctx.log, readCache(ctx, app, channel), (cached) => {
    // Gone meanwhile: unsubscribe() or the close has released it.
    if (!connection.open || !connection.channels?.has(channel)) return;
    socket.subscribe(topicOf(app.id, channel));
    joined(ctx, socket, app, channel);
    replayed(ctx, socket, app, channel, cached);
    ctx.subscriptionCounts.changed(app, channel);
  });
}

/**
 * The first subscriber here of a buffered channel whose store answers later (the threads' hub, Redis)
 * hears it is in once its claim is answered, which the store does after this node's count, sent
 * before the claim: an event published after subscription_succeeded, through any thread or node,
 * then finds the channel occupied and is never kept in its stead (pushing a kept one out).
 */
function joinOnceClaimed(ctx: SubscriptionServices, socket: PusherSocket, app: App, channel: string, claimed: Promise<string[]>, handOver: (kept: readonly string[]) => void): void {
  const connection = socket.getUserData();
  settle(ctx.log, claimed, (kept) => {
    if (!connection.open || !connection.channels?.has(channel)) return handOver(kept); // to nobody: published again
    joined(ctx, socket, app, channel);
    replayCache(ctx, socket, app, channel, () => handOver(kept));
  });
}

function joined(ctx: SubscriptionServices, socket: PusherSocket, app: App, channel: string): void {
  socket.send(frames.subscriptionSucceeded(channel));
  if (ctx.tap.watching(app.id)) ctx.tap.emit(app.id, { type: "subscribed", socketId: socket.getUserData().socketId, channel });
}

/** Presence channels: joined on this node, then in the cluster, which may still find the channel full. */
function joinPresenceChannel(ctx: SubscriptionServices, socket: PusherSocket, app: App, channel: string, { userId, userInfo }: PresenceMember): void {
  const connection = socket.getUserData();
  const channels = ctx.channels.forApp(app.id);
  const joined = channels.joinPresence(channel, userId, userInfo, app.maxPresenceMembersPerChannel);
  if (!joined.ok) return refuse(ctx, socket, app, channel, { type: "LimitReached", error: joined.reason, status: 403 });
  // Unless the store sends its answer in order with the members' frames (Presence.inOrder), the
  // topic is joined before it answers: a member_added from another node can overtake the answer,
  // and must not be lost (one the answer's list already has is repeated).
  track(socket, connection, app, channel, userId, !ctx.presence.inOrder);
  ctx.occupancy.changed(app, channel, true);
  const claim = claimKept(ctx, socket, app, channel);
  const handOver = claim && (() => settle(ctx.log, claim.kept, claim.handOver));
  const announce = { appId: app.id, channel, frame: frames.memberAdded(channel, userId, userInfo), exceptSocketId: connection.socketId };
  const answer = ctx.presence.join(app, channel, userId, userInfo, joined.firstSocketOfUser, () => channels.presenceData(channel), announce);
  // In order (the threads' hub): the replay, read in the same breath, is answered right after the
  // join. Caught at once: a join refused or cut short leaves it unread.
  const replay = ctx.eventCache.getWithJoin && cacheInOrder(ctx.eventCache, app, channel) ? ctx.eventCache.getWithJoin(app.id, channel).catch(() => undefined) : undefined;
  // While the cluster answers, the channel's frames here wait: none may reach this socket before its subscription_succeeded.
  const release = answer instanceof Promise && !ctx.presence.inOrder ? ctx.vacant.holdFrames(app.id, channel, frames.memberRemoved(channel, userId)) : undefined;
  settle(ctx.log, answer, (cluster) => {
    try {
      joinAnswered(ctx, socket, app, channel, userId, cluster, handOver, replay);
    } finally {
      release?.();
    }
  });
}

/** The cluster answered a presence join: subscription_succeeded, or the refusal. `replay`: a cache channel's, read with the join. */
function joinAnswered(ctx: SubscriptionServices, socket: PusherSocket, app: App, channel: string, userId: string, cluster: ClusterJoin, handOver: (() => void) | undefined, replay: Promise<CachedEvent | undefined> | undefined): void {
  const connection = socket.getUserData();
  const channels = ctx.channels.forApp(app.id);
  if (!cluster.ok || !connection.open || !connection.channels?.has(channel)) handOver?.(); // to nobody: what it took is published again
  if (!cluster.ok) {
    // Full on other nodes: this node's part of the join is undone without a word to anyone.
    if (connection.open && connection.channels?.delete(channel)) {
      socket.unsubscribe(topicOf(app.id, channel));
      channels.leave(channel, userId);
      ctx.occupancy.changed(app, channel, false);
    }
    if (connection.open) refuse(ctx, socket, app, channel, { type: "LimitReached", error: cluster.reason, status: 403 });
    return;
  }
  if (!connection.open || !connection.channels?.has(channel)) return;
  // In order: from here on, the channel's frames are those its list does not have.
  if (ctx.presence.inOrder) socket.subscribe(topicOf(app.id, channel));
  socket.send(frames.subscriptionSucceeded(channel, cluster.members));
  if (ctx.tap.watching(app.id)) ctx.tap.emit(app.id, { type: "subscribed", socketId: connection.socketId, channel, userId });
  replayCache(ctx, socket, app, channel, handOver, replay);
}

export function unsubscribe(ctx: SubscriptionServices, socket: PusherSocket, app: App, channel: string): void {
  const connection = socket.getUserData();
  if (!connection.channels?.has(channel)) return;
  const userId = connection.channels.get(channel);
  connection.channels.delete(channel);
  socket.unsubscribe(topicOf(app.id, channel));
  if (ctx.tap.watching(app.id)) ctx.tap.emit(app.id, { type: "unsubscribed", socketId: connection.socketId, channel });
  release(ctx, app, channel, userId);
}

/** Releases every channel of a closed socket (uWS has already dropped its topics). */
export function releaseAll(ctx: SubscriptionServices, app: App, connection: Connection): void {
  if (!connection.channels) return;
  for (const [channel, userId] of connection.channels) release(ctx, app, channel, userId);
  connection.channels = undefined;
}

/**
 * The socket that makes a buffered channel occupied on this node takes what was kept
 * for it (call after Occupancy.changed): `kept`, now or later, and `handOver`, to be
 * called with it once, after subscription_succeeded and the cache replay (until then
 * the channel's live frames here wait); undefined when there is nothing to claim.
 */
function claimKept(ctx: SubscriptionServices, socket: PusherSocket, app: App, channel: string): { kept: string[] | Promise<string[]>; handOver: (kept: readonly string[]) => void } | undefined {
  if (app.vacantChannelBuffers.length === 0) return undefined;
  const rule = bufferRuleFor(app, channel);
  if (!rule || ctx.channels.forApp(app.id).subscriptionCount(channel) !== 1) return undefined;
  const kept = ctx.vacant.claim(app, channel);
  // A claim the store cannot answer hands nothing over (what was kept waits for the next first subscriber).
  return { kept: kept instanceof Promise ? kept.catch(() => []) : kept, handOver: (taken) => ctx.vacant.handOver(socket, app, channel, rule, taken) };
}

/** A new subscriber of a cache channel gets its last event (`read` already, or read now), or word that there is none; then `then` runs. */
function replayCache(ctx: SubscriptionServices, socket: PusherSocket, app: App, channel: string, then?: () => void, read?: Promise<CachedEvent | undefined>): void {
  if (!isCacheChannel(channel)) return then?.();
  settle(ctx.log, readCache(ctx, app, channel, read), (cached) => {
    replayed(ctx, socket, app, channel, cached);
    then?.();
  });
}

/** A cache that cannot be read is a miss: the subscriber still gets what follows. */
function readCache(ctx: SubscriptionServices, app: App, channel: string, read = ctx.eventCache.get(app.id, channel)): CachedEvent | undefined | Promise<CachedEvent | undefined> {
  return read instanceof Promise ? read.catch(() => undefined) : read;
}

function replayed(ctx: SubscriptionServices, socket: PusherSocket, app: App, channel: string, cached: CachedEvent | undefined): void {
  const connection = socket.getUserData();
  if (!connection.open) return;
  if (cached) {
    socket.send(cached.frame);
    return;
  }
  socket.send(frames.cacheMiss(channel));
  ctx.webhooks.cacheMiss(app, channel);
  if (ctx.tap.watching(app.id)) ctx.tap.emit(app.id, { type: "cache_miss", socketId: connection.socketId, channel });
}

/** The socket is in the channel; `topic`: it takes the channel's frames from now (else the answer it waits for subscribes it: a presence join's, a cache replay's). */
function track(socket: PusherSocket, connection: Connection, app: App, channel: string, userId: string | undefined, topic = true): void {
  if (topic) socket.subscribe(topicOf(app.id, channel));
  (connection.channels ??= new Map()).set(channel, userId);
}

function release(ctx: SubscriptionServices, app: App, channel: string, userId: string | undefined): void {
  const lastSocketOfUser = ctx.channels.forApp(app.id).leave(channel, userId);
  ctx.occupancy.changed(app, channel, false);
  ctx.subscriptionCounts.changed(app, channel);
  if (lastSocketOfUser && userId !== undefined) {
    settle(ctx.log, ctx.presence.leave(app, channel, userId), (leftEverywhere) => {
      // In order, the store has sent it.
      if (leftEverywhere && !ctx.presence.inOrder) announceMemberRemoved(ctx.broker, app, channel, userId);
    });
  }
}

/** Tells the channel's subscribers on every node, but `exceptSocketId`, that a user joined it. */
export function announceMemberAdded(broker: Broker, app: App, channel: string, userId: string, userInfo: unknown): void {
  broker.publish({ appId: app.id, channel, frame: frames.memberAdded(channel, userId, userInfo) });
}

/** Tells the channel's subscribers on every node that a user left it (presence reports it to webhooks). */
export function announceMemberRemoved(broker: Broker, app: App, channel: string, userId: string): void {
  broker.publish({ appId: app.id, channel, frame: frames.memberRemoved(channel, userId) });
}

