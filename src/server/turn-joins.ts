/**
 * Presence subscribes wait for the end of the event-loop turn, then run one after the
 * other, each as it would have at once. A storm's member_added frames then go out
 * together: uWebSockets.js writes a socket's frames of one turn in one go, where joins
 * made each in its own callback cost a write per socket per frame (a storm of 1,000 on
 * one thread: about 2,800 → 330–510 µs of CPU per join; bench/RESULTS.md, "Presence storms").
 * A socket's later frames wait behind its join, in order, so that an unsubscribe, a
 * second subscribe or a client event sent in the same breath finds the channel joined.
 */
import type { Connection } from "./connection.js";

export class TurnJoins {
  private queue: Array<{ connection: Connection; join: () => void }> = [];
  /** The frames of each connection with a join queued, which wait behind it; kept here, not on every connection. */
  private readonly waiting = new Map<Connection, Array<() => void>>();

  /** Runs `join` at the end of this turn; the connection's frames until then wait (`waitingBehind`). */
  defer(connection: Connection, join: () => void): void {
    if (!this.waiting.has(connection)) this.waiting.set(connection, []);
    this.queue.push({ connection, join });
    if (this.queue.length === 1) setImmediate(this.run);
  }

  /** Where the connection's next frame waits, when it has a join queued. */
  waitingBehind(connection: Connection): Array<() => void> | undefined {
    return this.waiting.size === 0 ? undefined : this.waiting.get(connection);
  }

  private readonly run = (): void => {
    for (const { connection, join } of this.queue.splice(0)) {
      const steps = [join, ...(this.waiting.get(connection) ?? [])];
      this.waiting.delete(connection);
      for (const [i, step] of steps.entries()) {
        // Gone (closed by a frame, or meanwhile): uWS forbids touching the socket.
        if (!connection.open) break;
        // A later frame was a presence subscribe: the rest waits for that one, in order.
        const again = this.waiting.get(connection);
        if (again) {
          again.push(...steps.slice(i));
          break;
        }
        step();
      }
    }
  };
}
