import type { AppRegistry } from "../apps/app-registry.js";
import type { AppRateLimits } from "../apps/rate-window.js";
import type { ChannelDirectory } from "../channels/channel-directory.js";
import type { Broker, ConnectionCounts, EventCache, Occupancy, OnlineUsers, Presence } from "../cluster/cluster.js";
import type { Config } from "../config.js";
import type { ConsoleTap } from "../console/tap.js";
import type { Logger } from "../logger.js";
import type { NodeCounters } from "../metrics/counters.js";
import type { Webhooks } from "../webhooks/webhooks.js";
import type { SocketRegistry } from "./socket-registry.js";
import type { SubscriptionCounts } from "./subscription-counts.js";
import type { UserSockets } from "./user-sockets.js";

/** The pieces of this node that the socket and HTTP handlers share. */
export interface NodeContext {
  readonly config: Config;
  readonly log: Logger;
  readonly apps: AppRegistry;
  readonly channels: ChannelDirectory;
  readonly sockets: SocketRegistry;
  readonly users: UserSockets;
  readonly broker: Broker;
  readonly rateLimits: AppRateLimits;
  readonly subscriptionCounts: SubscriptionCounts;
  readonly webhooks: Webhooks;
  /** Channel occupancy and subscriber counts across the cluster (just this node when alone). */
  readonly occupancy: Occupancy;
  /** Presence members across the cluster (just this node when alone). */
  readonly presence: Presence;
  /** Signed-in users online anywhere in the cluster, for watchlists. */
  readonly onlineUsers: OnlineUsers;
  /** Connections of each app on the other nodes, for maxConnections. */
  readonly connectionCounts: ConnectionCounts;
  /** The last events of cache channels, shared by every node. */
  readonly eventCache: EventCache;
  /** The console's tap: check `tap.watching(appId)` before building an entry. */
  readonly tap: ConsoleTap;
  /** Plain counters for /metrics, bumped on the socket and HTTP paths. */
  readonly counters: NodeCounters;
  readonly nextSocketId: () => string;
  /** Set once a stop has begun: no new sockets, /ready answers 503. */
  readonly lifecycle: { draining: boolean };
}
