/**
 * The cluster contract: everything the server asks of "the other nodes", and
 * nothing else. Code above cluster/ uses only these interfaces and never asks
 * whether there are other nodes. Implementations: a single process (local-*.ts,
 * started by local-cluster.ts) and Redis (redis-*.ts, joined by redis-cluster.ts);
 * test/cluster-contract.test.ts runs one conformance suite (test/helpers/cluster-contract.ts)
 * against each; a third implementation plugs in with a factory of nodes.
 *
 * Words used below:
 * - "once per cluster transition": of all nodes, exactly one reports it, once.
 * - "during an outage": the shared store (Redis) is unreachable; the node keeps
 *   serving its own clients and must never throw or queue without bound. After it,
 *   whether the store kept its data or lost it, what changed meanwhile is still
 *   reported once per cluster transition, and what did not change is not reported,
 *   also for a write the store carried out whose answer the outage cut
 *   (redis-recovery.ts, redis-departures.ts; test/cluster-data-loss.test.ts,
 *   test/cluster-outages.test.ts).
 * - a method that may answer "at once or later" returns a value or a promise:
 *   a single process answers at once, so its subscriptions complete synchronously.
 */
import type { App, VacantChannelBuffer } from "../apps/app.js";
import type { ChannelDirectory } from "../channels/channel-directory.js";
import type { CachedEvent } from "../channels/channel-cache.js";
import type { PresenceSnapshot } from "../channels/presence-channel.js";
import type { ConsoleRelay } from "../console/tap.js";
import type { RedisLinkStats } from "../metrics/prometheus.js";
import type { PresenceData } from "../protocol/server-frames.js";

// ─── Broker ────────────────────────────────────────────────────────────────────

/** One encoded frame for every subscriber of one app's channel. */
export interface ChannelMessage {
  readonly appId: string;
  readonly channel: string;
  /** The finished frame text, encoded once by the publisher. */
  readonly frame: string;
  /** A socket that must not receive the frame (the sender, or `socket_id` of the HTTP API). */
  readonly exceptSocketId?: string | undefined;
}

export interface Broker {
  /**
   * Delivers `message` once to every node with subscribers of its channel, which
   * hands it to them: the publishing node at once (before this returns), the others
   * as soon as the transport carries it. Over Redis every node gets it; worker
   * threads skip a thread without subscribers (thread-occupancy.ts). Messages one node publishes to one app
   * arrive at every node in the order they were published; no order holds between
   * nodes or between apps. At most once: never redelivered.
   * During an outage: the other nodes miss the message (counted and logged), this
   * node's subscribers still get it. Never throws.
   */
  publish(message: ChannelMessage): void;

  /** Closes every connection signed in as `userId`, on every node; delivered as `publish`. */
  terminateUser(appId: string, userId: string): void;

  /** Lets go of the transport, for a clean stop. */
  close(): Promise<void>;
}

/** What the cluster may ask of this node's own sockets (the server implements it). */
export interface LocalNode {
  /** Fans a channel message out to this node's own sockets. */
  deliver(message: ChannelMessage): void;
  /** Closes this node's connections signed in as `userId`. */
  terminateUser(appId: string, userId: string): void;
  /** The users signed in on this node, as [app id, user id], for writing them to Redis again. */
  signedInUsers(): Iterable<readonly [string, string]>;
  /** Whether `userId` has a signed-in socket on this node. */
  hasUser(appId: string, userId: string): boolean;
  /** Open connections of the app on this node. */
  connections(appId: string): number;
}

// ─── Occupancy ─────────────────────────────────────────────────────────────────

/** Who hears the cluster-wide occupancy transitions. */
export interface OccupancyEvents {
  /**
   * Whether anyone hears this app's transitions (its webhooks, a console watching
   * it). When nobody does, departures are not held and nothing is reported.
   */
  heard(app: App): boolean;
  /** Once per cluster transition: the first subscriber on any node, unless a departure of the channel was held. */
  channelOccupied(app: App, channel: string): void;
  /** Once per cluster transition, DEPARTURE_HOLD_MS after the last subscriber anywhere left, unless one came back meanwhile. */
  channelVacated(app: App, channel: string): void;
}

