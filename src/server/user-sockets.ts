import { Closes } from "../protocol/closes.js";
import { closeConnection } from "./close-connection.js";
import type { PusherSocket } from "./connection.js";

/**
 * The signed-in sockets of this node, by app and user id: a user is online from
 * its first socket to its last, and the app can terminate all of them at once.
 */
export class UserSockets {
  private readonly byApp = new Map<string, Map<string, Set<PusherSocket>>>();

  /** Returns true when this is the user's first socket, so the user just came online. */
  add(appId: string, userId: string, ws: PusherSocket): boolean {
    let users = this.byApp.get(appId);
    if (!users) this.byApp.set(appId, (users = new Map()));
    const sockets = users.get(userId);
    if (sockets) {
      sockets.add(ws);
      return false;
    }
    users.set(userId, new Set([ws]));
    return true;
  }

  /** Returns true when this was the user's last socket, so the user just went offline. */
  remove(appId: string, userId: string, ws: PusherSocket): boolean {
    const users = this.byApp.get(appId);
    const sockets = users?.get(userId);
    if (!users || !sockets?.delete(ws) || sockets.size > 0) return false;
    users.delete(userId);
    if (users.size === 0) this.byApp.delete(appId);
    return true;
  }

  /** Every signed-in user of this node, as [app id, user id]. */
  *signedIn(): IterableIterator<readonly [string, string]> {
    for (const [appId, users] of this.byApp) for (const userId of users.keys()) yield [appId, userId];
  }

  has(appId: string, userId: string): boolean {
    return this.byApp.get(appId)?.has(userId) ?? false;
  }

  /** Closes the user's sockets on this node with 4009, after which pusher-js does not reconnect. */
  terminate(appId: string, userId: string): void {
    // A copy: closing a socket removes it from the set.
    for (const ws of [...(this.byApp.get(appId)?.get(userId) ?? [])]) {
      closeConnection(ws, Closes.terminatedByApp());
    }
  }
}
