import type { App } from "./app.js";

/**
 * Looks apps up by the id the HTTP API uses and the key the WebSocket URL carries.
 * One registry lives as long as the process; a reload of apps.json replaces its
 * contents, so everything holding it sees the new apps at its next lookup.
 */
export class AppRegistry {
  private byIdMap = new Map<string, App>();
  private byKeyMap = new Map<string, App>();

  constructor(apps: readonly App[]) {
    this.replace(apps);
  }

  replace(apps: readonly App[]): void {
    this.byIdMap = new Map(apps.map((app) => [app.id, app]));
    this.byKeyMap = new Map(apps.map((app) => [app.key, app]));
  }

  all(): IterableIterator<App> {
    return this.byIdMap.values();
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
