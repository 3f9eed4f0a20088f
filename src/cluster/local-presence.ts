import type { App } from "../apps/app.js";
import type { ChannelDirectory } from "../channels/channel-directory.js";
import type { PresenceSnapshot } from "../channels/presence-channel.js";
import type { PresenceData } from "../protocol/server-frames.js";
import { DEPARTURE_HOLD_MS, DepartureHold } from "../channels/departure-hold.js";
import type { ChannelMessage, ClusterJoin, ClusterTransitions, LocalNode, Presence } from "./cluster.js";

/** Presence of a single process: this node's members are all there are. */
export class LocalPresence implements Presence {
  private readonly leaving = new DepartureHold(DEPARTURE_HOLD_MS);

  constructor(
    private readonly channels: ChannelDirectory,
    private readonly events: ClusterTransitions,
    private readonly local: LocalNode,
  ) {}

  join(app: App, channel: string, userId: string, _userInfo: unknown, firstOnNode: boolean, localMembers: () => PresenceData, announce: ChannelMessage): ClusterJoin {
    // When nobody hears of the app's transitions, nothing is held.
    if (firstOnNode && this.events.heard(app) && !this.leaving.cancel(holdKey(app, channel, userId))) this.events.memberAdded(app, channel, userId);
    if (firstOnNode) this.local.deliver(announce);
    return { ok: true, added: firstOnNode, members: localMembers() };
  }

  leave(app: App, channel: string, userId: string): boolean {
    if (this.events.heard(app)) this.leaving.hold(holdKey(app, channel, userId), () => this.events.memberRemoved(app, channel, userId));
    return true;
  }

  async userCount(appId: string, channel: string): Promise<number> {
    return this.channels.forApp(appId).userCount(channel);
  }

  async userIds(appId: string, channel: string): Promise<string[]> {
    return this.channels.forApp(appId).presenceUserIds(channel);
  }

  async members(appId: string, channel: string): Promise<PresenceSnapshot> {
    return this.channels.forApp(appId).presenceSnapshot(channel);
  }

  settled(): Promise<void> {
    return this.leaving.settled();
  }

  stop(): void {
    this.leaving.stop();
  }
}

function holdKey(app: App, channel: string, userId: string): string {
  return `${app.id}\n${channel}\n${userId}`;
}
