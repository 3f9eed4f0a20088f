/**
 * A worker thread's side of the cluster contract: every shared fact is asked of,
 * or told to, the hub on the main thread (thread-hub.ts) over this thread's port,
 * as a cluster node asks Redis. Messages for this thread's own sockets are
 * delivered here at once and passed straight to the other threads (thread-mesh.ts).
 */
import type { MessagePort } from "node:worker_threads";
import type { AppRegistry } from "../apps/app-registry.js";
import type { Broker, ChannelBuffers, ClusterServices, EventCache, Occupancy, OnlineUsers, Presence, StartCluster } from "./cluster.js";
import type { RedisLinkStats } from "../metrics/prometheus.js";
import { ClusterStateUnavailable, ThreadStopped } from "./errors.js";
import { type Batch, eachOf, PortBatch } from "./port-batch.js";
import { CountBatch } from "./thread-counts.js";
import type { ThreadOccupancy } from "./thread-occupancy.js";
import type { ThreadTally } from "./thread-tally.js";
import { MET, type PeerMessage, type PeerPorts } from "./thread-mesh.js";
import { type Answers, askAsString, decodeFromThreads, encodeForThreads, isChannelMessage, type JoinLists, replyFromString, type ThreadChannelMessage, type ThreadNotice, type ThreadQuestion, type ToHub, type ToThread } from "./thread-wire.js";

export interface ThreadNodeOptions {
  /** Ports to the threads that joined before this one (ThreadMesh.join); later ones come through the hub. */
  readonly peers?: PeerPorts;
  /** Which threads have subscribers of a channel, and this thread's number in it: a publish skips the others. */
  readonly occupancy: { readonly threads: ThreadOccupancy; readonly thread: number };
  /** With --redis: publishes go to the hub too, for the other nodes. */
  readonly publishToHub?: boolean;
  /** The thread whose /metrics shows the Redis link of the process's node (--redis), which the hub tells it of. */
  readonly showsRedisLink?: boolean;
}

