/** The kinds of channel the Pusher protocol distinguishes by name prefix. */
export type ChannelKind = "public" | "private" | "presence" | "encrypted" | "server-to-user";

const CHANNEL_NAME = /^#?[-a-zA-Z0-9_=@,.;]+$/;

/** After sign-in, pusher-js subscribes to this prefix plus the user id, to receive `sendToUser` events. */
export const SERVER_TO_USER_PREFIX = "#server-to-user-";

export function channelKind(name: string): ChannelKind {
  if (name.startsWith("private-encrypted-")) return "encrypted";
  if (name.startsWith("private-")) return "private";
  if (name.startsWith("presence-")) return "presence";
  if (name.startsWith(SERVER_TO_USER_PREFIX)) return "server-to-user";
  return "public";
}

export const WATCHERS_PREFIX = "#watchers:";

/**
 * The internal channel on which the users watching `userId` hear it come and go.
 * ":" is not allowed in channel names, so no client can subscribe or publish to it.
 */
export function watchersChannel(userId: string): string {
  return `${WATCHERS_PREFIX}${userId}`;
}

const CACHE_PREFIXES = ["cache-", "private-cache-", "presence-cache-", "private-encrypted-cache-"];

/** Cache channels keep the last event published to them and replay it to each new subscriber. */
export function isCacheChannel(name: string): boolean {
  return name.includes("cache-") && CACHE_PREFIXES.some((prefix) => name.startsWith(prefix));
}

/** Private, presence and encrypted channels need a signature from the app's auth endpoint. */
export function requiresAuth(kind: ChannelKind): boolean {
  return kind === "private" || kind === "presence" || kind === "encrypted";
}

/**
 * Why a channel name is unacceptable, or null when it is fine. `#` names are
 * reserved for channels the server creates (`#server-to-user-…`).
 */
export function channelNameProblem(name: string, maxLength: number): string | null {
  if (name.length === 0) return "The channel name is empty.";
  if (name.length > maxLength) {
    return `The channel name is ${name.length} characters long; this app allows at most ${maxLength}.`;
  }
  if (name.startsWith(SERVER_TO_USER_PREFIX)) return serverToUserNameProblem(name);
  if (!CHANNEL_NAME.test(name)) {
    return `The channel name "${name}" has characters outside a-z, A-Z, 0-9 and -_=@,.; .`;
  }
  return null;
}

const CONTROL_CHARACTER = /[\x00-\x1f\x7f]/;

/**
 * pusher-js names this channel after the signed-in user's id, which the Pusher
 * SDKs let be any non-empty string (an e-mail address with "+", a name with spaces
 * or accents), so the suffix is held to what a user id may be, not to the
 * channel-name characters. Control characters stay out: names travel between
 * nodes in newline-separated envelopes.
 */
function serverToUserNameProblem(name: string): string | null {
  if (name.length === SERVER_TO_USER_PREFIX.length) return `The channel name "${name}" has no user id after ${SERVER_TO_USER_PREFIX}.`;
  if (CONTROL_CHARACTER.test(name)) return "The channel name has control characters; user ids in #server-to-user- names cannot hold them.";
  return null;
}
