/**
 * Every way Herald ends a Pusher connection, in one place: the close code (whose
 * range tells pusher-js whether to reconnect), the close reason, and the
 * `pusher:error` sent first when the client should be told why in words. Metrics
 * count closes by code; the console shows the code's meaning (console/entries.ts).
 */
import { ErrorCode, type ErrorCodeValue } from "./error-codes.js";

export interface Closing {
  readonly code: ErrorCodeValue;
  /** The close frame's reason: short, and never over the 123 bytes a close frame allows. */
  readonly reason: string;
  /** Sent as `pusher:error` before the close; undefined when nothing more can usefully be sent. */
  readonly message: string | undefined;
}

/** A close frame's payload is at most 125 bytes, two of them the code. */
const MAX_REASON_BYTES = 123;

function closing(code: ErrorCodeValue, reason: string, message?: string): Closing {
  return { code, reason: fitReason(reason), message };
}

/** Cuts a reason to 123 bytes of UTF-8 without splitting a character. */
export function fitReason(reason: string): string {
  if (Buffer.byteLength(reason) <= MAX_REASON_BYTES) return reason;
  let cut = reason.slice(0, MAX_REASON_BYTES);
  while (Buffer.byteLength(cut) > MAX_REASON_BYTES) cut = cut.slice(0, -1);
  return cut;
}

export const Closes = {
  /** At the handshake: no app has this key (or, after a reload, no longer has it). */
  unknownKey: (key: string) =>
    closing(ErrorCode.AppNotFound, "Unknown app key", `No app has the key "${key.slice(0, 100)}"; check the key in your Echo/pusher-js config against apps.json.`),
  appDisabled: (appId: string) => closing(ErrorCode.AppDisabled, "App disabled", `The app ${appId} is disabled.`),
  appOverQuota: (appId: string, maxConnections: number) =>
    closing(ErrorCode.AppOverQuota, "App over its connection quota", `The app ${appId} has reached its maxConnections of ${maxConnections}.`),
  unsupportedProtocol: (protocol: string) =>
    closing(ErrorCode.UnsupportedProtocol, "Unsupported protocol version", `Protocol version ${protocol.slice(0, 20)} is not supported; use pusher-js 4 or later (protocol 7).`),
  originNotAllowed: (origin: string, appId: string) =>
    closing(ErrorCode.OriginNotAllowed, "Origin not allowed", `The origin "${origin.slice(0, 200)}" is not in the allowedOrigins of app ${appId}.`),
  serverFull: (limit: number) => closing(ErrorCode.OverCapacity, "Server at its connection limit", `The server is at its limit of ${limit} connections; try again later.`),
  /** Its output queue is full: another frame would only add to it. */
  tooSlow: () => closing(ErrorCode.OverCapacity, "Too slow: too much output queued"),
  signinTimeout: (seconds: number) =>
    closing(ErrorCode.Unauthorized, "Connection not authorized within timeout", `This app requires sign-in (pusher:signin) within ${seconds} s of connecting.`),
  signinFailed: (message: string) => closing(ErrorCode.Unauthorized, "Sign-in failed", message),
  terminatedByApp: () => closing(ErrorCode.Unauthorized, "Connection terminated by the app", "The app terminated this user's connections."),
  /** A silent client that did not answer its ping: nobody is listening for a message. */
  pongTimeout: () => closing(ErrorCode.PongTimeout, "Pong reply not received"),
  appRemoved: (appId: string) => closing(ErrorCode.AppNotFound, "App removed", `The app ${appId} was removed from the server's apps.`),
  appKeyChanged: (appId: string) => closing(ErrorCode.AppNotFound, "App key changed", `The app ${appId} has a new key; connect with it.`),
  appDisabledOnReload: (appId: string) => closing(ErrorCode.AppDisabled, "App disabled", `The app ${appId} has been disabled.`),
  /** Reconnect at once, through the load balancer, to a node that is not stopping. */
  shuttingDown: () => closing(ErrorCode.ServerRestarting, "Server shutting down"),
} as const;
