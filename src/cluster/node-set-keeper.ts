/**
 * Keeps this node's own sets (`herald:node:{node}:…`) in Redis, from which the
 * survivors undo what a dead node held. On a Redis Cluster those sets live on other
 * shards than the apps' data, so a shard that restarts empty alone can lose them
 * while every app's generation stays (redis-recovery.ts notices only those): the
 * node would go on, and only its death would show it, as members, users and counts
 * nobody removes. Each set holds a mark (NODE_SET_MARK) besides its entries; every
 * heartbeat the node looks for it, and where it is gone writes the set again from
 * what it knows it holds. A graceful stop takes the marks out, so a set the node
 * emptied goes as it did before.
 */
import type { Redis } from "ioredis";
import type { Logger } from "../logger.js";
import { TIMINGS } from "../timings.js";
import { NODE_SET_MARK } from "./node-entries.js";
import type { RedisRecovery } from "./redis-recovery.js";

export interface NodeSet {
  readonly key: string;
  /** What the set records, for the log: "channels", "presence members", "signed-in users". */
  readonly of: string;
  /** The entries this node holds; one it has just let go may still be among them, which a survivor's undo then finds held by nobody. */
  entries(): Iterable<string>;
}

export class NodeSetKeeper {
  private timer: NodeJS.Timeout | undefined;
  /** The check under way, if any: one at a time, however slow Redis answers. */
  private checking: Promise<void> | undefined;
  /** Keys marked once already: a mark gone after that is a set Redis lost. */
  private readonly marked = new Set<string>();

  constructor(
    private readonly redis: Redis,
    private readonly sets: readonly NodeSet[],
    private readonly recovery: Pick<RedisRecovery, "writable">,
    private readonly log: Logger,
  ) {}

  start(): void {
    void this.check();
    this.timer = setInterval(() => void this.check(), TIMINGS.heartbeatMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.checking;
    await Promise.all(this.sets.map(({ key }) => this.redis.srem(key, NODE_SET_MARK).catch(() => undefined)));
  }

  /** Every heartbeat (start): writes again each set Redis lost; resolves when done. */
  check(): Promise<void> {
    // While Redis is away or a recovery is under way, that recovery writes the sets (restore).
    if (!this.recovery.writable) return Promise.resolve();
    this.checking ??= Promise.all(this.sets.map((set) => this.keep(set))).then(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  private async keep({ key, of, entries }: NodeSet): Promise<void> {
    try {
      if ((await this.redis.sismember(key, NODE_SET_MARK)) === 1) return;
      const held = [...entries()];
      await this.redis.sadd(key, NODE_SET_MARK, ...held);
      if (this.marked.has(key) && held.length > 0) {
        this.log.warn({ set: key, entries: held.length }, `Redis lost this node's record of its ${of}: written again, so that they are undone if this node dies`);
      }
      this.marked.add(key);
    } catch {
      // Redis away: the next heartbeat's check, or the recovery after the outage, writes it.
    }
  }
}
