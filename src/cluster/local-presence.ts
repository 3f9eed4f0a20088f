import type { App } from "../apps/app.js";
import type { ChannelDirectory } from "../channels/channel-directory.js";
import type { ClusterJoin, Presence } from "./presence.js";

/** Presence of a single process: this node's members are all there are. */
export class LocalPresence implements Presence {
  constructor(private readonly channels: ChannelDirectory) {}

  join(app: App, channel: string, _userId: string, _userInfo: unknown, firstOnNode: boolean): ClusterJoin {
    return { ok: true, added: firstOnNode, members: this.channels.forApp(app.id).presenceSnapshot(channel) };
  }

  leave(): boolean {
    return true;
  }

  async userCount(appId: string, channel: string): Promise<number> {
    return this.channels.forApp(appId).userCount(channel);
  }

  async userIds(appId: string, channel: string): Promise<string[]> {
    return this.channels.forApp(appId).presenceUserIds(channel);
  }
}
