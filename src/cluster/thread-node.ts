/**
 * A worker thread's side of the cluster contract: every shared fact is asked of,
 * or told to, the hub on the main thread (thread-hub.ts) over this thread's port,
 * as a cluster node asks Redis. Messages for this thread's own sockets are
 * delivered here at once and passed to the others through the hub.
 */
import type { MessagePort } from "node:worker_threads";
import type { AppRegistry } from "../apps/app-registry.js";
import type { Broker, ChannelBuffers, ClusterServices, EventCache, Occupancy, OnlineUsers, Presence, StartCluster } from "./cluster.js";
import type { ThreadTally } from "./thread-tally.js";
import type { Answers, ThreadNotice, ThreadQuestion, ToThread } from "./thread-wire.js";

/** A thread of the process, talking to the hub over `port`; connections are counted in `tally`. */
export function threadNode(port: MessagePort, apps: AppRegistry, tally: ThreadTally): StartCluster {
  return async ({ local, channels, events, bufferDrops, consoles }): Promise<ClusterServices> => {
    let nextId = 1;
    const pending = new Map<number, (value: unknown) => void>();
    const ask = <Kind extends ThreadQuestion["t"]>(question: Extract<ThreadQuestion, { t: Kind }>): Promise<Answers[Kind]> =>
      new Promise((resolve) => {
        const id = nextId++;
        pending.set(id, resolve as (value: unknown) => void);
        port.postMessage({ t: "ask", id, question });
      });
    const tell = (notice: ThreadNotice) => port.postMessage(notice);

    port.on("message", (message: ToThread) => {
      switch (message.t) {
        case "deliver":
          return local.deliver(message.message);
        case "terminate":
          return local.terminateUser(message.appId, message.userId);
        case "consoleEntry":
          return consoles.received(message.appId, message.entryJson);
        case "consoleWatch":
          return consoles.watchedElsewhere(message.appIds);
        case "reply": {
          const resolve = pending.get(message.id);
          pending.delete(message.id);
          return resolve?.(message.value);
        }
        case "dropped":
          return bufferDrops(message.appId, message.reason, message.count);
        case "memberGone":
        case "userGone": {
          const app = apps.byId(message.appId);
          if (!app) return;
          if (message.t === "memberGone") events.memberGone(app, message.channel, message.userId);
          else events.userGone(app, message.userId);
          return;
        }
        case "transition": {
          const { transition } = message;
          const app = apps.byId(transition.appId);
          // Reported once, here; whether anyone hears it is this thread's to say, now.
          if (!app || !events.heard(app)) return;
          switch (transition.kind) {
            case "occupied":
              return events.channelOccupied(app, transition.channel);
            case "vacated":
              return events.channelVacated(app, transition.channel);
            case "memberAdded":
              return events.memberAdded(app, transition.channel, transition.userId);
            case "memberRemoved":
              return events.memberRemoved(app, transition.channel, transition.userId);
          }
        }
      }
    });

    const broker: Broker = {
      publish(message) {
        local.deliver(message);
        tell({ t: "publish", message });
      },
      terminateUser(appId, userId) {
        local.terminateUser(appId, userId);
        tell({ t: "terminate", appId, userId });
      },
      close: async () => {},
    };
    const settled = async () => void (await ask({ t: "settled" }));
    const occupancy: Occupancy = {
      changed: (app, channel) => tell({ t: "count", appId: app.id, channel, count: channels.forApp(app.id).subscriptionCount(channel), heard: events.heard(app) }),
      subscriptionCount: (appId, channel) => ask({ t: "subscriptionCount", appId, channel }),
      occupiedChannels: (appId, prefix) => ask({ t: "occupiedChannels", appId, prefix }),
      settled,
      stop: () => {},
    };
    const presence: Presence = {
      join: (app, channel, userId, userInfo) => ask({ t: "join", appId: app.id, channel, userId, userInfo, limit: app.maxPresenceMembersPerChannel }),
      leave: (app, channel, userId) => ask({ t: "leave", appId: app.id, channel, userId, heard: events.heard(app) }),
      userCount: async (appId, channel) => (await ask({ t: "members", appId, channel })).count,
      userIds: async (appId, channel) => (await ask({ t: "members", appId, channel })).ids,
      members: (appId, channel) => ask({ t: "members", appId, channel }),
      settled,
      stop: () => {},
    };
    const onlineUsers: OnlineUsers = {
      cameOnline: (app, userId) => ask({ t: "cameOnline", appId: app.id, userId }),
      wentOffline: (app, userId) => ask({ t: "wentOffline", appId: app.id, userId }),
      online: (app, userIds) => ask({ t: "online", appId: app.id, userIds }),
    };
    const eventCache: EventCache = {
      set: (appId, channel, event, data, frame) => tell({ t: "cache", appId, channel, event, data, frame }),
      get: (appId, channel) => ask({ t: "cacheGet", appId, channel }),
    };
    const channelBuffers: ChannelBuffers = {
      keepIfVacant: (app, channel, rule, frame) => ask({ t: "keep", appId: app.id, channel, rule, frame }),
      claim: (app, channel) => ask({ t: "claim", appId: app.id, channel }),
      waiting: (appId, channel) => ask({ t: "waiting", appId, channel }),
    };

    return {
      broker,
      occupancy,
      presence,
      onlineUsers,
      connectionCounts: {
        elsewhere: (appId) => tally.elsewhere(appId),
        elsewhereInProcess: () => tally.elsewhereInProcess(),
        changed: (appId, connections, total) => tally.counted(appId, connections, total),
      },
      eventCache,
      channelBuffers,
      // As over Redis, at most once and best effort: a console is a view.
      consoleRelay: {
        publish: (appId, entryJson) => tell({ t: "consoleEntry", appId, entryJson }),
        announce: (appIds) => tell({ t: "consoleWatch", appIds }),
      },
      problem: () => undefined,
      redisLink: () => undefined,
      addApps: async () => {},
      settled,
      close: async () => {},
    };
  };
}
