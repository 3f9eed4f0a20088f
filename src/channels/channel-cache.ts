/**
 * The last event published through the HTTP API to each cache channel of one app,
 * kept for 30 minutes (Pusher's TTL). Memory is bounded: past the entry cap the
 * oldest entry goes first, and expired entries are dropped when read or swept.
 */
export const CACHE_TTL_MS = 30 * 60 * 1000;
export const MAX_CACHED_CHANNELS_PER_APP = 10_000;

export interface CachedEvent {
  readonly event: string;
  readonly data: string;
  /** The frame as sent to subscribers, ready to replay. */
  readonly frame: string;
  readonly expiresAt: number;
}

export class ChannelCache {
  private readonly entries = new Map<string, CachedEvent>();

  set(channel: string, event: string, data: string, frame: string, nowMs: number): void {
    // Re-inserting keeps the Map in order of last write, so the first entry is the oldest.
    this.entries.delete(channel);
    if (this.entries.size >= MAX_CACHED_CHANNELS_PER_APP) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(channel, { event, data, frame, expiresAt: nowMs + CACHE_TTL_MS });
  }

  get(channel: string, nowMs: number): CachedEvent | undefined {
    const entry = this.entries.get(channel);
    if (entry && entry.expiresAt <= nowMs) {
      this.entries.delete(channel);
      return undefined;
    }
    return entry;
  }

  sweep(nowMs: number): void {
    for (const [channel, entry] of this.entries) if (entry.expiresAt <= nowMs) this.entries.delete(channel);
  }

  get size(): number {
    return this.entries.size;
  }
}
