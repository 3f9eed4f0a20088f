/**
 * What the worker threads of one process count together, in memory they share
 * (a SharedArrayBuffer): each thread's open connections, per app and in all, and
 * each app's per-second allowances of the HTTP API. A limit is then checked
 * against the whole process at once, synchronously, as on one thread; a message
 * to the hub would come back after the connection or request it decides on.
 *
 * It also says which apps a console on some thread watches (until when), so that
 * every thread knows the moment a console opens.
 *
 * Each app has a slot, given by the main thread (ThreadSlots) and sent with the
 * apps; an app without one (past MAX_APP_SLOTS) is counted by its thread alone.
 */
import type { Allowance, Allowances } from "../apps/rate-window.js";

/** Apps one process can count together over its life: slots are not reused. */
export const MAX_APP_SLOTS = 10_000;
/** Each thread's row: its connections of all apps, then one cell per app slot. */
const ROW = 1 + MAX_APP_SLOTS;
/** Each allowance: a lock, the second it counts, the units taken in it. */
const WINDOW = 3;
const KINDS: ReadonlyArray<keyof Allowances> = ["backendEvents", "reads"];
/** After the threads' rows and the allowances: per app slot, the second a console's watch ends. */
const watchesAt = (threads: number) => threads * ROW + MAX_APP_SLOTS * KINDS.length * WINDOW;


/** The main thread's side: it holds the shared memory, gives each app a slot, and clears a dead thread's row. */
export class ThreadSlots {
  readonly buffer: SharedArrayBuffer;
  private readonly slots = new Map<string, number>();
  private readonly cells: Int32Array;

  constructor(private readonly threads: number) {
    this.buffer = new SharedArrayBuffer((watchesAt(threads) + MAX_APP_SLOTS) * Int32Array.BYTES_PER_ELEMENT);
    this.cells = new Int32Array(this.buffer);
  }

  /** The slots of `appIds`, new apps given the next free ones. */
  assign(appIds: Iterable<string>): Array<[string, number]> {
    for (const appId of appIds) if (!this.slots.has(appId) && this.slots.size < MAX_APP_SLOTS) this.slots.set(appId, this.slots.size);
    return [...this.slots];
  }

  /** The app's connections on every thread. */
  connections(appId: string): number {
    const slot = this.slots.get(appId);
    let sum = 0;
    if (slot !== undefined) for (let thread = 0; thread < this.threads; thread++) sum += Atomics.load(this.cells, thread * ROW + 1 + slot);
    return sum;
  }

  /** A dead thread's sockets are gone: it no longer counts. */
  forget(thread: number): void {
    this.cells.fill(0, thread * ROW, (thread + 1) * ROW);
  }
}

/** A worker thread's side. */
export class ThreadTally {
  private readonly cells: Int32Array;
  private slots: Map<string, number>;

  constructor(
    buffer: SharedArrayBuffer,
    private readonly thread: number,
    private readonly threads: number,
    slots: Iterable<[string, number]>,
  ) {
    this.cells = new Int32Array(buffer);
    this.slots = new Map(slots);
  }

  /** The slots after a reload of apps.json. */
  setSlots(slots: Iterable<[string, number]>): void {
    this.slots = new Map(slots);
  }

  /** This thread now has `connections` of the app and `total` of all apps. */
  counted(appId: string, connections: number, total: number): void {
    const row = this.thread * ROW;
    Atomics.store(this.cells, row, total);
    const slot = this.slots.get(appId);
    if (slot !== undefined) Atomics.store(this.cells, row + 1 + slot, connections);
  }

  /** The app's connections on the other threads. */
  elsewhere(appId: string): number {
    const slot = this.slots.get(appId);
    return slot === undefined ? 0 : this.othersAt(1 + slot);
  }

  /** Every app's connections on the other threads. */
  elsewhereInProcess(): number {
    return this.othersAt(0);
  }

  /** The app's allowance of `kind`, shared by every thread. */
  allowance(appId: string, kind: keyof Allowances): Allowance | undefined {
    const slot = this.slots.get(appId);
    if (slot === undefined) return undefined;
    return new SharedWindow(this.cells, this.threads * ROW + (slot * KINDS.length + KINDS.indexOf(kind)) * WINDOW);
  }

  /** Whether a console on some thread watches the app now. */
  watched(appId: string): boolean {
    const slot = this.slots.get(appId);
    return slot !== undefined && Atomics.load(this.cells, watchesAt(this.threads) + slot) > nowSecond();
  }

  /** A console on this thread watches these apps, for the next `seconds`. */
  watch(appIds: readonly string[], seconds: number): void {
    for (const appId of appIds) {
      const slot = this.slots.get(appId);
      if (slot !== undefined) Atomics.store(this.cells, watchesAt(this.threads) + slot, nowSecond() + seconds);
    }
  }

  private othersAt(offset: number): number {
    let sum = 0;
    for (let thread = 0; thread < this.threads; thread++) if (thread !== this.thread) sum += Atomics.load(this.cells, thread * ROW + offset);
    return sum;
  }
}

/** RateWindow's fixed window, in shared cells behind a lock held for a few instructions. */
class SharedWindow implements Allowance {
  constructor(
    private readonly cells: Int32Array,
    private readonly at: number,
  ) {}

  tryTake(cost: number, limit: number, nowSecond: number): boolean {
    if (limit < 0) return true;
    const { cells, at } = this;
    while (Atomics.compareExchange(cells, at, 0, 1) !== 0);
    try {
      // Seconds since 1970 fit an Int32 until 2038; past it they wrap, and only equality matters.
      const second = nowSecond | 0;
      if (cells[at + 1] !== second) {
        cells[at + 1] = second;
        cells[at + 2] = 0;
      }
      const used = cells[at + 2]!;
      if (used + cost > limit) return false;
      cells[at + 2] = used + cost;
      return true;
    } finally {
      Atomics.store(cells, at, 0);
    }
  }
}

/** Seconds since 1970, as an Int32 holds them (until 2038; see SharedWindow). */
const nowSecond = () => Math.floor(Date.now() / 1000) | 0;
