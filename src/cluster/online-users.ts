/**
 * Which signed-in users are online anywhere in the cluster, for watchlists. A
 * node reports a user's first signed-in socket here and its last; this says
 * whether that brought the user online or offline everywhere. A single process
 * answers at once (no promise).
 */
import type { App } from "../apps/app.js";
import type { LocalNode } from "./broker.js";

export interface OnlineUsers {
  /** The user's first socket on this node signed in; true when the user just came online anywhere. */
  cameOnline(app: App, userId: string): boolean | Promise<boolean>;
  /** The user's last socket on this node closed; true when the user is now offline everywhere. */
  wentOffline(app: App, userId: string): boolean | Promise<boolean>;
  /** The ones of `userIds` that are online anywhere. */
  online(app: App, userIds: readonly string[]): string[] | Promise<string[]>;
}

/** A single process: online here is online. */
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
