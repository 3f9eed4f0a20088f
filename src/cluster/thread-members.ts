/**
 * Both hubs' record of the process's presence members (thread-hub.ts, thread-node-hub.ts):
 * app → channel → user → its user_info and the threads with a socket of it there.
 *
 * Each channel keeps subscription_succeeded's data encoded, and a new member is added
 * to that text, not encoded with all the others again: in a storm of n joins that is
 * n encoded members instead of n²/2 (bench/RESULTS.md, "Presence on threads"). A
 * departure has the text encoded whole at the next join. JSON's order of the hash is
 * the order of joins; clients read it into an object, which has an order of its own.
 */
import type { PresenceSnapshot } from "../channels/presence-channel.js";
import type { PresenceData } from "../protocol/server-frames.js";

interface Member {
  readonly info: unknown;
  readonly threads: Set<number>;
}

class ChannelMembers {
  readonly users = new Map<string, Member>();
  /** `"id1","id2"` and `"id1":info1,"id2":info2`, or undefined once a member left. */
  private encoded: { ids: string; hash: string } | undefined = { ids: "", hash: "" };

  add(userId: string, info: unknown, thread: number): void {
    this.users.set(userId, { info, threads: new Set([thread]) });
    if (!this.encoded) return;
    const comma = this.users.size > 1 ? "," : "";
    const id = JSON.stringify(userId);
    this.encoded.ids += comma + id;
    this.encoded.hash += `${comma}${id}:${JSON.stringify(info)}`;
  }

  delete(userId: string): void {
    this.users.delete(userId);
    this.encoded = undefined;
  }

  data(): PresenceData {
    if (!this.encoded) {
      const ids: string[] = [];
      const hash: string[] = [];
      for (const [userId, { info }] of this.users) {
        const id = JSON.stringify(userId);
        ids.push(id);
        hash.push(`${id}:${JSON.stringify(info)}`);
      }
      this.encoded = { ids: ids.join(","), hash: hash.join(",") };
    }
    return `{"presence":{"ids":[${this.encoded.ids}],"hash":{${this.encoded.hash}},"count":${this.users.size}}}` as PresenceData;
  }
}

export class ThreadMembers {
  private readonly byApp = new Map<string, Map<string, ChannelMembers>>();

  /** The channel's distinct users in the process. */
  count(appId: string, channel: string): number {
    return this.byApp.get(appId)?.get(channel)?.users.size ?? 0;
  }

  has(appId: string, channel: string, userId: string): boolean {
    return this.byApp.get(appId)?.get(channel)?.users.has(userId) ?? false;
  }

  /**
   * A socket of `thread` joined as `userId`; true when the user is new to the channel in
   * the process. No user_info is kept as null, as Redis keeps it (JSON has no undefined).
   */
  add(appId: string, channel: string, userId: string, info: unknown, thread: number): boolean {
    let channels = this.byApp.get(appId);
    if (!channels) this.byApp.set(appId, (channels = new Map()));
    let members = channels.get(channel);
    if (!members) channels.set(channel, (members = new ChannelMembers()));
    const member = members.users.get(userId);
    if (member) member.threads.add(thread);
    else members.add(userId, info ?? null, thread);
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
    const users = this.byApp.get(appId)?.get(channel)?.users ?? new Map<string, Member>();
    const hash: Record<string, unknown> = {};
    for (const [userId, member] of users) hash[userId] = member.info;
    return { ids: [...users.keys()], hash, count: users.size };
  }

  /** subscription_succeeded's data for the channel. */
  data(appId: string, channel: string): PresenceData {
    return this.byApp.get(appId)?.get(channel)?.data() ?? (`{"presence":{"ids":[],"hash":{},"count":0}}` as PresenceData);
  }

  private dropUser(appId: string, channels: Map<string, ChannelMembers>, channel: string, members: ChannelMembers, userId: string): void {
    members.delete(userId);
    if (members.users.size > 0) return;
    channels.delete(channel);
    if (channels.size === 0) this.byApp.delete(appId);
  }
}
