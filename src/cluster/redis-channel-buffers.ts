/**
 * Vacant-channel buffers in Redis, so an event kept through one node is handed
 * over on any other. One script keeps an event only if the channel's subscriber
 * hash (the counts every node reports, redis-occupancy.ts) is empty, and another
 * takes the whole buffer: Redis runs scripts one at a time, so an event is either
 * kept before the claim that takes it or finds the claiming node's count and is
 * published. Every key expires, so an abandoned buffer costs nothing after its TTL.
 */
import type { Redis } from "ioredis";
import type { App, VacantChannelBuffer } from "../apps/app.js";
import type { Logger } from "../logger.js";
import { readClusterState } from "./errors.js";
import { MAX_BUFFERED_CHANNELS_PER_APP, type BufferDrops, type ChannelBuffers } from "./cluster.js";
import { bufferKey, bufferedChannelsKey, subsKey } from "./redis-keys.js";
import { defineScripts } from "./redis-scripts.js";

interface BufferCommands {
  heraldBufferKeep(subs: string, buffer: string, buffered: string, channel: string, frame: string, ttlMs: number, maxEvents: number, cap: number, prefix: string): Promise<number[]>;
  heraldBufferClaim(buffer: string, buffered: string, channel: string): Promise<[number, ...string[]]>;
  heraldBufferWaiting(buffer: string): Promise<number>;
}

export class RedisChannelBuffers implements ChannelBuffers {
  private readonly commands: BufferCommands;

  constructor(
    redis: Redis,
    private readonly drops: BufferDrops,
    private readonly log: Logger,
  ) {
    this.commands = defineScripts<BufferCommands>(redis, {
      heraldBufferKeep: { file: "buffer-keep.lua", keys: 3 },
      heraldBufferClaim: { file: "buffer-claim.lua", keys: 2 },
      heraldBufferWaiting: { file: "buffer-waiting.lua", keys: 1 },
    });
  }

  async keepIfVacant(app: App, channel: string, rule: VacantChannelBuffer, frame: string): Promise<boolean> {
    try {
      const [kept, expired, overMax, evicted] = await this.commands.heraldBufferKeep(
        subsKey(app.id, channel),
        bufferKey(app.id, channel),
        bufferedChannelsKey(app.id),
        channel,
        frame,
        rule.ttlSeconds * 1000,
        rule.maxEvents,
        MAX_BUFFERED_CHANNELS_PER_APP,
        bufferKey(app.id, ""),
      );
      if (!kept) return false;
      if (expired) this.drops(app.id, "expired", expired);
      if (overMax) this.drops(app.id, "max_events", overMax);
      if (evicted) this.drops(app.id, "channel_cap", evicted);
      return true;
    } catch (error) {
      this.log.warn({ err: String(error), appId: app.id, channel }, "could not keep an event for a vacant channel in Redis; it is published to this node's subscribers only");
      return false;
    }
  }

  async claim(app: App, channel: string): Promise<string[]> {
    try {
      const [expired, ...frames] = await this.commands.heraldBufferClaim(bufferKey(app.id, channel), bufferedChannelsKey(app.id), channel);
      if (expired) this.drops(app.id, "expired", expired);
      return frames;
    } catch (error) {
      this.log.warn({ err: String(error), appId: app.id, channel }, "could not take a channel's kept events from Redis; they wait for its next first subscriber");
      return [];
    }
  }

  waiting(appId: string, channel: string): Promise<number> {
    return readClusterState("kept events", () => this.commands.heraldBufferWaiting(bufferKey(appId, channel)));
  }
}
