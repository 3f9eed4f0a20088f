import type { App } from "../apps/app.js";
import type { RateWindow } from "../apps/rate-window.js";
import type { Closing } from "../protocol/closes.js";
import type { SignedInUser } from "../protocol/user-data.js";

/**
 * What Herald keeps per WebSocket (uWebSockets.js user data). Kept small: there
 * may be hundreds of thousands of these.
 */
export interface Connection {
  /** Undefined when the socket is being refused (see `rejection`); replaced when apps.json is reloaded. */
  app: App | undefined;
  /** Why the socket is refused, once open. */
  readonly rejection: Closing | undefined;
  readonly socketId: string;
  /** Subscribed channels, each with its presence user id (undefined for other kinds). */
  channels: Map<string, string | undefined> | undefined;
  /** Coarse clock second of the last frame or pong from the client. */
  lastSeen: number;
  /** performance.now() when the server pinged a silent client, or 0 when no ping is pending. */
  pingedAt: number;
  /** False from the close event on; uWS forbids touching a closed socket. */
  open: boolean;
  /** This socket's client-event allowance, created with its first client event. */
  clientEvents: RateWindow | undefined;
  /** The user this socket signed in as (`pusher:signin`), if it did. */
  user: SignedInUser | undefined;
  /** Clock second by which an app requiring sign-in closes the socket, or 0 when there is none. */
  signinDeadline: number;
  /** The page's Origin, kept only when a console watched the app as the socket arrived. */
  origin: string | undefined;
}

/**
 * A Pusher connection as the rules (subscriptions, sign-in, client events,
 * closes) see it. A uWebSockets.js socket is one as it is; an HTTP-transport
 * session will implement the same, so both obey the same code.
 */
export interface PusherSocket {
  getUserData(): Connection;
  /** Queues one frame for the client. */
  send(frame: string): unknown;
  /** Starts (or stops) receiving what is published to a topic (topics.ts). */
  subscribe(topic: string): unknown;
  unsubscribe(topic: string): unknown;
  /** Closes with a code and reason (close-connection.ts decides them). */
  end(code: number, reason: string): unknown;
}

/**
 * What this node does with each of its connections besides the rules: the
 * keepalive sweep, exclusion on publish, the graceful stop. A uWebSockets.js
 * socket is one as it is; an HTTP-transport session implements the same.
 */
export interface NodeSocket extends PusherSocket {
  /** Output queued for the client and not yet taken by it. */
  getBufferedAmount(): number;
  /** A transport-level ping (WebSocket control frame); nothing on transports without one. */
  ping(): unknown;
  /** Runs `work`, sending what it sends in one write where the transport can. */
  cork(work: () => void): unknown;
  /** Publishes to a topic's subscribers except this socket (it must be subscribed). */
  publish(topic: string, frame: string): unknown;
  isSubscribed(topic: string): boolean;
  /** True for an HTTP-transport session, which the engine's topics do not know. */
  readonly isSession?: true;
}