/**
 * Which channels are occupied, and by how many subscribers, across every node.
 * Each node reports its own sockets coming and going; reads answer from the
 * shared facts, never by asking other nodes.
 */
export interface Occupancy {
  /**
   * A socket of this node joined (or left) `channel`; call after this node's own
   * count changed. Idempotent: it reports the node's current count, not a delta.
   * During an outage: kept, and written when the store is back.
   */
  changed(app: App, channel: string, joined: boolean): void;
  /** Subscribers of the channel on all nodes. Rejects with ClusterStateUnavailable during an outage. */
  subscriptionCount(appId: string, channel: string): Promise<number>;
  /** The channels occupied on any node, optionally only those starting with `prefix`. Rejects during an outage. */
  occupiedChannels(appId: string, prefix: string): Promise<string[]>;
  /** Resolves once the held departures have been reported or cancelled (for a graceful stop). */
  settled(): Promise<void>;
  stop(): void;
}

// ─── Presence ──────────────────────────────────────────────────────────────────

/** `members`: the cluster's, ready for the joining socket's subscription_succeeded. */
export type ClusterJoin = { ok: true; added: boolean; members: PresenceData } | { ok: false; reason: string };

/**
 * Who is in each presence channel across every node. Each node keeps its own
 * sockets (channels/) and reports a user's first socket in and last socket out.
 */
export interface Presence {
  /**
   * A socket of this node joined as `userId`; `firstOnNode` says whether it is the
   * user's first socket in the channel here, `localMembers` who is in it on this
   * node now (asked for only when that is the answer: a single node, or an outage).
   * Answers with the cluster's members and whether the user is new to the channel
   * anywhere (`added`: true once per user, across nodes and tabs), or why the channel
   * is full (the app's maxPresenceMembersPerChannel, counted over the cluster; another
   * socket of a member always fits). During an outage: this
   * node's members, and `added` as this node sees it; the resync corrects both.
   * When `added`, `announce` (the member_added frame, but to the joining socket)
   * goes to every node with subscribers of the channel (as Broker.publish), this
   * one included, before the answer.
   */
  join(
    app: App,
    channel: string,
    userId: string,
    userInfo: unknown,
    firstOnNode: boolean,
    localMembers: () => PresenceData,
    announce: ChannelMessage,
  ): ClusterJoin | Promise<ClusterJoin>;
  /**
   * The user's last socket on this node left; true when the user left the channel
   * everywhere (once per user). During an outage: true, as this node sees it.
   * With `inOrder`, the store sends the member_removed itself, to every node with subscribers.
   */
  leave(app: App, channel: string, userId: string): boolean | Promise<boolean>;
  /**
   * Set when the store itself sends every member_added and member_removed of a channel to
   * this node, in the order it decided them, and its answers to this node's joins in that
   * same order (the threads' hub: one port per thread). A joining socket then takes the
   * channel's frames from its answer on: nothing is held for it, and its list and what
   * follows it neither miss nor repeat a member. Otherwise a joining socket takes the
   * channel's frames from the start, and they are held until its answer (a member_added
   * from another node can overtake the answer; one the list has already is repeated).
   */
  readonly inOrder?: boolean;
  /** Rejects with ClusterStateUnavailable during an outage, as do the next two. */
  userCount(appId: string, channel: string): Promise<number>;
  userIds(appId: string, channel: string): Promise<string[]>;
  /** The channel's members with their user_info, on every node (for the console). */
  members(appId: string, channel: string): Promise<PresenceSnapshot>;
  /** Resolves once the held departures have been reported or cancelled. */
  settled(): Promise<void>;
  stop(): void;
}

/** Transitions that stand, each reported once, on one node: what webhooks (and the console) describe. */
export interface ClusterTransitions extends OccupancyEvents {
  /** Once per user new to the channel anywhere, unless its departure was being held. */
  memberAdded(app: App, channel: string, userId: string): void;
  /** Once, DEPARTURE_HOLD_MS after the user's last socket anywhere left, unless it came back meanwhile. */
  memberRemoved(app: App, channel: string, userId: string): void;
}

/**
 * Changes the other nodes did not hear of when they happened, because a node died
 * or the store was away; the node that finds them tells every node's subscribers.
 */
