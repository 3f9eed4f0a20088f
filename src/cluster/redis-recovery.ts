/**
 * What a node does when Redis comes back, and whether Redis lost its data meanwhile.
 *
 * A Redis that kept its data still holds this node's share as it was before the
 * outage, so the node writes what it holds now and each difference is a transition
 * (a channel vacated, a member gone) reported once, as at any time. A Redis that
 * restarted empty holds nothing, so the same writes would report every channel and
 * member as new and every departure of the outage not at all. So then each node
 * first puts back, silently, what Redis held of its share before (which it keeps:
 * `restore`), waits for the other nodes to have done the same, and only then writes
 * what it holds now: the transitions reported are again exactly the outage's.
 * What it puts back must be what Redis held: a member's leave or a user's going offline
 * whose answer an outage cut may have been carried out, so a node back in data Redis kept
 * first reads what each such write did (`settle`).
 *
 * Redis lost an app's data when `herald:{app}:generation`, a random value the first
 * node wrote, is gone or changed (the first node back writes a new one). It is read on
 * each reconnect, and every heartbeat.
 *
 * A shard of a Redis Cluster that restarts closes only its own connection: the cluster
 * stays connected, and answers CLUSTERDOWN until the shard is back in. That is an
 * outage too (until then a write to the shard's slots fails, and the first after would
 * find it empty and report what was there as new), whose recovery the heartbeat tries
 * until every shard this node writes to answers: the apps' (their generations) and
 * those of `nodeKeys`.
 */
import { randomUUID } from "node:crypto";
import { Cluster, type Redis } from "ioredis";
import type { AppRegistry } from "../apps/app-registry.js";
import type { Logger } from "../logger.js";
import { TIMINGS } from "../timings.js";
import { generationKey } from "./redis-keys.js";

/** Calls `listener` when the connection to Redis closes, or, on a Redis Cluster, the one to a shard. */
export function onOutage(redis: Redis, listener: () => void): void {
  redis.on("close", listener);
  // Typed as Redis, which a Cluster stands in for (redis-cluster.ts).
  const clustered: boolean = redis instanceof Cluster;
  if (clustered) redis.on("-node", listener);
}

/** A part of the cluster state this node writes its share of. */
export interface NodeShare {
  /** Writes back what Redis held of this node's share before the outage, reporting nothing. */
  restore(): Promise<number>;
  /**
   * Into data Redis kept: reads what the writes whose answers the outage cut did, so that a
   * restore after a later loss puts back only what Redis held. Not for channel counts, all
   * written again at once after this (redis-cluster.ts).
   */
  settle?(): Promise<void>;
}

export class RedisRecovery {
  /** App id → the generation of its data this node wrote into. */
  private readonly generations = new Map<string, string>();
  /** Bumped on each recovery and outage, so that one cut short by another outage does not open the gate. */
  private round = 0;
  private caughtUp = true;
  private watch: NodeJS.Timeout | undefined;
  private readonly clustered: boolean;
  /** A recovery under way, so that the heartbeat does not start another on a Redis Cluster. */
  private recovering = false;
  /** A Redis Cluster's recovery has failed since the last that went through: said once, not per heartbeat. */
  private failing = false;
  /** A loss a recovery found and did not see through: the next one puts the share back again (the generation is taken since). */
  private lossPending = false;

  constructor(
    private readonly redis: Redis,
    private readonly apps: AppRegistry,
    private readonly log: Logger,
    /** The keys this node writes besides the apps': on a Redis Cluster, read before a recovery goes ahead. */
    private readonly nodeKeys: readonly string[],
  ) {
    // An outage also ends a recovery under way: the next reconnect's starts over.
    onOutage(redis, () => {
      this.caughtUp = false;
      this.round += 1;
    });
    this.clustered = redis instanceof Cluster;
  }

  /** Moves on with each recovery and each outage: what was true at one value still holds while it has not moved. */
  get epoch(): number {
    return this.round;
  }

  /** Whether this node's writes may go to Redis: connected, and its share back where Redis lost it. */
  get writable(): boolean {
    return this.caughtUp && this.redis.status === "ready";
  }

  /** For writes that answer from this node when they may not go to Redis: throws, saying why. */
  assertWritable(): void {
    if (this.redis.status !== "ready") throw new Error(`Redis is unreachable (${this.redis.status})`);
    if (!this.caughtUp) throw new Error("Redis is back and the nodes are still writing their shares again");
  }

