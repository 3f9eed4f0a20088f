/**
 * `pusher_internal:subscription_count` to the subscribers of a non-presence
 * channel when its count changes, for apps with enableSubscriptionCount, and the
 * same counts to webhooks that ask for subscription_count. Above
 * 100 subscribers a channel hears at most one count every 5 s: the latest count
 * goes out when the 5 s are up, so the last word is always right.
 */
import type { App } from "../apps/app.js";
import type { ChannelDirectory } from "../channels/channel-directory.js";
import type { Broker, Occupancy } from "../cluster/cluster.js";
import type { Logger } from "../logger.js";
import { channelKind } from "../protocol/channel-names.js";
import * as frames from "../protocol/server-frames.js";
import type { Webhooks } from "../webhooks/webhooks.js";
import { topicOf } from "./topics.js";

const THROTTLE_ABOVE = 100;
const THROTTLE_MS = 5000;

interface Throttle {
  lastSentMs: number;
  timer: NodeJS.Timeout | undefined;
}

export class SubscriptionCounts {
  /** Only channels above the threshold, or with a count still to send, have an entry. */
  private readonly throttles = new Map<string, Throttle>();
  /**
   * Channels whose count is being read (from every thread or node), and whether it
   * changed again meanwhile. On worker threads or a cluster the read answers later,
   * and the throttle is set only by its answer: the changes meanwhile wait for it
   * rather than each sending at once past the threshold.
   */
  private readonly reading = new Map<string, boolean>();

  constructor(
    private readonly channels: ChannelDirectory,
    private readonly occupancy: Occupancy,
    private readonly broker: Broker,
    private readonly webhooks: Webhooks,
    private readonly log: Logger,
  ) {}

  /** Call after a socket joined or left `channel`. */
  changed(app: App, channel: string): void {
    if (!app.enableSubscriptionCount && !this.webhooks.wants(app, "subscription_count")) return;
    const kind = channelKind(channel);
    if (kind === "presence" || kind === "server-to-user") return;
    const key = topicOf(app.id, channel);
    const count = this.channels.forApp(app.id).subscriptionCount(channel);
    const throttle = this.throttles.get(key);
    if (count === 0) {
      // Nobody here is left to tell; subscribers on other nodes may be.
      clearTimeout(throttle?.timer);
      this.throttles.delete(key);
      return this.send(app, channel);
    }
    if (throttle?.timer) return; // the pending send will carry the latest count
    if (this.reading.has(key)) return void this.reading.set(key, true);
    const now = Date.now();
    if (count <= THROTTLE_ABOVE && !throttle) return this.send(app, channel);
    if (!throttle || now - throttle.lastSentMs >= THROTTLE_MS) {
      this.send(app, channel);
      this.throttles.set(key, { lastSentMs: now, timer: undefined });
      return;
    }
    throttle.timer = setTimeout(() => this.flush(app, channel, key), THROTTLE_MS - (now - throttle.lastSentMs));
    throttle.timer.unref();
  }

  stop(): void {
    for (const throttle of this.throttles.values()) clearTimeout(throttle.timer);
    this.throttles.clear();
    // A read still out sends its count, and nothing after it.
    this.reading.clear();
  }

  private flush(app: App, channel: string, key: string): void {
    const count = this.channels.forApp(app.id).subscriptionCount(channel);
    this.send(app, channel);
    if (count === 0) return void this.throttles.delete(key);
    // Back under the threshold (send() looks at every node's count), the channel goes back to being told at once.
    this.throttles.set(key, { lastSentMs: Date.now(), timer: undefined });
  }

  /**
   * Tells every node's subscribers the cluster-wide count. Each change happens on
   * one node, which reads the count after writing its own, so each is told once.
   */
  private send(app: App, channel: string): void {
    const key = topicOf(app.id, channel);
    this.reading.set(key, false);
    this.occupancy
      .subscriptionCount(app.id, channel)
      // Redis away: this node's own count is the best there is.
      .catch(() => this.channels.forApp(app.id).subscriptionCount(channel))
      .then((count) => {
        // The threshold is the channel's count on every node (and thread), not this one's alone.
        if (count > THROTTLE_ABOVE && !this.throttles.has(key)) this.throttles.set(key, { lastSentMs: Date.now(), timer: undefined });
        else if (count <= THROTTLE_ABOVE && this.throttles.get(key)?.timer === undefined) this.throttles.delete(key);
        if (count !== 0) {
          if (app.enableSubscriptionCount) this.broker.publish({ appId: app.id, channel, frame: frames.subscriptionCount(channel, count) });
          this.webhooks.subscriptionCount(app, channel, count);
        }
      })
      .catch((error: unknown) => this.log.error({ err: error }, "sending a subscription count failed"))
      .finally(() => {
        const changedSince = this.reading.get(key);
        this.reading.delete(key);
        // Told now, or throttled now that the read set the throttle.
        if (changedSince) this.changed(app, channel);
      });
  }
}