export interface ClusterEvents extends ClusterTransitions {
  memberCame(app: App, channel: string, userId: string, userInfo: unknown): void;
  memberGone(app: App, channel: string, userId: string): void;
  userCame(app: App, userId: string): void;
  userGone(app: App, userId: string): void;
}

// ─── Online users (watchlists) ─────────────────────────────────────────────────

/**
 * Which signed-in users are online anywhere in the cluster. When `cameOnline` or
 * `wentOffline` answers true, the user's watchers on every node hear it (the caller
 * announces it through the broker, or the store does, `inOrder`).
 */
export interface OnlineUsers {
  /** The user's first socket on this node signed in; true once, when the user came online anywhere. During an outage: true. */
  cameOnline(app: App, userId: string): boolean | Promise<boolean>;
  /** The user's last socket on this node closed; true once, when the user is offline everywhere. During an outage: true. */
  wentOffline(app: App, userId: string): boolean | Promise<boolean>;
  /** The ones of `userIds` online anywhere. During an outage: those online on this node. */
  online(app: App, userIds: readonly string[]): string[] | Promise<string[]>;
  /**
   * Set when the store itself sends each user's `online` and `offline` to every node, before
   * its answer to the `cameOnline` or `wentOffline` that decided it, and in the same order as
   * its answers to `online` (the threads' hub: one port per thread). A watcher, subscribed
   * before it asks `online`, then hears each user once: in the answer or after it
   * (WatchAnswers leaves out of the answer whom it heard of before). Otherwise a user's
   * coming can reach a watcher after an answer that named it already, and be heard twice.
   */
  readonly inOrder?: boolean;
}

// ─── Connection counts ─────────────────────────────────────────────────────────

/**
 * Connections of each app on the other nodes, for the app's maxConnections. The
 * check runs on every WebSocket open and must not wait, so it reads counts
 * refreshed every few seconds: the limit may be passed by what opened meanwhile.
 */
export interface ConnectionCounts {
  /**
   * Connections of the app on other nodes, as last seen; never waits. Kept for
   * apps with a maxConnections only (0 for the others). During an outage: as last seen.
   */
  elsewhere(appId: string): number;
  /**
   * Connections of every app on this process's other worker threads, as last seen,
   * for the process-wide --max-connections; never waits. 0 where the node is the
   * whole process (one thread, alone or in a Redis cluster).
   */
  elsewhereInProcess(): number;
  /**
   * This node now has `connections` of the app and `total` of every app. Where the
   * counts are exchanged on a timer (Redis), nothing to do; worker threads write them
   * where the others read them at once.
   */
  changed(appId: string, connections: number, total: number): void;
}

// ─── Event cache ───────────────────────────────────────────────────────────────

/** The last event of each cache channel, as every node sees it (kept 30 minutes). */
export interface EventCache {
  /** Last writer wins. During an outage: lost for the other nodes, not retried. */
  set(appId: string, channel: string, event: string, data: string, frame: string): void;
  /** The last event, or undefined for none. During an outage: undefined (a cache miss). */
  get(appId: string, channel: string): CachedEvent | undefined | Promise<CachedEvent | undefined>;
  /**
   * Present when the store sends a cache channel's events itself (the threads' hub): keeps
   * the event as `set` does, then hands `message` to every node with subscribers of the
   * channel (as Broker.publish), in the order it keeps them and in order with its answers
   * to `get`. A new subscriber then joins the channel's topic with the answer to its
   * replay, and the replay and the live events neither cross nor repeat. Without it the
   * caller sets, then publishes, and a subscriber joins at once: an event published while
   * its replay is read can come twice, or before an older replay.
   */
  publish?(message: ChannelMessage, event: string, data: string): void;
  /**
   * Present with `publish` (and Presence.inOrder): `get` for a presence cache channel, asked
   * right after Presence.join and answered next to it, with nothing between. The socket joins
   * the channel's topic with the join's answer (for its members' frames), so a replay read any
   * later could repeat an event it heard live meanwhile.
   */
  getWithJoin?(appId: string, channel: string): Promise<CachedEvent | undefined>;
}

// ─── Vacant-channel buffers ────────────────────────────────────────────────────

/** Why kept events were thrown away, for herald_buffered_events_dropped_total. */
export type BufferDropReason = "expired" | "max_events" | "channel_cap" | "memory";

