/**
 * Occupancy shared through Redis. Per app (the `{app id}` hash tag keeps an app's
 * keys in one Redis Cluster slot, so the scripts may touch them together):
 *
 *   herald:{app}:subs:{channel}      hash  node id → that node's subscriber count
 *   herald:{app}:occupied            set   channels with a subscriber on some node
 *   herald:{app}:vacating:{channel}  node that saw the channel empty, for the 3 s hold
 *   herald:node:{node}:channels      set   "app\nchannel" this node has counted, so the
 *                                          survivors can clear a dead node's counts
 *
 * A script moves a node's count and tells whether the cluster's occupancy changed,
 * so exactly one node sees each transition and reports it.
 */
import type { Redis } from "ioredis";
import type { App } from "../apps/app.js";
import type { AppRegistry } from "../apps/app-registry.js";
import type { ChannelDirectory } from "../channels/channel-directory.js";
import type { Logger } from "../logger.js";
import { OutageWarning } from "./outage-warning.js";
import type { NodeShare, RedisRecovery } from "./redis-recovery.js";
import type { NodeSet } from "./node-set-keeper.js";
import { readClusterState } from "./errors.js";
import { eachNodeEntry, forgetNodeSet, nodeEntry } from "./node-entries.js";
import { deadNodeAnswerKey, MARKER_TTL_MS, RedisDepartures } from "./redis-departures.js";
import { type Occupancy, type OccupancyEvents } from "./cluster.js";
import { nodeChannelsKey, occupiedKey, subsKey, vacatingKey } from "./redis-keys.js";
import { defineScripts } from "./redis-scripts.js";
import { DEPARTURE_HOLD_MS } from "../channels/departure-hold.js";

interface OccupancyCommands {
  heraldSetCount(subs: string, occupied: string, vacating: string, answer: string, node: string, count: number, channel: string, markerTtlMs: number, answerTtlMs: number): Promise<number>;
}

export class RedisOccupancy implements Occupancy, NodeShare {
  private readonly commands: OccupancyCommands;
  /**
   * Channels for which Redis may hold a count of this node's, so a resync can also clear
   * what emptied meanwhile; `written`, the count Redis last took, is what a restore puts back.
   */
  private readonly reported = new Map<string, { app: App; channel: string; written: number }>();
  private readonly departures: RedisDepartures;
  private readonly countsNotWritten: OutageWarning;

  constructor(
    private readonly redis: Redis,
    private readonly nodeId: string,
    private readonly apps: AppRegistry,
    private readonly channels: ChannelDirectory,
    private readonly events: OccupancyEvents,
    private readonly log: Logger,
    private readonly recovery: RedisRecovery,
  ) {
    this.countsNotWritten = new OutageWarning(log, "could not update the channel's count in Redis");
    this.commands = defineScripts<OccupancyCommands>(redis, { heraldSetCount: { file: "set-count.lua", keys: 4 } });
    this.departures = new RedisDepartures(redis, DEPARTURE_HOLD_MS, nodeId);
  }

  changed(app: App, channel: string): void {
    this.report(app, channel);
  }

  async subscriptionCount(appId: string, channel: string): Promise<number> {
    const counts = await readClusterState("channel counts", () => this.redis.hvals(subsKey(appId, channel)));
    return counts.reduce((sum, count) => sum + Number(count), 0);
  }

  async occupiedChannels(appId: string, prefix: string): Promise<string[]> {
    const names = await readClusterState("channel lists", () => this.redis.smembers(occupiedKey(appId)));
    return prefix ? names.filter((name) => name.startsWith(prefix)) : names;
  }

  /** Its node set, for NodeSetKeeper: a channel whose count Redis may hold. */
  nodeSet(): NodeSet {
    return { key: nodeChannelsKey(this.nodeId), of: "channels", entries: () => this.reported.keys() };
  }

  settled(): Promise<void> {
    return this.departures.settled();
  }

  stop(): void {
    this.departures.stop();
  }

  /** Clears the counts of a node that died, firing what its departure changed. */
  async forgetNode(deadNodeId: string): Promise<void> {
    const search = { appIds: this.apps.ids, prefix: (appId: string) => subsKey(appId, ""), holds: async (key: string) => (await this.redis.hexists(key, deadNodeId)) === 1 };
    await forgetNodeSet(
      this.redis,
      nodeChannelsKey(deadNodeId),
      2,
      async ([appId, channel]) => {
        const app = this.apps.byId(appId!);
        if (!app) return;
        const heard = this.events.heard(app);
        const answer = deadNodeAnswerKey(app.id, deadNodeId, "vacated", channel!);
        await this.setCount(app, channel!, deadNodeId, 0, heard, answer).write;
        // Vacated by this write or by an earlier try whose answer an outage cut: reported by
        // whichever cleanup deletes the answer key (deadNodeAnswerKey). Nobody hears it: no key.
        if (heard && (await this.redis.del(answer)) === 1) this.confirmVacatedLater(app, channel!, deadNodeId);
      },
      search,
    );
  }

