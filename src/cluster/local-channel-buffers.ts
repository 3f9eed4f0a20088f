/**
 * Vacant-channel buffers in one process's memory, answered at once: a single
 * process's (where "vacant" is its own subscriber count, the whole truth there)
 * and the worker threads' hub's (where it is every thread's count). Each app's
 * buffers sit in a Map in order of their last write, so the least recently written
 * is the first; a byte budget for the whole process bounds what they may hold.
 */
import type { App, VacantChannelBuffer } from "../apps/app.js";
import { MAX_BUFFERED_CHANNELS_PER_APP, type BufferDropReason, type BufferDrops, type ChannelBuffers } from "./cluster.js";

interface Kept {
  readonly frame: string;
  readonly expiresAt: number;
}

interface Buffer {
  readonly events: Kept[];
  /** When it was last written, to pick the least recently written across apps. */
  writtenAt: number;
  bytes: number;
}

/** What a kept event costs beyond its text: the object, its slot, the timestamps. */
const OVERHEAD_BYTES = 64;
/** How often expired events are thrown away when nobody claims them. */
const SWEEP_INTERVAL_MS = 60_000;

const cost = (frame: string) => frame.length * 2 + OVERHEAD_BYTES;

export class LocalChannelBuffers implements ChannelBuffers {
  private readonly byApp = new Map<string, Map<string, Buffer>>();
  private bytes = 0;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    /** Whether the app's channel has a subscriber anywhere. */
    private readonly occupied: (appId: string, channel: string) => boolean,
    private readonly drops: BufferDrops,
    /** The most the buffers of every app together may hold. */
    private readonly maxBytes: number,
    private readonly now: () => number = Date.now,
  ) {
    this.sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  keepIfVacant(app: Pick<App, "id">, channel: string, rule: VacantChannelBuffer, frame: string): boolean {
    if (this.occupied(app.id, channel)) return false;
    const now = this.now();
    const buffers = this.byApp.get(app.id) ?? this.byApp.set(app.id, new Map()).get(app.id)!;
    let buffer = buffers.get(channel);
    if (buffer) buffers.delete(channel); // written now: to the end of the order
    else buffer = { events: [], writtenAt: now, bytes: 0 };
    buffers.set(channel, buffer);
    buffer.writtenAt = now;
    this.dropExpired(app.id, buffer, now);
    buffer.events.push({ frame, expiresAt: now + rule.ttlSeconds * 1000 });
    buffer.bytes += cost(frame);
    this.bytes += cost(frame);
    if (buffer.events.length > rule.maxEvents) this.dropOldest(app.id, buffer, buffer.events.length - rule.maxEvents, "max_events");
    if (buffers.size > MAX_BUFFERED_CHANNELS_PER_APP) this.dropBuffer(app.id, buffers, buffers.keys().next().value!, "channel_cap");
    while (this.bytes > this.maxBytes) this.dropLeastRecentlyWritten();
    return true;
  }

  claim(app: Pick<App, "id">, channel: string): string[] {
    const buffers = this.byApp.get(app.id);
    const buffer = buffers?.get(channel);
    if (!buffers || !buffer) return [];
    this.dropExpired(app.id, buffer, this.now());
    buffers.delete(channel);
    if (buffers.size === 0) this.byApp.delete(app.id);
    this.bytes -= buffer.bytes;
    return buffer.events.map((event) => event.frame);
  }

  async waiting(appId: string, channel: string): Promise<number> {
    const buffer = this.byApp.get(appId)?.get(channel);
    if (!buffer) return 0;
    this.dropExpired(appId, buffer, this.now());
    return buffer.events.length;
  }

  stop(): void {
    clearInterval(this.sweeper);
  }

  /** Throws away expired events everywhere, and the buffers they leave empty. */
  sweep(): void {
    const now = this.now();
    for (const [appId, buffers] of this.byApp) {
      for (const [channel, buffer] of buffers) {
        this.dropExpired(appId, buffer, now);
        if (buffer.events.length === 0) buffers.delete(channel);
      }
      if (buffers.size === 0) this.byApp.delete(appId);
    }
  }

  private dropExpired(appId: string, buffer: Buffer, now: number): void {
    // Kept in publication order with one TTL per buffer's rule, so the expired ones lead.
    let expired = 0;
    while (expired < buffer.events.length && buffer.events[expired]!.expiresAt <= now) expired++;
    if (expired > 0) this.dropOldest(appId, buffer, expired, "expired");
  }

  private dropOldest(appId: string, buffer: Buffer, count: number, reason: BufferDropReason): void {
    for (const event of buffer.events.splice(0, count)) {
      buffer.bytes -= cost(event.frame);
      this.bytes -= cost(event.frame);
    }
    this.drops(appId, reason, count);
  }

  private dropBuffer(appId: string, buffers: Map<string, Buffer>, channel: string, reason: BufferDropReason): void {
    const buffer = buffers.get(channel)!;
    buffers.delete(channel);
    if (buffers.size === 0) this.byApp.delete(appId);
    this.bytes -= buffer.bytes;
    if (buffer.events.length > 0) this.drops(appId, reason, buffer.events.length);
  }

  /** Over the byte budget: the buffer written longest ago, of any app, goes. */
  private dropLeastRecentlyWritten(): void {
    let oldest: { appId: string; buffers: Map<string, Buffer>; channel: string; writtenAt: number } | undefined;
    for (const [appId, buffers] of this.byApp) {
      const [channel, buffer] = buffers.entries().next().value!;
      if (!oldest || buffer.writtenAt < oldest.writtenAt) oldest = { appId, buffers, channel, writtenAt: buffer.writtenAt };
    }
    if (oldest) this.dropBuffer(oldest.appId, oldest.buffers, oldest.channel, "memory");
  }
}