/** Where a buffer store reports the events it threw away. */
export type BufferDrops = (appId: string, reason: BufferDropReason, count: number) => void;

/** The most buffered channels an app may have; past it the least recently written buffer goes. */
export const MAX_BUFFERED_CHANNELS_PER_APP = 10_000;

/**
 * Events published to channels nobody anywhere subscribes to, kept for the
 * subscriber that makes the channel occupied again (an app's vacantChannelBuffers).
 * "Vacant" is the occupancy every node reported through Occupancy.changed.
 */
export interface ChannelBuffers {
  /**
   * Keeps the encoded `frame` when no node has a subscriber of `channel`, and answers
   * true; answers false when the channel is occupied (the caller publishes it then).
   * Atomic with the occupancy reports and with claim(): an event is kept before the
   * claim that takes it, or answered false after the claiming node's report, never
   * both and never neither. One node's calls are answered in the order made. Past
   * `rule.maxEvents` the oldest kept event goes; past MAX_BUFFERED_CHANNELS_PER_APP
   * the least recently written buffer goes (both reported to BufferDrops).
   * During an outage: false (nothing is kept; this node's own subscribers, if any,
   * still get the event).
   */
  keepIfVacant(app: App, channel: string, rule: VacantChannelBuffer, frame: string): boolean | Promise<boolean>;
  /**
   * Takes every kept event of the channel that has not expired, oldest first, and
   * empties the buffer. Expired events are reported dropped when the store finds
   * them (a claim, a later write, a sweep); one that vanishes with its whole buffer
   * (Redis expiring the key) may go unreported. Call after
   * Occupancy.changed reported this node's subscriber, so that no event published
   * after the claim is kept. Atomic: two claims never take the same event.
   * During an outage: [] (the events stay for the channel's next first subscriber).
   */
  claim(app: App, channel: string): string[] | Promise<string[]>;
  /** How many kept events wait for the channel. Rejects with ClusterStateUnavailable during an outage. */
  waiting(appId: string, channel: string): Promise<number>;
}

// ─── Console ───────────────────────────────────────────────────────────────────

/** Where console entries and watches from other nodes go (the console's tap). */
export interface ConsoleInbox {
  received(appId: string, entryJson: string): void;
  watchedElsewhere(appIds: readonly string[]): void;
}

// ─── Membership ────────────────────────────────────────────────────────────────

/** What the server hands the cluster layer. */
export interface ClusterParts {
  readonly local: LocalNode;
  readonly channels: ChannelDirectory;
  readonly events: ClusterEvents;
  readonly consoles: ConsoleInbox;
  readonly bufferDrops: BufferDrops;
  /** Called as soon as problem() changes (before the change is logged): a hub tells its threads at once. */
  readonly problemChanged?: () => void;
}

export interface ClusterServices {
  readonly broker: Broker;
  readonly occupancy: Occupancy;
  readonly presence: Presence;
  readonly onlineUsers: OnlineUsers;
  readonly connectionCounts: ConnectionCounts;
  readonly eventCache: EventCache;
  readonly channelBuffers: ChannelBuffers;
  /**
   * Carries console entries to the nodes whose consoles watch the app, and this
   * node's watches to the others. At most once, best effort: a console is a view,
   * and an entry lost during an outage is not sent later.
   */
  readonly consoleRelay: ConsoleRelay;
  /** Why this node cannot serve as part of the cluster now (the store unreachable), if it cannot. */
  problem(): string | undefined;
  /** Starts carrying the messages of apps added by a reload of apps.json. */
  addApps(appIds: readonly string[]): Promise<void>;
  /** The state of the Redis link, for /metrics; undefined for a single process. */
  redisLink(): RedisLinkStats | undefined;
  /** Resolves once held departures are decided, so their webhooks can still be sent before a stop. */
  settled(): Promise<void>;
  /** Leaves the cluster cleanly and lets go of its connections. */
  close(): Promise<void>;
}

export type StartCluster = (parts: ClusterParts) => Promise<ClusterServices>;

/** A node's way into a cluster, once the store answered. */
export interface ClusterMembership {
  /** Unique among the nodes, so socket_ids (`<node>.<n>`) are unique in the cluster. */
  readonly nodeNumber: number;
  readonly start: StartCluster;
}
