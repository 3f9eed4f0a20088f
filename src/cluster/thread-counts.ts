/**
 * Subscriber counts, from the worker threads to the hub. A thread's first
 * subscriber of a channel and its last are told at once: occupancy, its webhooks
 * and vacant channels' buffers hang on them. The counts in between matter only to
 * a read of subscription_count, so they go once per turn, in one message: a storm
 * of subscribes would otherwise wake the main thread for each one (bench B2: 33 µs
 * of CPU per subscribe on two threads, 20 on one).
 *
 * A read still counts every subscriber that heard subscription_succeeded before it
 * was asked: a thread begins a batch (a counter in shared memory, ThreadOccupancy)
 * before its socket hears it, and the hub answers only once it has handled every
 * batch begun by then, asking the threads that hold one to send it now.
 */
import type { App } from "../apps/app.js";
import type { ThreadOccupancy } from "./thread-occupancy.js";
import type { ThreadNotice } from "./thread-wire.js";

/** A worker thread's side: its channels whose counts the hub has yet to hear. */
export class CountBatch {
  /** "app\nchannel" → the channel, whose count the next batch carries. */
  private readonly due = new Map<string, { app: App; channel: string }>();
  private scheduled = false;
  private stopped = false;

  constructor(
    private readonly thread: number,
    private readonly occupancy: ThreadOccupancy,
    private readonly countOf: (app: App, channel: string) => number,
    private readonly heard: (app: App) => boolean,
    private readonly tell: (notice: ThreadNotice) => void,
  ) {}

  /** The channel's count on this thread changed; `now`: from 0 or to 0, which the hub hears at once. */
  changed(app: App, channel: string, now: boolean): void {
    if (this.stopped) return;
    if (this.due.size === 0) this.occupancy.countBatches(this.thread, 1);
    this.due.set(`${app.id}\n${channel}`, { app, channel });
    if (now) return this.send();
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.send();
    });
  }

  /** Sends the batch begun, if any: at the end of the turn, before each question to the hub, and when the hub asks. */
  send(): void {
    if (this.stopped || this.due.size === 0) return;
    // Counts as they are now: a channel changed twice in the turn is told once.
    const counts = [...this.due.values()].map(({ app, channel }) => [app.id, channel, this.countOf(app, channel), this.heard(app)] as const);
    this.due.clear();
    this.tell({ t: "counts", counts });
  }

  /**
   * The thread leaves the hub, with its last batch if the hub still hears it. Its
   * counter must not move again: the main thread zeroes it for the thread's restart
   * (a failed thread lingers, see worker.ts, and reads wait for no batch of it then).
   */
  stop(): void {
    this.send();
    this.stopped = true;
  }
}

/** The hub's side: reads wait here for the batches begun before them. */
export class CountBarrier {
  /** Per thread: its batches the hub has handled. */
  private readonly handled = new Map<number, number>();
  private waiting: Array<{ until: Map<number, number>; then: () => void }> = [];

  constructor(
    private readonly occupancy: ThreadOccupancy,
    /** Asks a thread to send the batch it holds (it may be on its way already). */
    private readonly askToSend: (thread: number) => void,
  ) {}

  /** Call once the counts of one batch of `thread` are in. */
  batchHandled(thread: number): void {
    this.occupancy.countBatches(thread, -1);
    this.handled.set(thread, (this.handled.get(thread) ?? 0) + 1);
    this.check();
  }

  /** Runs `then` once the hub has handled every batch that `threads` had begun by now. */
  after(threads: Iterable<number>, then: () => void): void {
    const until = new Map<number, number>();
    for (const thread of threads) {
      const unhandled = this.occupancy.unhandledBatches(thread);
      if (unhandled === 0) continue;
      until.set(thread, (this.handled.get(thread) ?? 0) + unhandled);
      this.askToSend(thread);
    }
    if (until.size === 0) return then();
    this.waiting.push({ until, then });
  }

  /** A thread died: no batch of it is coming (ThreadOccupancy.forget cleared its counter), and its restart counts from 0. */
  forget(thread: number): void {
    this.handled.delete(thread);
    for (const { until } of this.waiting) until.delete(thread);
    this.check();
  }

  private check(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const read of waiting) {
      for (const [thread, target] of read.until) if ((this.handled.get(thread) ?? 0) >= target) read.until.delete(thread);
      if (read.until.size === 0) read.then();
      else this.waiting.push(read);
    }
  }
}
