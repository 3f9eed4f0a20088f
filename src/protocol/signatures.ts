import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/** Hex HMAC-SHA256 of `message` keyed by the app secret, as every Pusher signature is. */
export function hmacSha256Hex(secret: string, message: string): string {
  return createHmac("sha256", secret).update(message).digest("hex");
}

export function md5Hex(body: string | Buffer): string {
  return createHash("md5").update(body).digest("hex");
}

/**
 * Compares two strings in time that does not depend on where they differ,
 * so a signature cannot be guessed byte by byte from response times.
 */
export function timingSafeEqualStrings(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  // timingSafeEqual needs equal lengths; comparing against itself keeps the time flat.
  if (left.length !== right.length) {
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}

/**
 * The string a Laravel/Pusher auth endpoint signs for a channel subscription:
 * `socket_id:channel` for private channels, plus `:channel_data` for presence.
 */
export function channelAuthString(socketId: string, channel: string, channelData?: string): string {
  return channelData === undefined ? `${socketId}:${channel}` : `${socketId}:${channel}:${channelData}`;
}

/**
 * Checks a subscription's `auth` field (`key:signature`) against the app's key and
 * secret. Returns false for any malformed value rather than throwing.
 */
export function verifyChannelAuth(
  auth: string,
  app: { key: string; secret: string },
  socketId: string,
  channel: string,
  channelData?: string,
): boolean {
  const separator = auth.indexOf(":");
  if (separator <= 0) return false;
  const key = auth.slice(0, separator);
  const signature = auth.slice(separator + 1);
  const expected = hmacSha256Hex(app.secret, channelAuthString(socketId, channel, channelData));
  // Both comparisons always run, so a wrong key takes as long as a wrong signature.
  const keyMatches = timingSafeEqualStrings(key, app.key);
  const signatureMatches = timingSafeEqualStrings(signature, expected);
  return keyMatches && signatureMatches;
}
