import type { Connection, NodeSocket } from "./connection.js";

/**
 * The open connections of this node (WebSockets and HTTP-transport sessions): by socket_id for exclusion on publish, and a
 * count per app for the connection quota.
 */
export class SocketRegistry {
  private readonly bySocketId = new Map<string, NodeSocket>();
  private readonly perApp = new Map<string, number>();

  add(ws: NodeSocket, socketId: string, appId: string): void {
    this.bySocketId.set(socketId, ws);
    this.perApp.set(appId, (this.perApp.get(appId) ?? 0) + 1);
  }

  remove(connection: Connection): void {
    if (!connection.app || !this.bySocketId.delete(connection.socketId)) return;
    const remaining = (this.perApp.get(connection.app.id) ?? 1) - 1;
    if (remaining > 0) this.perApp.set(connection.app.id, remaining);
    else this.perApp.delete(connection.app.id);
  }

  get(socketId: string): NodeSocket | undefined {
    return this.bySocketId.get(socketId);
  }

  connectionsOf(appId: string): number {
    return this.perApp.get(appId) ?? 0;
  }

  get size(): number {
    return this.bySocketId.size;
  }

  sockets(): IterableIterator<NodeSocket> {
    return this.bySocketId.values();
  }
}
