/**
 * What this node reports to apps' webhooks. Callers say what happened; this
 * decides which webhooks want it (event types, channel-name filters) and
 * queues it. Every method returns at once: sending
 * happens later, off the socket path.
 */
import type { App, Webhook } from "../apps/app.js";
import type { Logger } from "../logger.js";
import type { WebhookEvent, WebhookEventName } from "../protocol/webhook-events.js";
import type { ClusterTransitions } from "../cluster/cluster.js";
import type { WebhookDeliveries, WebhookStats } from "../metrics/prometheus.js";
import type { Post, WebhookAttempts } from "./http-post.js";
import { WebhookQueue } from "./webhook-queue.js";

/**
 * Departures arrive here already held for 3 s by the cluster layer (occupancy and
 * presence), which reports only what stands.
 */
export class Webhooks implements ClusterTransitions {
  private readonly queues = new Map<string, WebhookQueue>();
  /** Queues of apps changed by a reload: they deliver what they hold, with the settings it was queued under. */
  private readonly retiring = new Set<WebhookQueue>();
  private readonly deliveriesByApp = new Map<string, WebhookDeliveries>();

  constructor(
    private readonly post: Post,
    private readonly log: Logger,
    private readonly attempts: WebhookAttempts = () => {},
  ) {}

  /** Whether any webhook of the app asks for `name`, for callers that would do work just to report it. */
  wants(app: App, name: WebhookEventName): boolean {
    return app.webhooks.some((webhook) => webhook.eventTypes === undefined || webhook.eventTypes.has(name));
  }

  heard(app: App): boolean {
    return app.webhooks.length > 0;
  }

  channelOccupied(app: App, channel: string): void {
    if (reports(app, channel)) this.emit(app, { name: "channel_occupied", channel });
  }

  channelVacated(app: App, channel: string): void {
    if (reports(app, channel)) this.emit(app, { name: "channel_vacated", channel });
  }

  memberAdded(app: App, channel: string, userId: string): void {
    if (reports(app, channel)) this.emit(app, { name: "member_added", channel, user_id: userId });
  }

  memberRemoved(app: App, channel: string, userId: string): void {
    if (reports(app, channel)) this.emit(app, { name: "member_removed", channel, user_id: userId });
  }

  clientEvent(app: App, channel: string, event: string, data: string, socketId: string, userId: string | undefined): void {
    if (!reports(app, channel)) return;
    this.emit(app, userId === undefined
      ? { name: "client_event", channel, event, data, socket_id: socketId }
      : { name: "client_event", channel, event, data, socket_id: socketId, user_id: userId });
  }

  cacheMiss(app: App, channel: string): void {
    if (reports(app, channel)) this.emit(app, { name: "cache_miss", channel });
  }

  subscriptionCount(app: App, channel: string, count: number): void {
    if (reports(app, channel)) this.emit(app, { name: "subscription_count", channel, subscription_count: count });
  }

  /** The app's delivery numbers, or undefined when it has never had a webhook event. */
  stats(appId: string): WebhookStats | undefined {
    const deliveries = this.deliveriesByApp.get(appId);
    if (!deliveries) return undefined;
    let queued = 0;
    for (const queue of [...this.queues.values(), ...this.retiring]) if (queue.appId === appId) queued += queue.held;
    return { ...deliveries, queued };
  }

  /**
   * After a reload changed these apps: their next events go to new queues with the
   * new URLs, filters and secret, while the old queues finish what they hold.
   */
  retireQueuesOf(appIds: ReadonlySet<string>): void {
    for (const [key, queue] of this.queues) {
      if (!appIds.has(queue.appId)) continue;
      this.queues.delete(key);
      this.retiring.add(queue);
      void queue.drain().then(() => {
        queue.stop();
        this.retiring.delete(queue);
      });
    }
  }

  /** Sends everything queued and resolves when it is delivered (or given up). */
  async flush(): Promise<void> {
    await Promise.all([...this.queues.values(), ...this.retiring].map((queue) => queue.drain()));
  }

  /** Drops what is held and queued; used when the server stops. */
  stop(): void {
    for (const queue of [...this.queues.values(), ...this.retiring]) queue.stop();
    this.queues.clear();
    this.retiring.clear();
  }

  private emit(app: App, event: WebhookEvent): void {
    let encoded: string | undefined;
    app.webhooks.forEach((webhook, index) => {
      if (!accepts(webhook, event)) return;
      encoded ??= JSON.stringify(event);
      this.queueOf(app, webhook, index).push(encoded);
    });
  }

  private queueOf(app: App, webhook: Webhook, index: number): WebhookQueue {
    const key = `${app.id}\n${index}`;
    let queue = this.queues.get(key);
    if (!queue) {
      let deliveries = this.deliveriesByApp.get(app.id);
      if (!deliveries) this.deliveriesByApp.set(app.id, (deliveries = { delivered: 0, failed: 0, dropped: 0 }));
      queue = new WebhookQueue(app, webhook, this.post, this.attempts, this.log, deliveries);
      this.queues.set(key, queue);
    }
    return queue;
  }
}

/** Channels of the server's own (`#server-to-user-…`) are plumbing, not the app's channels. */
function reports(app: App, channel: string): boolean {
  return app.webhooks.length > 0 && !channel.startsWith("#");
}

function accepts(webhook: Webhook, event: WebhookEvent): boolean {
  if (webhook.eventTypes !== undefined && !webhook.eventTypes.has(event.name)) return false;
  if (webhook.channelNameStartsWith !== undefined && !event.channel.startsWith(webhook.channelNameStartsWith)) return false;
  return webhook.channelNameEndsWith === undefined || event.channel.endsWith(webhook.channelNameEndsWith);
}

