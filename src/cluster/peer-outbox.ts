/**
 * A worker thread's publishes to the other threads, one message per thread per
 * callback: the ten events of a `batch_events` cross to each thread as one message,
 * not ten. A message costs about 1.1 µs to send and 1.2 µs to take even while the
 * other thread is awake (bench/thread-wake.ts), more than the copy it carries.
 * uWebSockets.js runs the microtasks after each callback it makes, so what is queued
 * here leaves before the thread goes back to its event loop; a lone publish goes as
 * it is, a string, and several as an array of them.
 */
import type { MessagePort } from "node:worker_threads";
import type { ThreadChannelMessage } from "./thread-wire.js";

interface Sender {
  postMessage(message: ThreadChannelMessage): void;
}

export class PeerOutbox {
  /** Per other thread, a stand-in for its port (ThreadOccupancy.post asks which of them to post to). */
  readonly senders = new Map<number, Sender>();
  private readonly queued = new Map<MessagePort, ThreadChannelMessage | ThreadChannelMessage[]>();
  private scheduled = false;

  add(thread: number, port: MessagePort): void {
    this.senders.set(thread, { postMessage: (message) => this.queue(port, message) });
  }

  delete(thread: number): void {
    this.senders.delete(thread);
  }

  private queue(port: MessagePort, message: ThreadChannelMessage): void {
    const queued = this.queued.get(port);
    if (queued === undefined) this.queued.set(port, message);
    else if (typeof queued === "string") this.queued.set(port, [queued, message]);
    else queued.push(message);
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(this.flush);
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    for (const [port, messages] of this.queued) port.postMessage(messages);
    this.queued.clear();
  };
}
