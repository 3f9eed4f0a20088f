import type { Broker, ChannelMessage, LocalNode } from "./cluster.js";

/** The broker of a single process: everything is for this node, delivered at once. */
export class LocalBroker implements Broker {
  constructor(private readonly local: LocalNode) {}

  publish(message: ChannelMessage): void {
    this.local.deliver(message);
  }

  terminateUser(appId: string, userId: string): void {
    this.local.terminateUser(appId, userId);
  }

  async close(): Promise<void> {}
}
