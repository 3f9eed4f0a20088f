/** Online users of a single process: online here is online. */
import type { App } from "../apps/app.js";
import type { LocalNode, OnlineUsers } from "./cluster.js";

export class LocalOnlineUsers implements OnlineUsers {
  constructor(private readonly local: LocalNode) {}

  cameOnline(): boolean {
    return true;
  }

  wentOffline(): boolean {
    return true;
  }

  online(app: App, userIds: readonly string[]): string[] {
    return userIds.filter((userId) => this.local.hasUser(app.id, userId));
  }
}
