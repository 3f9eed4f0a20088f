/**
 * Encoding of the frames the server sends. Server-sent `data` is a JSON-encoded
 * string, as pusher-js expects. Each function returns the finished frame text.
 */
import type { ErrorCodeValue } from "./error-codes.js";

export function connectionEstablished(socketId: string, activityTimeoutSeconds: number): string {
  const data = JSON.stringify({ socket_id: socketId, activity_timeout: activityTimeoutSeconds });
  return JSON.stringify({ event: "pusher:connection_established", data });
}

export function pusherError(code: ErrorCodeValue, message: string): string {
  return JSON.stringify({ event: "pusher:error", data: { code, message } });
}

export const PONG = JSON.stringify({ event: "pusher:pong", data: {} });
export const PING = JSON.stringify({ event: "pusher:ping", data: {} });

/**
 * A presence channel's subscription_succeeded `data` as the frame carries it: a JSON string
 * whose text is the members' JSON, quotes and escapes in. It is built where the members are
 * kept, member by member (escaping the parts is escaping the whole), so a join does not escape
 * every member again: that was a quarter of a join's instructions in storms of 100 (bench/RESULTS.md,
 * "Presence storms"). A thread hands it on as one string, where an object's structured clone
 * would cost its every member twice.
 */
export type PresenceData = string & { readonly presenceData: true };

/** `json` as it reads inside a JSON string: JSON.stringify's escapes, without the quotes. */
export function inJsonString(json: string): string {
  return JSON.stringify(json).slice(1, -1);
}

/** From the members' ids and `id:user_info` pairs, each encoded and then escaped by inJsonString, joined by commas. */
export function presenceData(escapedIds: string, escapedHash: string, count: number): PresenceData {
  return `"{\\"presence\\":{\\"ids\\":[${escapedIds}],\\"hash\\":{${escapedHash}},\\"count\\":${count}}}"` as PresenceData;
}

/** The same from the members read whole (Presence.members), encoded at once. */
export function presenceDataOf(members: { ids: string[]; hash: Record<string, unknown>; count: number }): PresenceData {
  return JSON.stringify(JSON.stringify({ presence: { ids: members.ids, hash: members.hash, count: members.count } })) as PresenceData;
}

const SUCCEEDED_HEAD = '{"event":"pusher_internal:subscription_succeeded","channel":';

/** `data`: "{}" but for presence channels. */
export function subscriptionSucceeded(channel: string, data?: PresenceData): string {
  return `${SUCCEEDED_HEAD}${JSON.stringify(channel)},"data":${data ?? '"{}"'}}`;
}

/** `type` is what pusher-js and Echo's `.error()` show: "AuthError" or "LimitReached". */
export function subscriptionError(channel: string, type: string, error: string, status: number): string {
  return JSON.stringify({ event: "pusher:subscription_error", channel, data: { type, error, status } });
}

/** `userData` is the exact string the client signed in with; pusher-js parses it again. */
export function signinSuccess(userData: string): string {
  return JSON.stringify({ event: "pusher:signin_success", data: JSON.stringify({ user_data: userData }) });
}

/** What pusher-js's `user.watchlist.bind("online" | "offline")` receives, one event per name. */
export function watchlistEvents(name: "online" | "offline", userIds: readonly string[]): string {
  return JSON.stringify({ event: "pusher_internal:watchlist_events", data: JSON.stringify({ events: [{ name, user_ids: userIds }] }) });
}

export function subscriptionCount(channel: string, count: number): string {
  return JSON.stringify({ event: "pusher_internal:subscription_count", channel, data: JSON.stringify({ subscription_count: count }) });
}

/** Sent right after subscription_succeeded on a cache channel that holds no event. */
export function cacheMiss(channel: string): string {
  return JSON.stringify({ event: "pusher:cache_miss", channel });
}

export function memberAdded(channel: string, userId: string, userInfo: unknown): string {
  return JSON.stringify({
    event: "pusher_internal:member_added",
    channel,
    data: JSON.stringify({ user_id: userId, user_info: userInfo }),
  });
}

export function memberRemoved(channel: string, userId: string): string {
  return JSON.stringify({ event: "pusher_internal:member_removed", channel, data: JSON.stringify({ user_id: userId }) });
}

/**
 * An event on a channel. `data` is already a string (the HTTP API requires it);
 * presence client events carry the sender's `user_id` at the top level.
 */
export function channelEvent(event: string, channel: string, data: string, userId?: string): string {
  return userId === undefined
    ? JSON.stringify({ event, channel, data })
    : JSON.stringify({ event, channel, data, user_id: userId });
}

/**
 * Frames for one event on many channels share everything but the channel name,
 * so the event name and data are escaped once per event. Channel names are
 * validated to `[-a-zA-Z0-9_=@,.;#]`, which JSON never escapes, so they are
 * quoted as they are.
 */
export function channelEventEncoder(event: string, data: string): (validChannel: string) => string {
  const head = `{"event":${JSON.stringify(event)},"channel":"`;
  const tail = `","data":${JSON.stringify(data)}}`;
  return (validChannel) => head + validChannel + tail;
}