/** A thread of the process, talking to the hub over `port`; connections are counted in `tally`. */
export function threadNode(port: MessagePort, apps: AppRegistry, tally: ThreadTally, { peers: firstPeers = [], occupancy: { threads: occupied, thread: self }, publishToHub = false, showsRedisLink = false }: ThreadNodeOptions): StartCluster {
  return async ({ local, channels, events, bufferDrops, consoles }): Promise<ClusterServices> => {
    let nextId = 1;
    const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
    /** With --redis, as the process's node last said. */
    let problem: string | undefined;
    // Until the hub's first word, as a node that just joined (the metrics are laid out at start).
    let link: RedisLinkStats | undefined = showsRedisLink ? { up: true, roundTripSeconds: undefined, messagesNotSent: 0 } : undefined;
    let otherNodes = new Map<string, number>();
    // Everything for the hub goes through one batch, so that it keeps the order it was told in.
    const hub = new PortBatch<ToHub>(port);
    const tell = (notice: ThreadNotice | ThreadChannelMessage) => hub.postMessage(notice);
    const counts = new CountBatch(self, occupied, (app, channel) => channels.forApp(app.id).subscriptionCount(channel), (app) => events.heard(app), tell);
    const ask = <Kind extends ThreadQuestion["t"]>(question: Extract<ThreadQuestion, { t: Kind }>): Promise<Answers[Kind]> =>
      new Promise((resolve, reject) => {
        // The hub answers with this thread's counts in, as with a store that is written at once;
        // a join or a leave needs only the occupancy in (CountBatch.sendIfCrossed), unless a Redis
        // node takes the counts, which other nodes read there at once.
        if (!publishToHub && (question.t === "join" || question.t === "leave")) counts.sendIfCrossed();
        else counts.send();
        const id = nextId++;
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
        hub.postMessage(askAsString(id, question) ?? { t: "ask", id, question });
      });
    const peers = new Map<number, MessagePort>();
    /** Per other thread, where this one's publishes to it go. */
    const senders = new Map<number, PortBatch<ThreadChannelMessage>>();
    /** Per other thread, what its end does: the close of its port, or word that the thread is gone. */
    const partings = new Map<number, () => void>();
    /** `known`: called once the thread at the other end has this one's port (or is gone). */
    const meet = (thread: number, peer: MessagePort, known: () => void) => {
      peers.get(thread)?.close();
      peers.set(thread, peer);
      senders.set(thread, new PortBatch(peer));
      peer.on("message", (message: PeerMessage) => {
        if (message === MET) known();
        else eachOf(message, (one) => local.deliver(decodeFromThreads(one)));
      });
      const part = () => {
        known();
        if (peers.get(thread) !== peer) return;
        peers.delete(thread);
        senders.delete(thread);
        partings.delete(thread);
        peer.close();
      };
      partings.set(thread, part);
      // The thread ended (its ports close with it), or this one did.
      peer.on("close", part);
    };
    // Without the hub this thread is out of the process (it failed, or stops): so are its peer ports.
    port.on("close", () => {
      for (const peer of peers.values()) peer.close();
    });

    const answered = (id: number, value: unknown) => {
      const asked = pending.get(id);
      pending.delete(id);
      asked?.resolve(value);
    };
    /** `read`: the lists of the last join's answer in the same message, which the next may add to (joinReply). */
    const receive = (message: ToThread, read: { lists?: JoinLists }): void => {
      if (typeof message === "string") {
        if (isChannelMessage(message)) return local.deliver(decodeFromThreads(message));
        const { id, value, lists } = replyFromString(message, read.lists);
        if (lists) read.lists = lists;
        return answered(id, value);
      }
      switch (message.t) {
        case "peer":
          meet(message.thread, message.port, () => {});
          return message.port.postMessage(MET satisfies PeerMessage);
        case "gone":
          // Said also when its port has closed (then there is nothing left to do); the one case
          // it matters, a port whose other end never reached the thread, emits no 'close' here.
          return partings.get(message.thread)?.();
        case "terminate":
          return local.terminateUser(message.appId, message.userId);
        case "sendCounts":
          return counts.send();
        case "consoleEntry":
          return consoles.received(message.appId, message.entryJson);
        case "consoleWatch":
          return consoles.watchedElsewhere(message.appIds);
        case "reply": {
          if (message.error === undefined) return answered(message.id, message.value);
          const asked = pending.get(message.id);
          pending.delete(message.id);
          return asked?.reject(new ClusterStateUnavailable(message.error));
        }
        case "node":
          problem = message.problem;
          link = message.link;
          otherNodes = new Map(message.elsewhere);
          return;
        case "dropped":
          return bufferDrops(message.appId, message.reason, message.count);
        case "memberGone":
        case "userGone":
        case "memberCame":
        case "userCame": {
          const app = apps.byId(message.appId);
          if (!app) return;
          if (message.t === "memberGone") events.memberGone(app, message.channel, message.userId);
          else if (message.t === "userGone") events.userGone(app, message.userId);
          else if (message.t === "memberCame") events.memberCame(app, message.channel, message.userId, message.userInfo);
          else events.userCame(app, message.userId);
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
    };
    // What an answer sets off runs before the messages behind it (a member's announcement, say).
    port.on("message", (batch: Batch<ToThread>) => {
      const read = {};
      eachOf(batch, (message) => receive(message, read), (message) => typeof message !== "string" || !isChannelMessage(message));
    });

    const broker: Broker = {
      publish(message) {
        local.deliver(message);
        const encoded = encodeForThreads(message);
        occupied.post(senders, message.appId, message.channel, encoded);
        if (publishToHub) tell(encoded);
      },
      terminateUser(appId, userId) {
        local.terminateUser(appId, userId);
        tell({ t: "terminate", appId, userId });
      },
      close: async () => {},
    };
    const settled = async () => void (await ask({ t: "settled" }));
    const occupancy: Occupancy = {
      changed: (app, channel, joined) => {
        const count = channels.forApp(app.id).subscriptionCount(channel);
        // Before the first subscriber hears it is in: a publish after that reaches this thread.
        if (count === (joined ? 1 : 0)) occupied.count(self, app.id, channel, joined ? 1 : -1);
        counts.changed(app, channel, count, joined);
      },
      subscriptionCount: (appId, channel) => ask({ t: "subscriptionCount", appId, channel }),
      occupiedChannels: (appId, prefix) => ask({ t: "occupiedChannels", appId, prefix }),
      settled,
      stop: () => {},
    };
    const presence: Presence = {
      join: (app, channel, userId, userInfo, _firstOnNode, _localMembers, announce) =>
        ask({ t: "join", appId: app.id, channel, userId, userInfo, limit: app.maxPresenceMembersPerChannel, announce: encodeForThreads(announce), heard: events.heard(app) }),
      leave: (app, channel, userId) => ask({ t: "leave", appId: app.id, channel, userId, heard: events.heard(app) }),
      // The hub of the threads alone is the store, in order (thread-hub.ts); a Redis node's passes on what Redis says.
      inOrder: !publishToHub,
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
      // As presence: the threads' hub sends each online and offline itself; a Redis node's passes on what Redis says.
      inOrder: !publishToHub,
    };
    const eventCache: EventCache = {
      set: (appId, channel, event, data, frame) => tell({ t: "cache", appId, channel, event, data, frame }),
      get: (appId, channel) => ask({ t: "cacheGet", appId, channel }),
      // As presence: the threads' hub sends a cache channel's events itself, in order with its replays.
      publish: publishToHub ? undefined : ({ appId, channel, frame, exceptSocketId }, event, data) => tell({ t: "cache", appId, channel, event, data, frame, send: { exceptSocketId } }),
      getWithJoin: publishToHub ? undefined : (appId, channel) => ask({ t: "cacheWithJoin", appId, channel }),
    };
    const channelBuffers: ChannelBuffers = {
      keepIfVacant: (app, channel, rule, frame) => ask({ t: "keep", appId: app.id, channel, rule, frame }),
      claim: (app, channel) => ask({ t: "claim", appId: app.id, channel }),
      waiting: (appId, channel) => ask({ t: "waiting", appId, channel }),
    };

    // Serving only once every thread there has this one's port, so that none publishes past its sockets.
    await Promise.all(firstPeers.map(([thread, peer]) => new Promise<void>((known) => meet(thread, peer, known))));
    return {
      broker,
      occupancy,
      presence,
      onlineUsers,
      connectionCounts: {
        // The process's other threads at once; with --redis, the other nodes as last counted.
        elsewhere: (appId) => tally.elsewhere(appId) + (otherNodes.get(appId) ?? 0),
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
      problem: () => problem,
      redisLink: () => link,
      addApps: async () => {},
      settled,
      // Asks still out will not be answered (the thread stops, or failed): their callers get the
      // rejection a store that is away gives, and answer (503, say) instead of waiting for ever.
      close: async () => {
        counts.stop();
        for (const asked of pending.values()) asked.reject(new ThreadStopped("This worker thread stopped before the hub answered."));
        pending.clear();
      },
    };
  };
}
