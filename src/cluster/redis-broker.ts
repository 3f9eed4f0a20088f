/**
 * The broker of a cluster: nodes share one Redis and talk over pub/sub, one
 * Redis channel per app. A node subscribes to its apps' channels once at start,
 * so no Pusher subscription ever waits on a Redis round trip and no message can
 * slip past between a socket subscribing and its node subscribing. The cost is
 * that every node receives all of an app's messages; publishing one to a uWS
 * topic nobody on the node holds costs a lookup.
 */
import { Redis } from "ioredis";
import type { Logger } from "../logger.js";
import type { AppRegistry } from "../apps/app-registry.js";
import type { ChannelDirectory } from "../channels/channel-directory.js";
import type { Broker, ChannelMessage, LocalNode } from "./broker.js";
import { ClusterStartError } from "./errors.js";
import type { OccupancyEvents } from "./occupancy.js";
import { RedisOccupancy } from "./redis-occupancy.js";
import { decodeWireMessage, encodeChannelMessage, encodeTerminateUser } from "./wire.js";

const KEY_PREFIX = "herald:";
const APP_CHANNEL_PREFIX = `${KEY_PREFIX}app:`;
const NODE_NUMBER_KEY = `${KEY_PREFIX}node-number`;
const RAISE_NODE_NUMBER = "if tonumber(redis.call('GET', KEYS[1]) or '0') < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end";
/** How long start-up waits for Redis before giving up with a message. */
const CONNECT_TIMEOUT_MS = 10_000;
/** While Redis is away, reconnect attempts back off to this interval. */
const LONGEST_RECONNECT_DELAY_MS = 2000;
const MISSED_LOG_INTERVAL_MS = 10_000;

export interface RedisBrokerOptions {
  readonly url: string;
  readonly apps: AppRegistry;
  readonly log: Logger;
}

/** This node's way into the cluster, once Redis answered. */
export interface ClusterMembership {
  /** Drawn from Redis, so socket_ids (`<node>.<n>`) are unique in the cluster. */
  readonly nodeNumber: number;
  startBroker(local: LocalNode): Promise<RedisBroker>;
  occupancy(channels: ChannelDirectory, events: OccupancyEvents): RedisOccupancy;
}

/** Connects to Redis and draws this node's number. */
export async function joinCluster(options: RedisBrokerOptions): Promise<ClusterMembership> {
  const publisher = client(options.url);
  const subscriber = client(options.url);
  const where = redactedUrl(options.url);
  try {
    await Promise.all([connect(publisher), connect(subscriber)]);
  } catch (error) {
    publisher.disconnect();
    subscriber.disconnect();
    throw new ClusterStartError(`Cannot reach Redis at ${where}: ${(error as Error).message}. Start Redis or fix --redis / HERALD_REDIS_URL.`);
  }
  const nodeNumber = await publisher.incr(NODE_NUMBER_KEY);
  // A Redis that restarted empty would hand out numbers again: each node puts the
  // counter back above its own number when it reconnects.
  publisher.on("ready", () => {
    publisher.eval(RAISE_NODE_NUMBER, 1, NODE_NUMBER_KEY, nodeNumber).catch(() => undefined);
  });
  return {
    nodeNumber,
    startBroker: async (local) => {
      const broker = new RedisBroker(publisher, subscriber, String(nodeNumber), local, options.log, where);
      await subscriber.subscribe(...options.apps.ids.map(appChannel));
      return broker;
    },
    occupancy: (channels, events) => new RedisOccupancy(publisher, String(nodeNumber), options.apps, channels, events, options.log),
  };
}

export class RedisBroker implements Broker {
  /** Messages other nodes did not get because Redis was away, for the log. */
  private missed = 0;
  private missedLogged = 0;
  private missedLogTimer: NodeJS.Timeout | undefined;
  private reachable = true;

  constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    private readonly nodeId: string,
    private readonly local: LocalNode,
    private readonly log: Logger,
    where: string,
  ) {
    subscriber.on("message", (channel: string, payload: string) => this.receive(channel, payload));
    for (const connection of [publisher, subscriber]) {
      connection.on("error", (error: Error) => this.unreachable(where, error));
      connection.on("ready", () => this.backAgain(where));
    }
  }

  publish(message: ChannelMessage): void {
    this.local.deliver(message);
    this.send(message.appId, encodeChannelMessage(this.nodeId, message));
  }

  terminateUser(appId: string, userId: string): void {
    this.local.terminateUser(appId, userId);
    this.send(appId, encodeTerminateUser(this.nodeId, userId));
  }

  async close(): Promise<void> {
    clearTimeout(this.missedLogTimer);
    await Promise.allSettled([this.publisher.quit(), this.subscriber.quit()]);
  }

  private send(appId: string, payload: string): void {
    // Without an offline queue a command fails at once while Redis is away, so nothing piles up in memory.
    if (this.publisher.status !== "ready") return this.countMissed();
    this.publisher.publish(appChannel(appId), payload).catch(() => this.countMissed());
  }

  private receive(redisChannel: string, payload: string): void {
    const message = decodeWireMessage(payload);
    if (!message || message.origin === this.nodeId || !redisChannel.startsWith(APP_CHANNEL_PREFIX)) return;
    const appId = redisChannel.slice(APP_CHANNEL_PREFIX.length);
    try {
      if (message.kind === "channel") {
        this.local.deliver({ appId, channel: message.channel, frame: message.frame, exceptSocketId: message.exceptSocketId });
      } else {
        this.local.terminateUser(appId, message.userId);
      }
    } catch (error) {
      this.log.error({ err: error, appId }, "delivering a message from another node failed");
    }
  }

  private unreachable(where: string, error: Error): void {
    if (!this.reachable) return;
    this.reachable = false;
    this.log.error({ err: error.message }, `Redis at ${where} is unreachable: local clients are still served; other nodes miss this node's events until it is back`);
  }

  private backAgain(where: string): void {
    if (this.reachable || this.publisher.status !== "ready" || this.subscriber.status !== "ready") return;
    this.reachable = true;
    this.log.info(`Redis at ${where} is reachable again`);
  }

  private countMissed(): void {
    this.missed += 1;
    this.missedLogTimer ??= setTimeout(() => {
      this.missedLogTimer = undefined;
      this.log.warn({ missed: this.missed - this.missedLogged, missedTotal: this.missed }, "messages not sent to other nodes while Redis was unreachable");
      this.missedLogged = this.missed;
    }, MISSED_LOG_INTERVAL_MS);
    this.missedLogTimer.unref();
  }
}

function appChannel(appId: string): string {
  return APP_CHANNEL_PREFIX + appId;
}

function client(url: string): Redis {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: (attempt) => Math.min(attempt * 200, LONGEST_RECONNECT_DELAY_MS),
  });
  // Until the broker takes over the reporting, start-up reports failures itself; without
  // a listener ioredis would print each one.
  redis.on("error", () => undefined);
  return redis;
}

async function connect(redis: Redis): Promise<void> {
  // ioredis retries for ever; start-up only waits so long.
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`)), CONNECT_TIMEOUT_MS);
  });
  try {
    await Promise.race([redis.connect(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The URL without its password, for messages. */
function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(an invalid URL)";
  }
}
