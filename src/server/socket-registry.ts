import type { WebSocket } from "./uws.js";
import type { Connection } from "./connection.js";

/**
 * The open sockets of this node: by socket_id for exclusion on publish, and a
 * count per app for the connection quota.
 */
export class SocketRegistry {
  private readonly bySocketId = new Map<string, WebSocket<Connection>>();
  private readonly perApp = new Map<string, number>();

  add(ws: WebSocket<Connection>, socketId: string, appId: string): void {
    this.bySocketId.set(socketId, ws);
    this.perApp.set(appId, (this.perApp.get(appId) ?? 0) + 1);
  }

  remove(connection: Connection): void {
    if (!connection.app || !this.bySocketId.delete(connection.socketId)) return;
    const remaining = (this.perApp.get(connection.app.id) ?? 1) - 1;
    if (remaining > 0) this.perApp.set(connection.app.id, remaining);
    else this.perApp.delete(connection.app.id);
  }

  get(socketId: string): WebSocket<Connection> | undefined {
    return this.bySocketId.get(socketId);
  }

  connectionsOf(appId: string): number {
    return this.perApp.get(appId) ?? 0;
  }

  get size(): number {
    return this.bySocketId.size;
  }

  sockets(): IterableIterator<WebSocket<Connection>> {
    return this.bySocketId.values();
  }
}
