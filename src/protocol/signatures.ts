import { createHmac, createSecretKey, hash, type KeyObject } from "node:crypto";

/**
 * Secrets imported once as key objects: HMAC with a KeyObject skips re-importing
 * the key on every signature. Bounded by the number of app secrets ever loaded;
 * cleared past a size no real deployment reaches.
 */
const keys = new Map<string, KeyObject>();
const MAX_CACHED_KEYS = 10_000;

function keyOf(secret: string): KeyObject {
  let key = keys.get(secret);
  if (!key) {
    if (keys.size >= MAX_CACHED_KEYS) keys.clear();
    key = createSecretKey(Buffer.from(secret));
    keys.set(secret, key);
  }
  return key;
}

/** Hex HMAC-SHA256 of `message` keyed by the app secret, as every Pusher signature is. */
export function hmacSha256Hex(secret: string, message: string): string {
  return createHmac("sha256", keyOf(secret)).update(message).digest("hex");
}

export function md5Hex(body: string | Buffer): string {
  return hash("md5", body, "hex");
}

/**
 * Compares two strings in time that does not depend on where they differ, so a
 * signature cannot be guessed character by character from response times. The
 * values compared are short ASCII hex, so a loop without early exit does it
 * without allocating buffers.
 */
export function timingSafeEqualStrings(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}

/**
 * The string a Laravel/Pusher auth endpoint signs for a channel subscription:
 * `socket_id:channel`, plus `:channel_data` when it returns channel_data.
 */
export function channelAuthString(socketId: string, channel: string, channelData?: string): string {
  return channelData === undefined ? `${socketId}:${channel}` : `${socketId}:${channel}:${channelData}`;
}

/** The string a user-auth endpoint signs for `pusher:signin`. */
export function userAuthString(socketId: string, userData: string): string {
  return `${socketId}::user::${userData}`;
}

/**
 * Checks a subscription's `auth` field (`key:signature`) against the app's key and
 * secret, over exactly `socket_id:channel[:channel_data]`: the rule for presence
 * channels, whose channel_data names the member. Returns false for any malformed
 * value rather than throwing.
 */
export function verifyChannelAuth(
  auth: string,
  app: { key: string; secret: string },
  socketId: string,
  channel: string,
  channelData?: string,
): boolean {
  return verifyAuth(auth, app, channelAuthString(socketId, channel, channelData));
}

/**
 * The rule for private and encrypted channels. Auth endpoints that sign every
 * channel the presence way (the `pusher` SDKs' `authorizeChannel(socket, channel,
 * data)`) send channel_data with them and sign it; Pusher's service and Reverb
 * accept that. A signature over `socket_id:channel` alone is accepted too when
 * channel_data comes along: both need the secret, both bind the socket to the
 * channel, and channel_data means nothing on these channels, so neither form lets
 * a client do more than the other.
 */
export function verifyPrivateChannelAuth(
  auth: string,
  app: { key: string; secret: string },
  socketId: string,
  channel: string,
  channelData: string | undefined,
): boolean {
  if (channelData !== undefined && verifyChannelAuth(auth, app, socketId, channel, channelData)) return true;
  return verifyChannelAuth(auth, app, socketId, channel);
}

/** Checks the `auth` of `pusher:signin` (`key:signature` over `socket_id::user::user_data`). */
export function verifyUserAuth(auth: string, app: { key: string; secret: string }, socketId: string, userData: string): boolean {
  return verifyAuth(auth, app, userAuthString(socketId, userData));
}

function verifyAuth(auth: string, app: { key: string; secret: string }, signed: string): boolean {
  const separator = auth.indexOf(":");
  if (separator <= 0) return false;
  const key = auth.slice(0, separator);
  const signature = auth.slice(separator + 1);
  const expected = hmacSha256Hex(app.secret, signed);
  // Both comparisons always run, so a wrong key takes as long as a wrong signature.
  const keyMatches = timingSafeEqualStrings(key, app.key);
  const signatureMatches = timingSafeEqualStrings(signature, expected);
  return keyMatches && signatureMatches;
}
