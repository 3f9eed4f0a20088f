/**
 * Pusher error and close codes. pusher-js acts on the range of a close code:
 * 4000–4099 it gives up, 4100–4199 it reconnects with backoff, 4200–4299 it
 * reconnects at once. Codes of 4300 and up are only ever sent in `pusher:error`
 * frames; Herald never closes a socket with them.
 */
export const ErrorCode = {
  /** No app has the key in the URL. */
  AppNotFound: 4001,
  /** The app exists but is disabled in apps.json. */
  AppDisabled: 4003,
  /** The app has reached its `maxConnections`. */
  AppOverQuota: 4004,
  /** The `protocol` query parameter is not one Herald speaks. */
  UnsupportedProtocol: 4007,
  /** The page's Origin is not in the app's `allowedOrigins`. */
  OriginNotAllowed: 4009,
  /**
   * Pusher's "connection is unauthorized": a failed sign-in, no sign-in within the
   * app's userAuthenticationTimeout, or the app terminating the user's connections.
   */
  Unauthorized: 4009,
  /**
   * The server is at its --max-connections, or the socket could not keep up with its
   * output (--max-backpressure-kb): pusher-js tries again after a back-off.
   */
  OverCapacity: 4100,
  /** Going away for a restart: pusher-js reconnects at once, ideally elsewhere. */
  ServerRestarting: 4200,
  /** The client did not answer a ping within the grace period. */
  PongTimeout: 4201,
  /**
   * A frame was rejected (malformed, unknown event, rule broken). Pusher's docs
   * reserve 4300–4399 for "any other error"; the socket stays open.
   */
  FrameRejected: 4300,
  /** A client event over the app's maxClientEventsPerSecond; the socket stays open. */
  ClientEventRateLimited: 4301,
  /** A signed-in user's watchlist is longer than 100; the sign-in stands, the watchlist is ignored. */
  WatchlistTooLong: 4302,
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];
