/**
 * The console's live stats: every few seconds, each app's connections, message and
 * API rates and webhook queue, kept for the last 15 minutes so that a console
 * opened now shows the recent past. Read from the plain counters; nothing is
 * added to the hot path.
 */
import { TIMINGS } from "../timings.js";
import type { StatsSample } from "./wire.js";

/** What the sampler reads for an app: totals since start (rates are worked out here) and levels. */
export interface AppTotals {
  connections: number;
  messagesReceived: number;
  messagesSent: number;
  apiRequests: number;
  webhookQueue: number;
}

/** An app's totals on another worker thread of the process: its connections are counted with this thread's already. */
export type AppActivity = Omit<AppTotals, "connections">;
/** With worker threads, on the thread serving the console: each other thread's activity, by app. */
export type OtherThreadsActivity = () => Promise<Array<Record<string, AppActivity>>>;

export const SAMPLE_INTERVAL_MS = TIMINGS.statsIntervalMs;
/** 15 minutes of samples. */
export const SAMPLES_KEPT = (15 * 60 * 1000) / SAMPLE_INTERVAL_MS;

interface Series {
  samples: StatsSample[];
  last: AppTotals;
  lastTime: number;
}

export class StatsHistory {
  private readonly series = new Map<string, Series>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly appIds: () => Iterable<string>,
    private readonly totals: (appId: string) => AppTotals,
    private readonly otherThreads?: OtherThreadsActivity,
  ) {}

  start(): void {
    void this.take();
    this.timer = setInterval(() => void this.take(), SAMPLE_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** A sample of the whole process: with worker threads, the others' activity is asked for first. */
  private async take(): Promise<void> {
    const others = this.otherThreads ? await this.otherThreads() : [];
    this.sample(Date.now(), others);
  }

  /** Takes one sample of every app, adding `others`' activity; apps no longer configured are forgotten. */
  sample(now: number, others: ReadonlyArray<Record<string, AppActivity>> = []): void {
    const seen = new Set<string>();
    for (const appId of this.appIds()) {
      seen.add(appId);
      const totals = { ...this.totals(appId) };
      for (const other of others) {
        const activity = other[appId];
        if (!activity) continue;
        totals.messagesReceived += activity.messagesReceived;
        totals.messagesSent += activity.messagesSent;
        totals.apiRequests += activity.apiRequests;
        totals.webhookQueue += activity.webhookQueue;
      }
      const series = this.series.get(appId);
      if (!series) {
        this.series.set(appId, { samples: [], last: totals, lastTime: now });
        continue;
      }
      const seconds = Math.max((now - series.lastTime) / 1000, 0.001);
      const rate = (value: number, previous: number) => Math.max(0, Math.round(((value - previous) / seconds) * 10) / 10);
      series.samples.push({
        time: now,
        connections: totals.connections,
        messagesInPerSecond: rate(totals.messagesReceived, series.last.messagesReceived),
        messagesOutPerSecond: rate(totals.messagesSent, series.last.messagesSent),
        apiRequestsPerSecond: rate(totals.apiRequests, series.last.apiRequests),
        webhookQueue: totals.webhookQueue,
      });
      if (series.samples.length > SAMPLES_KEPT) series.samples.shift();
      series.last = totals;
      series.lastTime = now;
    }
    for (const appId of this.series.keys()) if (!seen.has(appId)) this.series.delete(appId);
  }

  of(appId: string): readonly StatsSample[] {
    return this.series.get(appId)?.samples ?? [];
  }
}
