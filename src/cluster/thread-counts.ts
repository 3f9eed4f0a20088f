/**
 * Subscriber counts, from the worker threads to the hub: at the end of an event-loop
 * turn, in one message, at most one per BATCH_INTERVAL_MS, and before each question a
 * thread asks the hub (a presence join, a vacant channel's claim, a stop's settling),
 * which thus finds them in. Sent one by one, every subscribe woke the main thread
 * (bench B2: 31 µs of CPU per subscribe on two threads then, 23 once per turn, 18 on
 * one thread); once per turn, a stream of subscribes still woke it every turn of each
 * thread, which with many threads makes the main thread the queue they all wait in.
 *
 * A read of the counts (subscription_count, the occupied channels) still finds every
 * subscriber that heard subscription_succeeded before it was asked: a thread begins
 * a batch (a counter in shared memory, ThreadOccupancy) before its socket hears it,
 * and the hub answers only once it has handled every batch begun by then, asking the
 * threads that hold one to send it now. Occupancy webhooks follow a turn later, or
 * up to BATCH_INTERVAL_MS under a stream of subscribes.
 */
import type { App } from "../apps/app.js";
import type { ThreadOccupancy } from "./thread-occupancy.js";
import { AFTER_COUNTS, NEXT_TURN, type ThreadNotice, type ThreadQuestion } from "./thread-wire.js";

/**
 * A batch goes at the end of the turn, but not sooner than this after the last one: a lone
 * subscribe is told at once, a stream of them in one batch per interval (S1 on two threads:
 * the main thread's CPU per subscribe 0.84-1.14 µs once per turn, 0.50-0.71 µs with this).
 */
export const BATCH_INTERVAL_MS = 2;

/** A worker thread's side: its channels whose counts the hub has yet to hear. */
export class CountBatch {
  /**
   * Per app id, the channels whose counts the next batch carries, and each one's count when the
   * last batch went. By app, then channel: no "app\nchannel" key to build and hash per change.
   */
  private readonly due = new Map<string, { app: App; channels: Map<string, number> }>();
  private scheduled = false;
  private stopped = false;
  /** Whether the batch holds a channel this thread's first subscriber came to, or its last left. */
  private crossed = false;
  private lastSent = -Infinity;

  constructor(
    private readonly thread: number,
    private readonly occupancy: ThreadOccupancy,
    private readonly countOf: (app: App, channel: string) => number,
    private readonly heard: (app: App) => boolean,
    private readonly tell: (notice: ThreadNotice) => void,
  ) {}

  /** The channel's count on this thread changed, to `count`. */
  changed(app: App, channel: string, count: number, joined: boolean): void {
    if (this.stopped) return;
    let channels = this.due.get(app.id)?.channels;
    if (!channels) {
      if (this.due.size === 0) this.occupancy.countBatches(this.thread, 1);
      this.due.set(app.id, { app, channels: (channels = new Map()) });
    }
    if (!channels.has(channel)) channels.set(channel, joined ? count - 1 : count + 1);
    if (count === (joined ? 1 : 0)) this.crossed = true;
    if (this.scheduled) return;
    this.scheduled = true;
    const wait = this.lastSent + BATCH_INTERVAL_MS - performance.now();
    if (wait <= 0) setImmediate(this.sendScheduled);
    else setTimeout(this.sendScheduled, wait);
  }

  private readonly sendScheduled = (): void => {
    this.scheduled = false;
    this.send();
  };

  /** Sends the batch begun, if any: at the end of the turn, before each question to the hub, and when the hub asks. */
  send(): void {
    if (this.stopped || this.due.size === 0) return;
    // Counts as they are now: a channel changed twice in the batch is told once. One that was
    // occupied and vacated within it is told both, for its webhooks (vacated and occupied
    // again within it, it is told nothing: the hold of its departure would have cancelled it).
    const counts: Array<readonly [string, string, number, boolean]> = [];
    for (const { app, channels } of this.due.values()) {
      const heard = this.heard(app);
      for (const [channel, before] of channels) {
        const count = this.countOf(app, channel);
        if (before === 0 && count === 0) counts.push([app.id, channel, 1, heard]);
        counts.push([app.id, channel, count, heard]);
      }
    }
    this.due.clear();
    this.crossed = false;
    this.lastSent = performance.now();
    this.tell({ t: "counts", counts });
  }

  /**
   * Before a presence join or leave, when the hub's record is the process's alone (no --redis):
   * the batch goes first only if it changes which threads have subscribers of a channel, the
   * hub's occupancy, whose transitions (webhooks) come before the member's. Counts as such are
   * read only through CountBarrier, which waits for the batch anyway. In a storm of 100 joins
   * this saves a message to the hub per join (bench/RESULTS.md, "Presence joins on threads").
   */
  sendIfCrossed(): void {
    if (this.crossed) this.send();
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

  /**
   * Runs `answer` when the hub may answer a question of kind `kind`, which both hubs ask
   * here: a turn later (NEXT_TURN), and once `threads()`' counts begun by then are in (AFTER_COUNTS).
   */
  whenAnswerable(kind: ThreadQuestion["t"], threads: () => Iterable<number>, answer: () => void): void {
    const counted = AFTER_COUNTS.has(kind) ? () => this.after(threads(), answer) : answer;
    if (NEXT_TURN.has(kind)) setImmediate(counted);
    else counted();
  }

  /** Runs `then` once the hub has handled every batch that `threads` had begun by now. */
  after(threads: Iterable<number>, then: () => void): void {
    const until = new Map<number, number>();
    for (const thread of threads) {
      const unhandled = this.occupancy.unhandledBatches(thread);
      if (unhandled <= 0) continue;
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
