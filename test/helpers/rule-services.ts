/**
 * The services the Pusher rules (subscriptions, sign-in, client events) use, on
 * the single-process cluster and without uWebSockets.js, for unit tests; and a socket that records
 * what it is sent (the PusherSocket an HTTP session will also implement).
 */
import type { App } from "../../src/apps/app.js";
import { AppRegistry } from "../../src/apps/app-registry.js";
import { parseApps } from "../../src/apps/apps-file.js";
import { ChannelDirectory } from "../../src/channels/channel-directory.js";
import type { ChannelMessage } from "../../src/cluster/cluster.js";
import { singleNode } from "../../src/cluster/local-cluster.js";
import { VacantChannels } from "../../src/server/vacant-channels.js";
import { ConsoleTap } from "../../src/console/tap.js";
import { createLogger } from "../../src/logger.js";
import { NodeCounters } from "../../src/metrics/counters.js";
import type { ClientEventServices } from "../../src/server/client-events.js";
import type { Connection, PusherSocket } from "../../src/server/connection.js";
import type { SigninServices } from "../../src/server/signin.js";
import type { SubscriptionServices } from "../../src/server/subscriptions.js";
import { SubscriptionCounts } from "../../src/server/subscription-counts.js";
import { UserSockets } from "../../src/server/user-sockets.js";
import { WatchAnswers } from "../../src/server/watch-answers.js";
import { Webhooks } from "../../src/webhooks/webhooks.js";

export interface RecordingSocket extends PusherSocket {
  /** Frames sent to the client, parsed. */
  readonly sent: Array<{ event: string; channel?: string; data?: unknown }>;
  readonly topics: Set<string>;
  closed: { code: number; reason: string } | undefined;
}

let nextSocket = 1;

export function recordingSocket(app: App): RecordingSocket {
  const connection: Connection = {
    app,
    rejection: undefined,
    socketId: `1.${nextSocket++}`,
    channels: undefined,
    lastSeen: 0,
    pingedAt: 0,
    open: true,
    clientEvents: undefined,
    user: undefined,
    signinDeadline: 0,
    origin: undefined,
  };
  const socket: RecordingSocket = {
    sent: [],
    topics: new Set(),
    closed: undefined,
    getUserData: () => connection,
    send(frame) {
      socket.sent.push(JSON.parse(frame) as RecordingSocket["sent"][number]);
    },
    subscribe: (topic) => socket.topics.add(topic),
    unsubscribe: (topic) => socket.topics.delete(topic),
    end(code, reason) {
      socket.closed = { code, reason };
      connection.open = false;
    },
  };
  return socket;
}

export type RuleServices = SubscriptionServices & SigninServices & ClientEventServices;

/** The services, and every message their broker carried. */
export async function ruleServices(apps: unknown[]): Promise<{ services: RuleServices; published: ChannelMessage[]; app(id: string): App }> {
  const registry = new AppRegistry(parseApps({ apps }, "a unit test").apps);
  const log = createLogger("silent");
  const channels = new ChannelDirectory();
  const users = new UserSockets();
  const published: ChannelMessage[] = [];
  const webhooks = new Webhooks(async () => ({ ok: true, status: 200 }), log);
  const tap = new ConsoleTap("1");
  const counters = new NodeCounters();
  const vacant = new VacantChannels({ channels, counters, store: () => cluster.channelBuffers, broker: () => cluster.broker });
  const cluster = await singleNode(1024 * 1024)({
    local: {
      deliver: (message) => published.push(message),
      terminateUser: () => {},
      signedInUsers: () => users.signedIn(),
      hasUser: (appId, userId) => users.has(appId, userId),
      connections: () => 0,
    },
    channels,
    events: { heard: () => false, channelOccupied: () => {}, channelVacated: () => {}, memberAdded: () => {}, memberRemoved: () => {}, memberCame: () => {}, memberGone: () => {}, userCame: () => {}, userGone: () => {} },
    consoles: tap,
    bufferDrops: () => {},
  });
  const services: RuleServices = {
    log,
    tap,
    channels,
    users,
    webhooks,
    counters,
    vacant,
    broker: cluster.broker,
    occupancy: cluster.occupancy,
    presence: cluster.presence,
    onlineUsers: cluster.onlineUsers,
    eventCache: cluster.eventCache,
    subscriptionCounts: new SubscriptionCounts(channels, cluster.occupancy, cluster.broker, webhooks, log),
    watchAnswers: new WatchAnswers(),
  };
  return { services, published, app: (id) => registry.byId(id)! };
}
