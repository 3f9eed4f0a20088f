/**
 * What the console's server and its page exchange: the shapes of log entries,
 * stats samples, channel rows and the feed's control messages. Types only, so the
 * page (web/console) imports them too and the two cannot drift apart.
 */

export type TapEntryType =
  | "connection_opened"
  | "connection_closed"
  | "subscribed"
  | "unsubscribed"
  | "subscription_refused"
  | "channel_occupied"
  | "channel_vacated"
  | "member_added"
  | "member_removed"
  | "signin"
  | "api_event"
  | "client_event"
  | "cache_miss"
  | "webhook_sent"
  | "webhook_failed"
  | "rate_limited";

/** What a caller says happened; the tap adds the app, the time and the node. */
export interface TapEvent {
  type: TapEntryType;
  socketId?: string;
  channel?: string;
  /** Several channels, for an HTTP API event. */
  channels?: readonly string[];
  /** The event's name (API and client events). */
  event?: string;
  userId?: string;
  /** A line for a person: the close code's meaning, the refusal's reason, the webhook's URL. */
  detail?: string;
  code?: number;
  status?: number;
  attempt?: number;
  origin?: string;
  transport?: string;
  /** The event's data as the server sees it (ciphertext on encrypted channels), cut to a preview. */
  payload?: string;
  /** The payload's full size in bytes, before the cut. */
  payloadBytes?: number;
  exceptSocketId?: string;
}

export interface TapEntry extends TapEvent {
  appId: string;
  /** Milliseconds since the epoch. */
  time: number;
  /** The node (process) it happened on. */
  node: string;
}

/** A stats sample of one app on one node (console/stats.ts). */
export interface StatsSample {
  /** Milliseconds since the epoch. */
  time: number;
  connections: number;
  messagesInPerSecond: number;
  messagesOutPerSecond: number;
  apiRequestsPerSecond: number;
  webhookQueue: number;
}

/** An occupied channel as the console lists it, counts cluster-wide. */
export interface ChannelRow {
  name: string;
  subscriptionCount: number;
  userCount?: number;
  members?: Array<{ id: string; info: unknown }>;
}

/** What the feed sends besides entries; entries have a `type`, these a `kind`. */
export type FeedControl =
  | { kind: "hello"; node: string }
  | { kind: "watching"; app: string }
  | { kind: "dropped"; count: number }
  | { kind: "paused"; paused: boolean }
  | { kind: "error"; message: string };
