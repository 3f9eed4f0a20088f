/**
 * Connection counts shared through Redis, for apps with a maxConnections:
 * `herald:{app}:connections`, a hash of node → that node's connections, which
 * each node writes and reads every 3 s.
 */
import type { Redis } from "ioredis";
import type { AppRegistry } from "../apps/app-registry.js";
import type { ConnectionCounts, LocalNode } from "./cluster.js";
import { connectionsKey } from "./redis-keys.js";
import { TIMINGS } from "../timings.js";

const REFRESH_MS = TIMINGS.countsRefreshMs;

export class RedisConnectionCounts implements ConnectionCounts {
  /** A node is a whole process; worker threads count each other in shared memory (thread-tally.ts). */
  elsewhereInProcess(): number {
    return 0;
  }

  /** Read from the node when the timer comes. */
  changed(): void {}

  private readonly others = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly nodeId: string,
    private readonly apps: AppRegistry,
    private readonly local: LocalNode,
  ) {}

  elsewhere(appId: string): number {
    return this.others.get(appId) ?? 0;
  }

  start(): void {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.forgetNode(this.nodeId).catch(() => undefined);
  }

  async forgetNode(nodeId: string): Promise<void> {
    for (const app of this.limitedApps()) await this.redis.hdel(connectionsKey(app), nodeId);
  }

  private async refresh(): Promise<void> {
    if (this.redis.status !== "ready") return;
    const apps = this.limitedApps();
    if (apps.length === 0) return;
    // One pipeline per app: on a Redis Cluster, apps live in different slots.
    await Promise.all(
      apps.map(async (appId) => {
        const results = await this.redis.pipeline().hset(connectionsKey(appId), this.nodeId, this.local.connections(appId)).hgetall(connectionsKey(appId)).exec().catch(() => null);
        const counts = results?.[1]?.[1] as Record<string, string> | undefined;
        if (!counts) return;
        let sum = 0;
        for (const [node, count] of Object.entries(counts)) if (node !== this.nodeId) sum += Number(count);
        this.others.set(appId, sum);
      }),
    );
  }

  private limitedApps(): string[] {
    return this.apps.ids.filter((id) => (this.apps.byId(id)?.maxConnections ?? -1) >= 0);
  }
}
