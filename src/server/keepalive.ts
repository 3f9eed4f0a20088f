/**
 * Server-side liveness. A client that has sent nothing for its app's
 * activityTimeout is pinged; one that then stays silent for the pong timeout is
 * closed with 4201. Receiving alone never counts against a client: it is only
 * asked to answer. The same once-a-second walk closes sockets that missed their
 * app's sign-in deadline or hold too much unsent output, so there is one timer
 * for all sockets, not one each.
 */
import { Closes } from "../protocol/closes.js";
import { PING } from "../protocol/server-frames.js";
import { closeConnection } from "./close-connection.js";
import type { NodeCounters } from "../metrics/counters.js";
import type { Connection } from "./connection.js";
import type { SocketRegistry } from "./socket-registry.js";

const SWEEP_INTERVAL_MS = 1000;

function monotonicSeconds(): number {
  return Math.floor(performance.now() / 1000);
}

export class Keepalive {
  /** A coarse clock, advanced by each sweep, so the message path reads a field instead of the time. */
  now = monotonicSeconds();
  private timer: NodeJS.Timeout | undefined;
  private nextSweep: NodeJS.Immediate | undefined;

  constructor(
    private readonly sockets: SocketRegistry,
    private readonly pongTimeoutSeconds: number,
    /** Queued output past which a socket is closed as too slow (half of uWS's hard limit). */
    private readonly slowConsumerBytes: number,
    private readonly counters: NodeCounters,
  ) {}

  start(): void {
    // The sweep waits for the next poll phase: after a stall (a long GC, a starved CPU) the
    // answers to its pings may be waiting unread, and this timer would otherwise run first.
    this.timer = setInterval(() => (this.nextSweep = setImmediate(() => this.sweep())), SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    clearImmediate(this.nextSweep);
  }

  /**
   * The sweep second after which `seconds` have surely passed, read from the clock: `now`
   * is a second or more stale when a sweep runs late (a busy machine), and a deadline
   * counted from it came early (a sign-in deadline of 1 s closed a socket after 0.3 s).
   */
  deadlineIn(seconds: number): number {
    return monotonicSeconds() + seconds;
  }

  /** Records that the client was heard from. */
  heard(connection: Connection): void {
    connection.lastSeen = this.now;
    connection.pingedAt = 0;
  }

  private sweep(): void {
    const nowMs = performance.now();
    const now = (this.now = Math.floor(nowMs / 1000));
    for (const ws of this.sockets.sockets()) {
      const connection = ws.getUserData();
      if (ws.getBufferedAmount() > this.slowConsumerBytes) {
        // Closed here, before uWS's hard limit, so the client is told why (4100) and
        // it is counted; pusher-js reconnects after a back-off.
        this.counters.of(connection.app!.id).backpressureCloses += 1;
        closeConnection(ws, Closes.tooSlow());
        continue;
      }
      // ">" because the coarse clock may have read up to a second early at connect time.
      if (connection.signinDeadline !== 0 && now > connection.signinDeadline) {
        closeConnection(ws, Closes.signinTimeout(connection.app!.userAuthenticationTimeout));
      } else if (connection.pingedAt !== 0) {
        // Counted from the ping itself, not from its second on the coarse clock: a sweep that
        // drifted across a second's edge gave a 2 s timeout as little as 1 s.
        if (nowMs - connection.pingedAt >= this.pongTimeoutSeconds * 1000) {
          closeConnection(ws, Closes.pongTimeout());
        }
      } else if (now - connection.lastSeen >= connection.app!.activityTimeout) {
        connection.pingedAt = nowMs;
        // pusher-js answers pusher:ping; any WebSocket stack answers the control ping.
        ws.cork(() => {
          ws.send(PING);
          ws.ping();
        });
      }
    }
  }
}
