/**
 * Which channels are occupied, and by how many subscribers, across every node.
 * Each node reports its own sockets coming and going; reads answer from the
 * shared facts, never by asking other nodes. A channel that empties is reported
 * vacated only if it stays empty for 3 s, and one that fills again within that
 * time is not reported occupied either, so a page reload reports nothing.
 */
import type { App } from "../apps/app.js";


/** Who hears the cluster-wide transitions: once per transition, on one node. */
export interface OccupancyEvents {
  /**
   * Whether anyone hears this app's transitions (its webhooks, a console watching
   * it): when nobody does, none are worked out or held.
   */
  heard(app: App): boolean;
  channelOccupied(app: App, channel: string): void;
  channelVacated(app: App, channel: string): void;
}

export interface Occupancy {
  /** A socket of this node joined (or left) `channel`; call after this node's own count changed. */
  changed(app: App, channel: string, joined: boolean): void;
  /** Subscribers of the channel on all nodes. Rejects when the shared facts cannot be read. */
  subscriptionCount(appId: string, channel: string): Promise<number>;
  /** Names of the channels occupied on any node, optionally only those starting with `prefix`. */
  occupiedChannels(appId: string, prefix: string): Promise<string[]>;
  /** Resolves once the departures held for 3 s have been reported or cancelled. */
  settled(): Promise<void>;
  stop(): void;
}
