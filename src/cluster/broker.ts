/**
 * The broker carries channel messages to the nodes that have subscribers. Code
 * above this layer publishes through it and never asks whether there are other
 * nodes; a single process uses the local broker.
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
   * subscribers. Messages published by one node to one channel arrive in the
   * order they were published. Never throws: a transport failure is the
   * broker's to report, not the publisher's.
   */
  publish(message: ChannelMessage): void;
}

/** What a node does with a message that reached it: fan it out to its own sockets. */
export type DeliverLocally = (message: ChannelMessage) => void;
