/** A single process: no Redis, everything answered from this node's own state. */
import { NO_RELAY } from "../console/tap.js";
import type { ConnectionCounts, StartCluster } from "./cluster.js";
import { LocalBroker } from "./local-broker.js";
import { LocalEventCache } from "./local-event-cache.js";
import { LocalOccupancy } from "./local-occupancy.js";
import { LocalOnlineUsers } from "./local-online-users.js";
import { LocalPresence } from "./local-presence.js";

/** There is nowhere else. */
const NO_OTHER_NODES: ConnectionCounts = { elsewhere: () => 0 };

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