  /** Reads (or, first in the cluster, writes) the generation of each app's data this node joins. */
  async join(): Promise<void> {
    await this.lostData();
  }

  /** Calls `lost` when a heartbeat finds an app's data gone while connected, or, on a Redis Cluster, a shard's outage not yet recovered from. */
  watchForLoss(lost: () => void): void {
    this.watch = setInterval(() => {
      if (this.clustered && !this.caughtUp && !this.recovering && this.redis.status === "ready") return lost();
      if (!this.writable) return;
      this.changedGenerations().then((changed) => changed && this.writable && lost(), () => undefined);
    }, TIMINGS.heartbeatMs);
    this.watch.unref();
  }

  stop(): void {
    clearInterval(this.watch);
  }

  /**
   * On reconnect: resolves false when Redis kept its data. When it lost it, puts each
   * share back as it was, then keeps this node's writes away from Redis for `othersMs`,
   * while the other nodes (back within that time) put theirs back: a count or a member
   * written before would be new to Redis and reported again. Then resolves true.
   * Undefined when another outage cut the recovery short: its own recovery follows.
   */
  async recover(shares: readonly NodeShare[], othersMs: number): Promise<boolean | undefined> {
    const round = ++this.round;
    this.caughtUp = false;
    this.recovering = true;
    let lost = false;
    try {
      if (this.clustered) await Promise.all(this.nodeKeys.map((key) => this.redis.exists(key)));
      lost = (await this.lostData()) || this.lossPending;
      if (lost) {
        this.lossPending = true;
        // Every share, not only the lost apps': written back into data Redis kept, it is what is there already.
        const restored = await Promise.all(shares.map((share) => share.restore()));
        this.log.warn({ restored: restored.reduce((sum, count) => sum + count, 0) }, "Redis lost its data while it was away: this node's share written back as it was, so that what changed meanwhile is reported once");
        await new Promise((resolve) => setTimeout(resolve, othersMs).unref());
      } else await Promise.all(shares.map((share) => share.settle?.()));
    } catch (error) {
      if (this.clustered) {
        // A shard not back in yet (CLUSTERDOWN): the next heartbeat tries again.
        if (!this.failing) this.log.warn({ err: String(error) }, "the Redis Cluster does not answer for every slot yet: this node writes its share again once it does, and serves only its own clients until then");
        this.failing = true;
        this.recovering = false;
        return undefined;
      }
      // Redis went away again (its next ready starts over), or failed a command: then the
      // node writes what it holds, as after an outage where Redis kept its data.
      this.log.warn({ err: String(error) }, "catching up with Redis failed: what changed while Redis was away may be reported inexactly");
      lost = false;
    }
    this.recovering = false;
    if (round !== this.round) return undefined;
    this.failing = false;
    this.lossPending = false;
    this.caughtUp = true;
    return lost;
  }

  /**
   * Whether some app's generation is not the one this node knows (left as it is: the
   * recovery takes the new one). An app added since (apps.json reloaded) gets its first.
   */
  private async changedGenerations(): Promise<boolean> {
    const known = [...this.generations];
    const now = await Promise.all(known.map(([appId]) => this.redis.get(generationKey(appId))));
    if (known.some(([, generation], index) => now[index] !== generation)) return true;
    await Promise.all(this.apps.ids.filter((appId) => !this.generations.has(appId)).map(async (appId) => this.generations.set(appId, await this.takeGeneration(appId))));
    return false;
  }

  /** Takes each app's generation, writing one where there is none; true if one this node knew changed. */
  private async lostData(): Promise<boolean> {
    const ids = this.apps.ids;
    const generations = await Promise.all(ids.map((appId) => this.takeGeneration(appId)));
    let lost = false;
    ids.forEach((appId, index) => {
      const known = this.generations.get(appId);
      if (known !== undefined && known !== generations[index]) lost = true;
      this.generations.set(appId, generations[index]!);
    });
    return lost;
  }

  private async takeGeneration(appId: string): Promise<string> {
    await this.redis.set(generationKey(appId), randomUUID(), "NX");
    return (await this.redis.get(generationKey(appId))) ?? "";
  }
}
