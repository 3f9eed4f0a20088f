/**
 * The broker of a cluster: nodes share one Redis and talk over pub/sub, one
 * Redis channel per app. A node subscribes to its apps' channels once at start,
 * so no Pusher subscription ever waits on a Redis round trip and no message can
 * slip past between a socket subscribing and its node subscribing. The cost is
 * that every node receives all of an app's messages; publishing one to a uWS
 * topic nobody on the node holds costs a lookup.
 */
import type { Redis } from "ioredis";
import type { Logger } from "../logger.js";
import type { Broker, ChannelMessage, ConsoleInbox, LocalNode } from "./cluster.js";
import { decodeWireMessage, encodeChannelMessage, encodeConsoleEntry, encodeConsoleWatch, encodeTerminateUser } from "./wire.js";
import { APP_CHANNEL_PREFIX, appChannel } from "./redis-keys.js";

const MISSED_LOG_INTERVAL_MS = 10_000;

/** Console entries and watches travel on the app's channel too, so they need no subscriptions of their own. */
export class RedisBroker implements Broker {
  /** Messages other nodes did not get because Redis was away, for the log. */
  private missed = 0;
  private missedLogged = 0;
  private missedLogTimer: NodeJS.Timeout | undefined;
  private reachable = true;
  private closing = false;
  /** The apps whose channels this node listens on, subscribed again on each reconnect. */
  private readonly listening = new Set<string>();

  constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    private readonly nodeId: string,
    private readonly local: LocalNode,
    private readonly consoles: ConsoleInbox,
    private readonly log: Logger,
    /** Where Redis is, without passwords, for messages. */
    private readonly where: string,
    /** On a Redis Cluster, sharded pub/sub: each app's channel lives on one shard instead of every shard. */
    private readonly sharded: boolean,
    private readonly problemChanged: () => void = () => {},
  ) {
    subscriber.on(sharded ? "smessage" : "message", (channel: string, payload: string) => this.receive(channel, payload));
    for (const connection of [publisher, subscriber]) {
      connection.on("error", (error: Error) => this.unreachable(error.message));
      // A Redis that restarts quickly may drop the connection without any error on it.
      connection.on("close", () => this.closing || this.unreachable("connection closed"));
      connection.on("ready", () => this.backAgain());
    }
    // Not ioredis's own resubscribe (redis-cluster.ts turns it off): one that the next close cuts
    // loses the subscriptions for good, since ioredis records one only when Redis answers it.
    // A cut one here is sent again on the next reconnect. A Redis Cluster's sharded
    // subscribers keep their own.
    if (!sharded) subscriber.on("ready", () => void this.listen([...this.listening]).catch(() => undefined));
  }

  publish(message: ChannelMessage): void {
    this.local.deliver(message);
    this.send(message.appId, encodeChannelMessage(this.nodeId, message));
  }

  terminateUser(appId: string, userId: string): void {
    this.local.terminateUser(appId, userId);
    this.send(appId, encodeTerminateUser(this.nodeId, userId));
  }

  publishConsoleEntry(appId: string, entryJson: string): void {
    this.send(appId, encodeConsoleEntry(this.nodeId, entryJson));
  }

  announceConsoles(appIds: readonly string[]): void {
    for (const appId of appIds) this.send(appId, encodeConsoleWatch(this.nodeId));
  }

  /** Why this node is cut off from the others, if it is. */
  problem(): string | undefined {
    return this.reachable ? undefined : `Redis at ${this.where} is unreachable: this node serves only its own clients.`;
  }

  /** Messages the other nodes missed while Redis was unreachable, since start. */
  get messagesNotSent(): number {
    return this.missed;
  }

  /** Subscribes this node to its apps' channels (one at a time when sharded: SSUBSCRIBE takes one slot per call). */
  async listen(appIds: readonly string[]): Promise<void> {
    for (const appId of appIds) this.listening.add(appId);
    if (appIds.length === 0) return;
    if (!this.sharded) return void (await this.subscriber.subscribe(...appIds.map(appChannel)));
    for (const appId of appIds) await this.subscriber.ssubscribe(appChannel(appId));
  }

  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.missedLogTimer);
    await Promise.allSettled([this.publisher.quit(), this.subscriber.quit()]);
  }

  private send(appId: string, payload: string): void {
    // Without an offline queue a command fails at once while Redis is away, so nothing piles up in memory.
    if (this.publisher.status !== "ready") return this.countMissed();
    const sent = this.sharded ? this.publisher.spublish(appChannel(appId), payload) : this.publisher.publish(appChannel(appId), payload);
    sent.catch(() => this.countMissed());
  }

  private receive(redisChannel: string, payload: string): void {
    const message = decodeWireMessage(payload);
    if (!message || message.origin === this.nodeId || !redisChannel.startsWith(APP_CHANNEL_PREFIX)) return;
    const appId = redisChannel.slice(APP_CHANNEL_PREFIX.length);
    try {
      if (message.kind === "channel") {
        this.local.deliver({ appId, channel: message.channel, frame: message.frame, exceptSocketId: message.exceptSocketId });
      } else if (message.kind === "terminate-user") {
        this.local.terminateUser(appId, message.userId);
      } else if (message.kind === "console-entry") {
        this.consoles.received(appId, message.entryJson);
      } else {
        this.consoles.watchedElsewhere([appId]);
      }
    } catch (error) {
      this.log.error({ err: error, appId }, "delivering a message from another node failed");
    }
  }

  private unreachable(why: string): void {
    if (!this.reachable) return;
    this.reachable = false;
    this.problemChanged();
    this.log.error({ err: why }, `Redis at ${this.where} is unreachable: local clients are still served; other nodes miss this node's events until it is back`);
  }

  private backAgain(): void {
    if (this.reachable || this.publisher.status !== "ready" || this.subscriber.status !== "ready") return;
    this.reachable = true;
    this.problemChanged();
    this.log.info(`Redis at ${this.where} is reachable again`);
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
