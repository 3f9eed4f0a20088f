/** A single process: no Redis, everything answered from this node's own state. */
import { NO_RELAY } from "../console/tap.js";
import type { ConnectionCounts, StartCluster } from "./cluster.js";
import { LocalBroker } from "./local-broker.js";
import { LocalChannelBuffers } from "./local-channel-buffers.js";
import { LocalEventCache } from "./local-event-cache.js";
import { LocalOccupancy } from "./local-occupancy.js";
import { LocalOnlineUsers } from "./local-online-users.js";
import { LocalPresence } from "./local-presence.js";

/** There is nowhere else. */
const NO_OTHER_NODES: ConnectionCounts = { elsewhere: () => 0, elsewhereInProcess: () => 0, changed: () => {} };

/** A single process whose vacant-channel buffers may hold `maxBufferedBytes` in all. */
export const singleNode = (maxBufferedBytes: number): StartCluster => async ({ local, channels, events, bufferDrops }) => {
  const occupancy = new LocalOccupancy(channels, events);
  const presence = new LocalPresence(channels, events, local);
  const channelBuffers = new LocalChannelBuffers((appId, channel) => channels.forApp(appId).subscriptionCount(channel) > 0, bufferDrops, maxBufferedBytes);
  return {
    broker: new LocalBroker(local),
    occupancy,
    presence,
    onlineUsers: new LocalOnlineUsers(local),
    connectionCounts: NO_OTHER_NODES,
    eventCache: new LocalEventCache(channels),
    channelBuffers,
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
      channelBuffers.stop();
    },
  };
};
