/**
 * Messages to one thread, sent together at the end of the callback that made them:
 * one message for all, a lone one as it is. A message costs about 1.1 µs to send and
 * 1.2 µs to take even while the other thread is awake, and 10 to 19 µs to take when
 * it wakes the thread (bench/thread-wake.ts), far more than the copy it carries; so the
 * ten events of a `batch_events` cross to a thread as one message, and so do a turn's
 * presence joins (TurnJoins) on their way to the hub, and the hub's answers and
 * member_added frames on their way back. uWebSockets.js and a MessagePort both run the
 * microtasks after each callback they make, so what is queued here leaves before the
 * thread goes back to its event loop: nothing waits for a later turn.
 * No message on these ports is an array itself, so an array is a batch.
 */
export type Batch<Message> = Message | Message[];

/** Stands in for a port: what is posted to it in one callback reaches the port together. */
export class PortBatch<Message> {
  private queued: Message[] = [];
  /** How many messages have gone: what is posted until the next goes with it. */
  flushes = 0;

  constructor(private readonly port: { postMessage(message: Batch<Message>): void }) {}

  postMessage(message: Message): void {
    this.queued.push(message);
    if (this.queued.length === 1) queueMicrotask(this.flush);
  }

  private readonly flush = (): void => {
    const queued = this.queued;
    this.queued = [];
    this.flushes += 1;
    this.port.postMessage(queued.length === 1 ? queued[0]! : queued);
  };
}

/**
 * Hands each message of a batch to `handle`, in the order they were posted. After one for
 * which `settles` is true (an answer, whose promise `handle` resolves), the rest wait until
 * what it set off has run, promise callbacks and theirs, as when each message came alone (a
 * port runs the microtasks after each): a microtask, then a tick, both still within the
 * callback that took the batch, so nothing else comes in between.
 */
export function eachOf<Message>(batch: Batch<Message>, handle: (message: Message) => void, settles: (message: Message) => boolean = () => false): void {
  if (!Array.isArray(batch)) return handle(batch);
  const from = (start: number): void => {
    for (let i = start; i < batch.length; i++) {
      handle(batch[i]!);
      if (i === batch.length - 1 || !settles(batch[i]!)) continue;
      queueMicrotask(() => process.nextTick(from, i + 1));
      return;
    }
  };
  from(0);
}
