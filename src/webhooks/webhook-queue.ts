/**
 * The outbox of one webhook of one app: events are batched (sent when 20 are
 * waiting or 250 ms after the first, whichever comes first), a few requests run
 * at once, and a failed request is retried with exponential backoff for up to 5
 * minutes. What waits is bounded in count and bytes; what does not fit is
 * dropped, counted and logged, so a dead receiver costs a fixed amount of memory.
 */
import type { App, Webhook } from "../apps/app.js";
import type { Logger } from "../logger.js";
import { webhookBody, webhookHeaders } from "../protocol/webhook-events.js";
import type { WebhookDeliveries } from "../metrics/prometheus.js";
import type { Post, WebhookAttempts } from "./http-post.js";
import { TIMINGS } from "../timings.js";

const BATCH_SIZE = 20;
const BATCH_WAIT_MS = 250;
const MAX_REQUESTS_AT_ONCE = 4;
const RETRY_FOR_MS = 5 * 60_000;
const FIRST_RETRY_MS = 1000;
const LONGEST_RETRY_MS = 60_000;
/** Events and encoded bytes held (waiting, in flight or awaiting a retry) per webhook. */
const MAX_HELD_EVENTS = 10_000;
const MAX_HELD_BYTES = 8 * 1024 * 1024;
const DROP_LOG_INTERVAL_MS = TIMINGS.dropLogIntervalMs;

export class WebhookQueue {
  private waiting: string[] = [];
  private heldEvents = 0;
  private heldBytes = 0;
  private requests = 0;
  private batchTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Every event this webhook has lost, for the log. */
  private dropped = 0;
  private droppedLogged = 0;
  private lastDropLogMs = 0;
  private dropLogTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly app: App,
    private readonly webhook: Webhook,
    private readonly post: Post,
    private readonly attempts: WebhookAttempts,
    private readonly log: Logger,
    /** The app's webhook numbers, shared by its queues and kept when they are replaced. */
    private readonly stats: WebhookDeliveries,
  ) {}

  get appId(): string {
    return this.app.id;
  }

  /** Events held now: waiting, in flight or awaiting a retry. */
  get held(): number {
    return this.heldEvents;
  }

  /** Queues one JSON-encoded event. Never waits and never throws. */
  push(encodedEvent: string): void {
    if (this.stopped) return;
    if (this.heldEvents >= MAX_HELD_EVENTS || this.heldBytes + encodedEvent.length > MAX_HELD_BYTES) {
      return this.drop(1, "the queue is full");
    }
    this.waiting.push(encodedEvent);
    this.heldEvents += 1;
    this.heldBytes += encodedEvent.length;
    if (this.waiting.length >= BATCH_SIZE) this.flush();
    else if (!this.batchTimer) {
      this.batchTimer = setTimeout(() => this.flush(), BATCH_WAIT_MS);
      this.batchTimer.unref();
    }
  }

  /** Sends what waits at once and resolves when nothing is held any more (the caller bounds the wait). */
  async drain(): Promise<void> {
    this.flush();
    while (this.heldEvents > 0 && !this.stopped) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  /** Stops sending; what is still queued is dropped. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.batchTimer);
    clearTimeout(this.dropLogTimer);
    this.waiting = [];
  }

  private flush(): void {
    clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    while (this.waiting.length > 0 && this.requests < MAX_REQUESTS_AT_ONCE) {
      void this.deliver(this.waiting.splice(0, BATCH_SIZE));
    }
  }

  private async deliver(batch: string[]): Promise<void> {
    this.requests += 1;
    // One body for every attempt: the receiver can tell a retry by its identical time_ms and signature.
    const body = webhookBody(Date.now(), batch);
    const headers = { ...this.webhook.headers, ...webhookHeaders(this.app, body) };
    const firstAttemptMs = Date.now();
    for (let attempt = 0; !this.stopped; attempt++) {
      const result = await this.post(this.webhook.url, headers, body);
      this.attempts(this.app.id, this.webhook.url, attempt + 1, batch.length, result);
      if (result.ok) {
        this.stats.delivered += 1;
        break;
      }
      this.stats.failed += 1;
      const delayMs = Math.min(FIRST_RETRY_MS * 2 ** attempt, LONGEST_RETRY_MS);
      if (Date.now() + delayMs - firstAttemptMs > RETRY_FOR_MS) {
        this.drop(batch.length, `delivery failed for 5 minutes (last: ${result.reason})`);
        break;
      }
      // At most MAX_REQUESTS_AT_ONCE lines per backoff step, so a dead receiver cannot flood the log.
      this.log.warn(
        { appId: this.app.id, url: this.webhook.url, events: batch.length, attempt: attempt + 1, retryInMs: delayMs, reason: result.reason },
        `webhook delivery for app ${this.app.id} to ${this.webhook.url} failed (${result.reason}); retrying in ${delayMs / 1000} s`,
      );
      await new Promise((resolve) => setTimeout(resolve, delayMs).unref());
    }
    this.requests -= 1;
    this.heldEvents -= batch.length;
    for (const event of batch) this.heldBytes -= event.length;
    if (this.waiting.length >= BATCH_SIZE || (this.waiting.length > 0 && !this.batchTimer)) this.flush();
  }

  /** Counts lost events and logs them at most once per 10 s, with a last report after the drops stop. */
  private drop(count: number, reason: string): void {
    this.dropped += count;
    this.stats.dropped += count;
    const now = Date.now();
    if (now - this.lastDropLogMs >= DROP_LOG_INTERVAL_MS) return this.logDrops(reason);
    this.dropLogTimer ??= setTimeout(() => this.logDrops(reason), DROP_LOG_INTERVAL_MS - (now - this.lastDropLogMs));
    this.dropLogTimer.unref();
  }

  private logDrops(reason: string): void {
    clearTimeout(this.dropLogTimer);
    this.dropLogTimer = undefined;
    this.lastDropLogMs = Date.now();
    this.log.warn(
      { appId: this.app.id, url: this.webhook.url, dropped: this.dropped - this.droppedLogged, droppedTotal: this.dropped },
      `webhook events dropped for app ${this.app.id} to ${this.webhook.url}: ${reason}`,
    );
    this.droppedLogged = this.dropped;
  }
}
