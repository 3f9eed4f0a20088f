/**
 * Everything of a node that depends on whether there are other nodes: the
 * broker, channel occupancy, presence, online users, connection counts and the
 * cache channels' last events. The server asks for them once, from
 * the local implementations or the Redis ones, and never asks which it got.
 */
import type { App } from "../apps/app.js";
import type { ChannelDirectory } from "../channels/channel-directory.js";
import { NO_RELAY, type ConsoleRelay } from "../console/tap.js";
import type { RedisLinkStats } from "../metrics/prometheus.js";
import type { Broker, LocalNode } from "./broker.js";
import { NO_OTHER_NODES, type ConnectionCounts } from "./connection-counts.js";
import { LocalEventCache, type EventCache } from "./event-cache.js";
import { LocalBroker } from "./local-broker.js";
import { LocalOccupancy } from "./local-occupancy.js";
import { LocalPresence } from "./local-presence.js";
import type { Occupancy, OccupancyEvents } from "./occupancy.js";
import { LocalOnlineUsers, type OnlineUsers } from "./online-users.js";
import type { Presence } from "./presence.js";

/** Cluster-wide transitions that stand, each reported once, on one node: what webhooks describe. */
export interface ClusterTransitions extends OccupancyEvents {
  memberAdded(app: App, channel: string, userId: string): void;
  /** Reported 3 s after the user's last socket left, unless it came back meanwhile. */
  memberRemoved(app: App, channel: string, userId: string): void;
}

/**
 * Changes the other nodes did not hear of when they happened, because a node died
 * or Redis was away; the node that finds them tells every node's subscribers.
 */
export interface ClusterEvents extends ClusterTransitions {
  memberCame(app: App, channel: string, userId: string, userInfo: unknown): void;
  memberGone(app: App, channel: string, userId: string): void;
  userCame(app: App, userId: string): void;
  userGone(app: App, userId: string): void;
}

/** Where console entries and watches from other nodes go (the console's tap). */
export interface ConsoleInbox {
  received(appId: string, entryJson: string): void;
  watchedElsewhere(appIds: readonly string[]): void;
}

/** What the server hands the cluster layer. */
export interface ClusterParts {
  readonly local: LocalNode;
  readonly channels: ChannelDirectory;
  readonly events: ClusterEvents;
  readonly consoles: ConsoleInbox;
}

export interface ClusterServices {
  readonly broker: Broker;
  readonly occupancy: Occupancy;
  readonly presence: Presence;
  readonly onlineUsers: OnlineUsers;
  readonly connectionCounts: ConnectionCounts;
  readonly eventCache: EventCache;
  /**
   * Carries console entries to the nodes whose consoles watch the app, and this
   * node's watches to the others. At most once, best effort: a console is a view,
   * and an entry lost while Redis is away is not sent later.
   */
  readonly consoleRelay: ConsoleRelay;
  /** Why this node cannot serve as part of the cluster now (Redis unreachable), if it cannot. */
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

/** A single process: no Redis, everything answered from this node's own state. */
export const startSingleNode: StartCluster = async ({ local, channels, events }) => {
  const occupancy = new LocalOccupancy(channels, events);
  const presence = new LocalPresence(channels, events);
  return {
    broker: new LocalBroker(local),
    occupancy,
    presence,
    onlineUsers: new LocalOnlineUsers(local),
    connectionCounts: NO_OTHER_NODES,
    eventCache: new LocalEventCache(channels),
    consoleRelay: NO_RELAY,
    problem: () => undefined,
    redisLink: () => undefined,
    addApps: async () => {},
    settled: async () => {
      await Promise.all([occupancy.settled(), presence.settled()]);
    },
    close: async () => {
      occupancy.stop();
      presence.stop();
    },
  };
};
