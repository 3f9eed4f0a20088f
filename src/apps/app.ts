import type { WebhookEventName } from "../protocol/webhook-events.js";

/** Where and what an app's webhook is sent (Soketi's shape in apps.json). */
export interface Webhook {
  readonly url: string;
  /** Extra request headers, e.g. an Authorization the receiver wants. */
  readonly headers: Readonly<Record<string, string>>;
  /** The event types this webhook receives; undefined means all of them. */
  readonly eventTypes: ReadonlySet<WebhookEventName> | undefined;
  readonly channelNameStartsWith: string | undefined;
  readonly channelNameEndsWith: string | undefined;
}

/**
 * Events published to a vacant channel whose name starts with `channelPrefix` are
 * kept (each for `ttlSeconds`, the newest `maxEvents`) and handed to the subscriber
 * that makes the channel occupied again.
 */
export interface VacantChannelBuffer {
  readonly channelPrefix: string;
  readonly ttlSeconds: number;
  readonly maxEvents: number;
}

/**
 * One tenant of the server, as configured in apps.json. Field names follow
 * Soketi's array app manager so a Soketi app can be pasted over unchanged.
 */
export interface App {
  readonly id: string;
  readonly key: string;
  readonly secret: string;
  readonly name: string | undefined;
  readonly enabled: boolean;
  readonly enableClientMessages: boolean;
  /** -1 means unlimited. */
  readonly maxConnections: number;
  /** Exact origins or hosts, `*.example.com` wildcards, or `*` for any. */
  readonly allowedOrigins: readonly string[];
  /** Seconds of client silence before the server pings it. */
  readonly activityTimeout: number;
  readonly maxPresenceMembersPerChannel: number;
  readonly maxPresenceMemberSizeInKb: number;
  readonly maxChannelNameLength: number;
  readonly maxEventChannelsAtOnce: number;
  readonly maxEventNameLength: number;
  readonly maxEventPayloadInKb: number;
  readonly maxEventBatchSize: number;
  /** Client events per second per socket; -1 is unlimited. Over it: pusher:error 4301. */
  readonly maxClientEventsPerSecond: number;
  /** Events per second through the publish endpoints; -1 is unlimited. Over it: 429. */
  readonly maxBackendEventsPerSecond: number;
  /** Requests per second to the read endpoints; -1 is unlimited. Over it: 429. */
  readonly maxReadRequestsPerSecond: number;
  /**
   * Close connections that have not signed in (`pusher:signin`) within
   * userAuthenticationTimeout seconds. Soketi's `enableUserAuthentication` is read as this.
   */
  readonly requireUserAuthentication: boolean;
  /** Seconds a connection of an app requiring sign-in has to sign in. */
  readonly userAuthenticationTimeout: number;
  readonly webhooks: readonly Webhook[];
  /** Tell subscribers of non-presence channels how many subscribers there are. */
  readonly enableSubscriptionCount: boolean;
  /** Herald's own: what is published to a vacant channel is kept for its next subscriber; the first matching prefix applies. */
  readonly vacantChannelBuffers: readonly VacantChannelBuffer[];
}

/** The buffer rule of the channel: the first whose prefix it starts with, if any. */
export function bufferRuleFor(app: App, channel: string): VacantChannelBuffer | undefined {
  for (const rule of app.vacantChannelBuffers) if (channel.startsWith(rule.channelPrefix)) return rule;
  return undefined;
}
