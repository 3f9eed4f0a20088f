/**
 * Which worker threads have subscribers of a channel, in memory they share (a
 * SharedArrayBuffer), so that a publish goes only to the threads with some. With a
 * private channel per user, a publish usually has subscribers on one thread at most,
 * and waking each other thread for nothing costs it 13-19 µs (bench/thread-wake.ts).
 *
 * Channels are counted by a hash of their app and name into CELLS cells per thread:
 * in a channel's cell, a thread counts the channels there that it has subscribers
 * of. Channels that share a cell make a thread look subscribed to all of them, which
 * costs a message it drops, never a message lost. A thread counts a channel before
 * its first subscriber hears subscription_succeeded, and reading the cell is the
 * publishing thread's first step, so a publish made after that finds the thread.
 *
 * After the cells, one counter per thread: its batches of subscriber counts that the
 * hub has not handled yet (thread-counts.ts).
 */

import { WATCHERS_PREFIX } from "../protocol/channel-names.js";

/** Cells per thread: 256 KB each; past a few tens of thousands of channels a thread, cells are shared more and more. */
const CELLS = 1 << 16;

export class ThreadOccupancy {
  private readonly cells: Int32Array;
  /** Where the threads' counters of unhandled batches begin. */
  private readonly batches: number;

  /** For `threads` threads: given to each, and kept by the main thread to forget a dead one. */
  static buffer(threads: number): SharedArrayBuffer {
    return new SharedArrayBuffer(threads * (CELLS + 1) * Int32Array.BYTES_PER_ELEMENT);
  }

  constructor(readonly buffer: SharedArrayBuffer) {
    this.cells = new Int32Array(buffer);
    this.batches = (this.cells.length / (CELLS + 1)) * CELLS;
  }

  /** Posts `message` on the port of each thread that may have subscribers of the channel. */
  post(ports: ReadonlyMap<number, { postMessage(message: unknown): void }>, appId: string, channel: string, message: unknown): void {
    if (ports.size === 0) return;
    // Looked up once, asked of each thread; none for a watchlist's channel, whose topics
    // a socket joins at sign-in, uncounted: every thread gets those.
    const cell = channel.startsWith(WATCHERS_PREFIX) ? undefined : hashOf(appId, channel);
    for (const [thread, port] of ports) if (cell === undefined || Atomics.load(this.cells, thread * CELLS + cell) > 0) port.postMessage(message);
  }

  /** Thread `thread` got its first subscriber of a channel (1), or lost its last (-1). */
  count(thread: number, appId: string, channel: string, change: 1 | -1): void {
    Atomics.add(this.cells, thread * CELLS + hashOf(appId, channel), change);
  }

  /** Thread `thread` began a batch of counts for the hub (+1), or the hub handled one (-1). */
  countBatches(thread: number, change: 1 | -1): void {
    Atomics.add(this.cells, this.batches + thread, change);
  }

  /** Thread `thread`'s batches of counts that the hub has yet to handle, begun or sent. */
  unhandledBatches(thread: number): number {
    return Atomics.load(this.cells, this.batches + thread);
  }

  /** A dead thread's sockets are gone (its thread closed them before it reported): it has no subscribers. */
  forget(thread: number): void {
    this.cells.fill(0, thread * CELLS, (thread + 1) * CELLS);
    Atomics.store(this.cells, this.batches + thread, 0);
  }
}

/** FNV-1a over "app\nchannel", folded to CELLS. */
function hashOf(appId: string, channel: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < appId.length; i++) hash = Math.imul(hash ^ appId.charCodeAt(i), 0x01000193);
  hash = Math.imul(hash ^ 10, 0x01000193);
  for (let i = 0; i < channel.length; i++) hash = Math.imul(hash ^ channel.charCodeAt(i), 0x01000193);
  return (hash ^ (hash >>> 16)) & (CELLS - 1);
}
