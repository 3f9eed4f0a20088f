/**
 * Both hubs' record of the threads' subscriber counts (thread-hub.ts, thread-node-hub.ts):
 * app → channel → thread → subscribers there, channels with none left out. Keyed by app,
 * then channel, rather than by an "app\nchannel" string: such a key is built, flattened
 * and hashed anew for every change a thread reports, which on two threads was the larger
 * part of the extra string work per subscribe (bench/RESULTS.md, S1).
 */
export class ThreadSubscriberCounts {
  private readonly byApp = new Map<string, Map<string, Map<number, number>>>();

  /** Sets `thread`'s count of the channel's subscribers; answers the count it had before. */
  set(appId: string, channel: string, thread: number, count: number): number {
    let channels = this.byApp.get(appId);
    const threads = channels?.get(channel);
    const before = threads?.get(thread) ?? 0;
    if (count > 0) {
      if (threads) threads.set(thread, count);
      else {
        if (!channels) this.byApp.set(appId, (channels = new Map()));
        channels.set(channel, new Map([[thread, count]]));
      }
    } else if (threads?.delete(thread) && threads.size === 0) this.dropChannel(appId, channels!, channel);
    return before;
  }

  /** How many threads have subscribers of the channel. */
  threads(appId: string, channel: string): number {
    return this.byApp.get(appId)?.get(channel)?.size ?? 0;
  }

  /** The channel's subscribers on every thread. */
  total(appId: string, channel: string): number {
    let sum = 0;
    for (const count of this.byApp.get(appId)?.get(channel)?.values() ?? []) sum += count;
    return sum;
  }

  /** The app's channels with subscribers whose names begin with `prefix`. */
  occupied(appId: string, prefix: string): string[] {
    return [...(this.byApp.get(appId)?.keys() ?? [])].filter((channel) => channel.startsWith(prefix));
  }

  /** A thread is gone: its counts go, and `left` hears of each channel it had subscribers of, and whether any are left. */
  forget(thread: number, left: (appId: string, channel: string, vacant: boolean) => void): void {
    for (const [appId, channels] of this.byApp) {
      for (const [channel, threads] of channels) {
        if (!threads.delete(thread)) continue;
        if (threads.size === 0) this.dropChannel(appId, channels, channel);
        left(appId, channel, threads.size === 0);
      }
    }
  }

  private dropChannel(appId: string, channels: Map<string, Map<number, number>>, channel: string): void {
    channels.delete(channel);
    if (channels.size === 0) this.byApp.delete(appId);
  }
}
