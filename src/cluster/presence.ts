/**
 * Who is in each presence channel across every node. Each node keeps its own
 * sockets (channels/) and reports a user's first socket in and last socket out;
 * this says whether that made the user join or leave the cluster's channel, and
 * answers member lists and counts from the shared facts. It also reports the
 * member_added / member_removed transitions for webhooks, holding a departure
 * 3 s so that a user who comes back (through any node) produces neither. A single process
 * answers at once (no promise), so its subscriptions complete synchronously.
 */
import type { App } from "../apps/app.js";
import type { PresenceSnapshot } from "../channels/presence-channel.js";

export type ClusterJoin = { ok: true; added: boolean; members: PresenceSnapshot } | { ok: false; reason: string };

export interface Presence {
  /**
   * A socket of this node joined as `userId`; `firstOnNode` says whether it is the
   * user's first socket in the channel here, `localMembers` who is in it on this
   * node now. Resolves with the cluster's members, whether the user is new to the
   * channel, or why the channel is full.
   */
  join(app: App, channel: string, userId: string, userInfo: unknown, firstOnNode: boolean, localMembers: PresenceSnapshot): ClusterJoin | Promise<ClusterJoin>;
  /** The user's last socket on this node left; true (or resolves true) when the user left the channel everywhere. */
  leave(app: App, channel: string, userId: string): boolean | Promise<boolean>;
  userCount(appId: string, channel: string): Promise<number>;
  userIds(appId: string, channel: string): Promise<string[]>;
  /** The channel's members with their user_info, on every node (for the console). */
  members(appId: string, channel: string): Promise<PresenceSnapshot>;
  /** Resolves once the departures held for 3 s have been reported or cancelled. */
  settled(): Promise<void>;
  stop(): void;
}

