/**
 * The channels of one app on this node: how many sockets are subscribed to each,
 * and who is present in presence channels. It decides what a subscribe or leave
 * means (first member, last socket, limit reached) and leaves moving bytes to
 * the server layer. Nothing here knows about sockets or uWebSockets.js.
 */
import { channelKind, type ChannelKind } from "../protocol/channel-names.js";
import { ChannelCache } from "./channel-cache.js";
import type { PresenceData } from "../protocol/server-frames.js";
import { NO_MEMBERS, PresenceMembers, type PresenceSnapshot } from "./presence-channel.js";

interface ChannelState {
  subscriptions: number;
  presence: PresenceMembers | undefined;
}

export type PresenceJoin =
  | { ok: true; firstSocketOfUser: boolean }
  | { ok: false; reason: string };

export class AppChannels {
  private readonly channels = new Map<string, ChannelState>();
  /** Last events of cache channels, kept whether or not anyone is subscribed. */
  readonly cache = new ChannelCache();

  /** Adds a socket to a public, private or encrypted channel. */
  subscribe(channel: string): void {
    this.state(channel).subscriptions += 1;
  }

  /**
   * Adds a socket to a presence channel as `userId`. A new user is refused when the
   * channel already has `maxMembers` users; another socket of a present user is not.
   */
  joinPresence(channel: string, userId: string, userInfo: unknown, maxMembers: number): PresenceJoin {
    const existing = this.channels.get(channel)?.presence;
    if (existing && !existing.has(userId) && existing.count >= maxMembers) {
      return { ok: false, reason: `The presence channel already has ${maxMembers} members, the most this app allows.` };
    }
    const state = this.state(channel);
    state.presence ??= new PresenceMembers();
    state.subscriptions += 1;
    const firstSocketOfUser = state.presence.join(userId, userInfo);
    return { ok: true, firstSocketOfUser };
  }

  /**
   * Removes a socket from a channel (with its presence user id, if any).
   * Returns true when that was the user's last socket in a presence channel.
   */
  leave(channel: string, userId: string | undefined): boolean {
    const state = this.channels.get(channel);
    if (!state) return false;
    state.subscriptions -= 1;
    const lastSocketOfUser = userId !== undefined && state.presence !== undefined && state.presence.leave(userId);
    if (state.subscriptions <= 0) this.channels.delete(channel);
    return lastSocketOfUser;
  }

  subscriptionCount(channel: string): number {
    return this.channels.get(channel)?.subscriptions ?? 0;
  }

  /** Distinct users in a presence channel (0 for others or unoccupied ones). */
  userCount(channel: string): number {
    return this.channels.get(channel)?.presence?.count ?? 0;
  }

  presenceSnapshot(channel: string): PresenceSnapshot {
    return this.channels.get(channel)?.presence?.snapshot() ?? { ids: [], hash: {}, count: 0 };
  }

  /** subscription_succeeded's data for a presence channel. */
  presenceData(channel: string): PresenceData {
    return this.channels.get(channel)?.presence?.data() ?? NO_MEMBERS;
  }

  presenceUserIds(channel: string): string[] {
    return this.channels.get(channel)?.presence?.userIds() ?? [];
  }

  /** Names of occupied channels, optionally only those starting with `prefix`. */
  occupiedChannels(prefix = ""): string[] {
    const names: string[] = [];
    for (const name of this.channels.keys()) if (name.startsWith(prefix)) names.push(name);
    return names;
  }

  /** Subscriptions by channel kind, walked for /metrics: the join and leave paths keep no extra count. */
  subscriptionsByKind(): Map<ChannelKind, number> {
    const counts = new Map<ChannelKind, number>();
    for (const [name, state] of this.channels) {
      const kind = channelKind(name);
      counts.set(kind, (counts.get(kind) ?? 0) + state.subscriptions);
    }
    return counts;
  }

  private state(channel: string): ChannelState {
    let state = this.channels.get(channel);
    if (!state) {
      state = { subscriptions: 0, presence: undefined };
      this.channels.set(channel, state);
    }
    return state;
  }
}
