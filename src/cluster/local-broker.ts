import type { Broker, ChannelMessage, DeliverLocally } from "./broker.js";

/** The broker of a single process: every message is for this node, delivered at once. */
export class LocalBroker implements Broker {
  constructor(private readonly deliver: DeliverLocally) {}

  publish(message: ChannelMessage): void {
    this.deliver(message);
  }
}
