/**
 * Both hubs' record of the process's presence members (thread-hub.ts, thread-node-hub.ts):
 * app → channel → user → its user_info and the threads with a socket of it there, with
 * subscription_succeeded's data kept encoded as on one thread (PresenceList).
 */
import { NO_MEMBERS, PresenceList, type PresenceSnapshot } from "../channels/presence-channel.js";
import type { PresenceData } from "../protocol/server-frames.js";
import type { JoinLists } from "./thread-wire.js";

export type MemberLists = JoinLists & { readonly count: number; readonly generation: number };

type ChannelMembers = PresenceList<{ readonly info: unknown; readonly threads: Set<number> }>;

export class ThreadMembers {
  private readonly byApp = new Map<string, Map<string, ChannelMembers>>();

  /** The channel's distinct users in the process. */
  count(appId: string, channel: string): number {
    return this.byApp.get(appId)?.get(channel)?.users.size ?? 0;
  }

  has(appId: string, channel: string, userId: string): boolean {
    return this.byApp.get(appId)?.get(channel)?.users.has(userId) ?? false;
  }

  /** A socket of `thread` joined as `userId`; true when the user is new to the channel in the process. */
  add(appId: string, channel: string, userId: string, info: unknown, thread: number): boolean {
    let channels = this.byApp.get(appId);
    if (!channels) this.byApp.set(appId, (channels = new Map()));
    let members = channels.get(channel);
    if (!members) channels.set(channel, (members = new PresenceList()));
    const member = members.users.get(userId);
    if (member) member.threads.add(thread);
    else members.add(userId, { info, threads: new Set([thread]) });
    return !member;
  }

  /** `thread` has no socket of the user in the channel any more; true when the process has none. */
  remove(appId: string, channel: string, userId: string, thread: number): boolean {
    const channels = this.byApp.get(appId);
    const members = channels?.get(channel);
    const member = members?.users.get(userId);
    if (!member?.threads.delete(thread) || member.threads.size > 0) return false;
    this.dropUser(appId, channels!, channel, members!, userId);
    return true;
  }

  /** A thread is gone: `gone` hears of each user who had a socket in a channel there and nowhere else. */
  forget(thread: number, gone: (appId: string, channel: string, userId: string) => void): void {
    for (const [appId, channels] of this.byApp) {
      for (const [channel, members] of channels) {
        for (const [userId, member] of members.users) {
          if (!member.threads.delete(thread) || member.threads.size > 0) continue;
          this.dropUser(appId, channels, channel, members, userId);
          gone(appId, channel, userId);
        }
      }
    }
  }

  snapshot(appId: string, channel: string): PresenceSnapshot {
    return this.byApp.get(appId)?.get(channel)?.snapshot() ?? { ids: [], hash: {}, count: 0 };
  }

  /** subscription_succeeded's data for the channel. */
  data(appId: string, channel: string): PresenceData {
    return this.byApp.get(appId)?.get(channel)?.data() ?? NO_MEMBERS;
  }

  /**
   * The channel's members as subscription_succeeded's data holds them, with the list's generation
   * (PresenceList); after `previous`, lists of the same generation, only the members added since
   * (`whole` false).
   */
  lists(appId: string, channel: string, previous?: { readonly generation: number; readonly count: number }): MemberLists & { readonly whole: boolean } {
    const members = this.byApp.get(appId)?.get(channel);
    if (!members) return { ids: "", hash: "", count: 0, generation: -1, whole: true };
    const whole = previous?.generation !== members.generation;
    const { ids, hash } = whole ? members.lists() : members.addedSince(previous.count);
    return { ids, hash, count: members.users.size, generation: members.generation, whole };
  }

  private dropUser(appId: string, channels: Map<string, ChannelMembers>, channel: string, members: ChannelMembers, userId: string): void {
    members.delete(userId);
    if (members.users.size > 0) return;
    channels.delete(channel);
    if (channels.size === 0) this.byApp.delete(appId);
  }
}