  private report(app: App, channel: string): void {
    const count = this.channels.forApp(app.id).subscriptionCount(channel);
    const key = nodeEntry(app.id, channel);
    const entry = this.reported.get(key) ?? { app, channel, written: 0 };
    this.reported.set(key, entry);
    if (!this.recovery.writable) return; // the resync on reconnect writes it
    if (count > 0) this.redis.sadd(nodeChannelsKey(this.nodeId), key).catch(() => undefined);
    // An arrival nobody hears of needs no answer kept, and a departure no marker.
    const heard = this.events.heard(app);
    const { write, answer } = this.setCount(app, channel, this.nodeId, count, heard);
    const occupied = () => this.events.heard(app) && this.events.channelOccupied(app, channel);
    this.departures
      .track(write)
      .then((transition) => {
        entry.written = count;
        if (count === 0 && this.channels.forApp(app.id).subscriptionCount(channel) === 0) {
          this.reported.delete(key);
          this.redis.srem(nodeChannelsKey(this.nodeId), key).catch(() => undefined);
        }
        if (transition === 1 && heard) {
          this.departures.answered(answer);
          occupied();
        } else if (transition === -1) this.confirmVacatedLater(app, channel, this.nodeId);
      })
      .catch((error: unknown) => {
        this.countsNotWritten.warn({ err: String(error), appId: app.id, channel });
        // Redis may have carried the write out: what it made is reported once Redis is back (redis-departures.ts).
        if (count > 0 && heard) this.departures.unansweredArrival(answer, occupied);
        else this.confirmVacatedLater(app, channel, this.nodeId, false);
      });
  }

  /**
   * Writes `node`'s count of the channel: 1 when that occupied it, -1 when that vacated it,
   * else 0. `heard`: the vacancy is marked for its hold, and the transition kept under
   * `answer` for an arrival and for a dead node's departure (this node's own have the marker).
   */
  private setCount(app: App, channel: string, node: string, count: number, heard: boolean, answer = this.departures.answerKey(app.id)): { write: Promise<number>; answer: string } {
    const ttl = heard ? MARKER_TTL_MS : 0;
    const answerTtl = count > 0 || node !== this.nodeId ? ttl : 0;
    return { write: this.commands.heraldSetCount(subsKey(app.id, channel), occupiedKey(app.id), vacatingKey(app.id, channel), answer, node, count, channel, ttl, answerTtl), answer };
  }

  /** `vacatedBy` is the node whose departure emptied the channel (this one, or a dead one). */
  private confirmVacatedLater(app: App, channel: string, vacatedBy: string, answered = true): void {
    // When nobody hears of it, there is nothing to wait for.
    if (!this.events.heard(app)) return;
    this.departures.confirmLater(app.id, vacatingKey(app.id, channel), subsKey(app.id, channel), vacatedBy, () => this.events.channelVacated(app, channel), answered);
  }

  /** Puts back the counts Redis held of this node's before it lost its data; what they change is not reported. */
  async restore(): Promise<number> {
    const held = [...this.reported.values()].filter(({ written }) => written > 0);
    await Promise.all(
      held.map(async ({ app, channel, written }) => {
        await this.redis.sadd(nodeChannelsKey(this.nodeId), nodeEntry(app.id, channel));
        await this.setCount(app, channel, this.nodeId, written, false).write;
      }),
    );
    return held.length + (await this.departures.restore());
  }

  /** Writes this node's channel counts again (after an outage, or into a Redis that came back empty). */
  async resync(): Promise<void> {
    const channels = [...this.reported.values()];
    this.log.info({ channels: channels.length }, "writing this node's channel counts to Redis again");
    for (const { app, channel } of channels) this.report(app, channel);
    // Counts of this node's that Redis holds and this node does not know of (a Redis restored
    // from an older snapshot): written again too, as the empty counts they are now.
    await eachNodeEntry(this.redis, nodeChannelsKey(this.nodeId), 2, async ([appId, channel]) => {
      const app = this.apps.byId(appId!);
      if (app && !this.reported.has(nodeEntry(appId!, channel!))) this.report(app, channel!);
    }).catch(() => undefined);
    // After the counts, on the same connection: a channel that came back cancels its departure first.
    this.departures.retry();
  }
}
