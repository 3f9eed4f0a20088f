/**
 * The events Herald reports to an app's webhooks, in Pusher's format, and the
 * signed body they travel in. Pure: queueing and sending live in webhooks/.
 */
import { hmacSha256Hex } from "./signatures.js";

export const WEBHOOK_EVENT_NAMES = [
  "channel_occupied",
  "channel_vacated",
  "member_added",
  "member_removed",
  "client_event",
  "cache_miss",
  "subscription_count",
] as const;

export type WebhookEventName = (typeof WEBHOOK_EVENT_NAMES)[number];

export type WebhookEvent =
  | { name: "channel_occupied" | "channel_vacated" | "cache_miss"; channel: string }
  | { name: "member_added" | "member_removed"; channel: string; user_id: string }
  | { name: "client_event"; channel: string; event: string; data: string; socket_id: string; user_id?: string }
  | { name: "subscription_count"; channel: string; subscription_count: number };

/**
 * The body of one webhook request from events already JSON-encoded (each is
 * encoded once, when it is queued, which also tells its size).
 */
export function webhookBody(timeMs: number, encodedEvents: readonly string[]): string {
  return `{"time_ms":${timeMs},"events":[${encodedEvents.join(",")}]}`;
}

/** The headers Pusher's SDKs check: `X-Pusher-Signature` is the HMAC-SHA256 of the raw body with the app secret. */
export function webhookHeaders(app: { key: string; secret: string }, body: string): Record<string, string> {
  return {
    "Content-Type": "application/json",
    "X-Pusher-Key": app.key,
    "X-Pusher-Signature": hmacSha256Hex(app.secret, body),
  };
}
