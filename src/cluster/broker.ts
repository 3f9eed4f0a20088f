/**
 * The broker carries what one node does to the nodes that must see it. Code
 * above this layer publishes through it and never asks whether there are other
 * nodes; a single process uses the local broker, a cluster the Redis broker.
 */

/** One encoded frame for every subscriber of one app's channel. */
export interface ChannelMessage {
  readonly appId: string;
  readonly channel: string;
  /** The finished frame text, encoded once by the publisher. */
  readonly frame: string;
  /** A socket that must not receive the frame (the sender, or `socket_id` of the HTTP API). */
  readonly exceptSocketId?: string | undefined;
}

export interface Broker {
  /**
   * Delivers `message` once to every node, which hands it to its local
   * subscribers: the publishing node at once, the others as soon as the
   * transport carries it. Messages published by one node to one app arrive at
   * every node in the order they were published. Never throws: while the
   * transport is down, other nodes miss the message (the broker logs it), and
   * this node's subscribers still get it.
   */
  publish(message: ChannelMessage): void;

  /** Closes every connection signed in as `userId`, on every node; same delivery as publish. */
  terminateUser(appId: string, userId: string): void;

  /** Lets go of the transport, for a clean stop. */
  close(): Promise<void>;
}

/** What a node does with what reached it through the broker. */
export interface LocalNode {
  /** Fans a channel message out to this node's own sockets. */
  deliver(message: ChannelMessage): void;
  /** Closes this node's connections signed in as `userId`. */
  terminateUser(appId: string, userId: string): void;
  /** The users signed in on this node, as [app id, user id], for writing them to Redis again. */
  signedInUsers(): Iterable<readonly [string, string]>;
  /** Whether `userId` has a signed-in socket on this node. */
  hasUser(appId: string, userId: string): boolean;
  /** Open connections of the app on this node. */
  connections(appId: string): number;
}
