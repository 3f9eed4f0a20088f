/**
 * Server-side liveness. A client that has sent nothing for its app's
 * activityTimeout is pinged; one that then stays silent for the pong timeout is
 * closed with 4201. Receiving alone never counts against a client: it is only
 * asked to answer. The same once-a-second walk closes sockets that missed their
 * app's sign-in deadline or hold too much unsent output, so there is one timer
 * for all sockets, not one each.
 */
import { ErrorCode } from "../protocol/error-codes.js";
import { PING, pusherError } from "../protocol/server-frames.js";
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

  constructor(
    private readonly sockets: SocketRegistry,
    private readonly pongTimeoutSeconds: number,
    /** Queued output past which a socket is closed as too slow (half of uWS's hard limit). */
    private readonly slowConsumerBytes: number,
    private readonly counters: NodeCounters,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Records that the client was heard from. */
  heard(connection: Connection): void {
    connection.lastSeen = this.now;
    connection.pingedAt = 0;
  }

  private sweep(): void {
    const now = (this.now = monotonicSeconds());
    for (const ws of this.sockets.sockets()) {
      const connection = ws.getUserData();
      if (ws.getBufferedAmount() > this.slowConsumerBytes) {
        // Closed here, before uWS's hard limit, so the client is told why (4100) and
        // it is counted; pusher-js reconnects after a back-off.
        this.counters.of(connection.app!.id).backpressureCloses += 1;
        ws.end(ErrorCode.OverCapacity, "Too slow: too much output queued");
        continue;
      }
      // ">" because the coarse clock may have read up to a second early at connect time.
      if (connection.signinDeadline !== 0 && now > connection.signinDeadline) {
        const seconds = connection.app!.userAuthenticationTimeout;
        ws.send(pusherError(ErrorCode.Unauthorized, `This app requires sign-in (pusher:signin) within ${seconds} s of connecting.`));
        ws.end(ErrorCode.Unauthorized, "Connection not authorized within timeout");
      } else if (connection.pingedAt !== 0) {
        if (now - connection.pingedAt >= this.pongTimeoutSeconds) {
          ws.end(ErrorCode.PongTimeout, "Pong reply not received");
        }
      } else if (now - connection.lastSeen >= connection.app!.activityTimeout) {
        connection.pingedAt = now;
        // pusher-js answers pusher:ping; any WebSocket stack answers the control ping.
        ws.cork(() => {
          ws.send(PING);
          ws.ping();
        });
      }
    }
  }
}
