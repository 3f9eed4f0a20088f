import type { App } from "./app.js";

/** Looks apps up by the id the HTTP API uses and the key the WebSocket URL carries. */
export class AppRegistry {
  private readonly byIdMap = new Map<string, App>();
  private readonly byKeyMap = new Map<string, App>();

  constructor(apps: readonly App[]) {
    for (const app of apps) {
      this.byIdMap.set(app.id, app);
      this.byKeyMap.set(app.key, app);
    }
  }

  byId(id: string): App | undefined {
    return this.byIdMap.get(id);
  }

  byKey(key: string): App | undefined {
    return this.byKeyMap.get(key);
  }

  get ids(): string[] {
    return [...this.byIdMap.keys()];
  }

  get size(): number {
    return this.byIdMap.size;
  }
}
