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
import { readClusterState } from "./errors.js";
import { nodeEntry, splitNodeEntry } from "./node-entries.js";
import { MARKER_TTL_MS, RedisDepartures } from "./redis-departures.js";
import { VACATED_HOLD_MS, type Occupancy, type OccupancyEvents } from "./occupancy.js";

/** KEYS: subs hash, occupied set, vacating marker. ARGV: node, its count, channel, marker TTL. Returns 1 occupied, -1 vacated, 0 neither. */
const SET_COUNT = `
local before = redis.call('HLEN', KEYS[1])
if tonumber(ARGV[2]) > 0 then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) else redis.call('HDEL', KEYS[1], ARGV[1]) end
local after = redis.call('HLEN', KEYS[1])
if before == 0 and after > 0 then
  redis.call('SADD', KEYS[2], ARGV[3])
  if redis.call('DEL', KEYS[3]) == 1 then return 0 end
  return 1
end
if before > 0 and after == 0 then
  redis.call('SREM', KEYS[2], ARGV[3])
  redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[4])
  return -1
end
return 0`;

interface OccupancyCommands {
  heraldSetCount(subs: string, occupied: string, vacating: string, node: string, count: number, channel: string, markerTtlMs: number): Promise<number>;
}

export class RedisOccupancy implements Occupancy {
  private readonly commands: OccupancyCommands;
  /** Channels for which Redis may hold a count of this node's, so a resync can also clear what emptied meanwhile. */
  private readonly reported = new Map<string, { app: App; channel: string }>();
  private readonly departures: RedisDepartures;

  constructor(
    private readonly redis: Redis,
    private readonly nodeId: string,
    private readonly apps: AppRegistry,
    private readonly channels: ChannelDirectory,
    private readonly events: OccupancyEvents,
    private readonly log: Logger,
  ) {
    redis.defineCommand("heraldSetCount", { numberOfKeys: 3, lua: SET_COUNT });
    this.commands = redis as unknown as OccupancyCommands;
    this.departures = new RedisDepartures(redis, VACATED_HOLD_MS);
    // After an outage (or a Redis that came back empty) this node's share is written again.
    redis.on("ready", () => this.resync());
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

  settled(): Promise<void> {
    return this.departures.settled();
  }

  stop(): void {
    this.departures.stop();
  }

  /** Clears the counts of a node that died, firing what its departure changed. */
  async forgetNode(deadNodeId: string): Promise<void> {
    const entries = await this.redis.smembers(nodeChannelsKey(deadNodeId));
    for (const entry of entries) {
      const [appId, channel] = splitNodeEntry(entry, 2) as [string, string];
      const app = this.apps.byId(appId);
      if (!app) continue;
      const transition = await this.commands.heraldSetCount(subsKey(app.id, channel), occupiedKey(app.id), vacatingKey(app.id, channel), deadNodeId, 0, channel, MARKER_TTL_MS);
      if (transition === -1) this.confirmVacatedLater(app, channel, deadNodeId);
    }
    await this.redis.del(nodeChannelsKey(deadNodeId));
  }

  private report(app: App, channel: string): void {
    const count = this.channels.forApp(app.id).subscriptionCount(channel);
    const key = nodeEntry(app.id, channel);
    this.reported.set(key, { app, channel });
    if (this.redis.status !== "ready") return; // the resync on reconnect writes it
    if (count > 0) this.redis.sadd(nodeChannelsKey(this.nodeId), key).catch(() => undefined);
    this.commands
      .heraldSetCount(subsKey(app.id, channel), occupiedKey(app.id), vacatingKey(app.id, channel), this.nodeId, count, channel, MARKER_TTL_MS)
      .then((transition) => {
        if (count === 0 && this.channels.forApp(app.id).subscriptionCount(channel) === 0) {
          this.reported.delete(key);
          this.redis.srem(nodeChannelsKey(this.nodeId), key).catch(() => undefined);
        }
        if (transition === 1) this.events.channelOccupied(app, channel);
        else if (transition === -1) this.confirmVacatedLater(app, channel, this.nodeId);
      })
      .catch((error: unknown) => this.log.warn({ err: String(error), appId: app.id, channel }, "could not update the channel's count in Redis"));
  }

  /** `vacatedBy` is the node whose departure emptied the channel (this one, or a dead one). */
  private confirmVacatedLater(app: App, channel: string, vacatedBy: string): void {
    // When nobody hears of it, there is nothing to wait for.
    if (!this.events.heard(app)) return;
    this.departures.confirmLater(vacatingKey(app.id, channel), vacatedBy, () => this.events.channelVacated(app, channel));
  }

  private resync(): void {
    const channels = [...this.reported.values()];
    this.log.info({ channels: channels.length }, "writing this node's channel counts to Redis again");
    for (const { app, channel } of channels) this.report(app, channel);
  }

}

function subsKey(appId: string, channel: string): string {
  return `herald:{${appId}}:subs:${channel}`;
}

function occupiedKey(appId: string): string {
  return `herald:{${appId}}:occupied`;
}

function nodeChannelsKey(nodeId: string): string {
  return `herald:node:${nodeId}:channels`;
}

function vacatingKey(appId: string, channel: string): string {
  return `herald:{${appId}}:vacating:${channel}`;
}
