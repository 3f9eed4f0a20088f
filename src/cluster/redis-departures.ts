/**
 * The 3 s hold of departures (channel_vacated, member_removed) across nodes. The
 * script that records a departure also sets a marker naming the node that saw it;
 * an arrival within the hold deletes the marker (and is not reported either).
 * When the hold is over, the departure is reported only if the marker is still
 * the one that node set. A confirmation Redis was away for is sent again once the
 * node's share is back in Redis, and into a Redis that lost its data the markers of
 * the departures still held are set again first: a departure just before an outage
 * is reported, or cancelled by an arrival, as at any other time.
 */
import type { Redis } from "ioredis";
import { defineScripts } from "./redis-scripts.js";

/** How long a marker outlives its hold, in case the node that set it dies before confirming. */
export const MARKER_TTL_MS = 60_000;

interface ConfirmCommand {
  heraldConfirmDeparture(marker: string, emptied: string, node: string): Promise<number>;
}

interface Departure {
  readonly marker: string;
  /** What the departure emptied: a channel's counts, a user's node set. */
  readonly emptied: string;
  readonly seenBy: string;
  readonly report: () => void;
  /** Set until the hold is over. */
  timer?: NodeJS.Timeout;
  /** While its confirmation is on its way. */
  sent?: boolean;
}

export class RedisDepartures {
  /**
   * Departures not yet confirmed, by marker: in their hold, being confirmed, or whose
   * confirmation Redis was away for. The marker names the last node that saw a
   * departure, so a later departure under the same marker takes the place of the earlier.
   */
  private readonly held = new Map<string, Departure>();
  /** Confirmations, and writes that may start a departure (track), sent and not yet answered. */
  private unanswered = 0;
  private readonly commands: ConfirmCommand;

  constructor(
    private readonly redis: Redis,
    private readonly holdMs: number,
  ) {
    this.commands = defineScripts<ConfirmCommand>(redis, { heraldConfirmDeparture: { file: "confirm-departure.lua", keys: 2 } });
  }

  /** After the hold, calls `report` if the departure `seenBy` recorded under `marker` still stands and `emptied` is still empty. */
  confirmLater(marker: string, emptied: string, seenBy: string, report: () => void): void {
    clearTimeout(this.held.get(marker)?.timer);
    const departure: Departure = { marker, emptied, seenBy, report };
    departure.timer = setTimeout(() => {
      departure.timer = undefined;
      this.confirm(departure);
    }, this.holdMs);
    departure.timer.unref();
    this.held.set(marker, departure);
  }

  /** Counts `write` until answered: a departure it records is held only then, and `settled()` waits for it. */
  track<T>(write: Promise<T>): Promise<T> {
    this.unanswered += 1;
    const answered = () => (this.unanswered -= 1);
    write.then(answered, answered);
    // The write itself, not a promise behind it: its answer is handled in the same turn as before, in order with the others'.
    return write;
  }

  /** Resolves once every held departure has been confirmed, found cancelled, or found Redis away. */
  async settled(): Promise<void> {
    while ([...this.held.values()].some(({ timer }) => timer !== undefined) || this.unanswered > 0) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  /** Into a Redis that lost its data: the markers of the departures still held, set again. */
  async restore(): Promise<number> {
    await Promise.all([...this.held.values()].map(({ marker, seenBy }) => this.redis.set(marker, seenBy, "PX", MARKER_TTL_MS)));
    return this.held.size;
  }

  /** Once Redis is back and this node's share written again: confirms the departures whose hold ended while Redis was away. */
  retry(): void {
    for (const departure of this.held.values()) if (departure.timer === undefined && !departure.sent) this.confirm(departure);
  }

  stop(): void {
    for (const { timer } of this.held.values()) clearTimeout(timer);
    this.held.clear();
  }

  private confirm(departure: Departure): void {
    departure.sent = true;
    this.unanswered += 1;
    this.commands
      .heraldConfirmDeparture(departure.marker, departure.emptied, departure.seenBy)
      .then(
        (stands) => {
          // Reported, the marker is gone: a later departure held under it was this one's (it set the marker again).
          if (stands === 1 || this.held.get(departure.marker) === departure) this.held.delete(departure.marker);
          if (stands === 1) departure.report();
        },
        // Redis away: held, for retry() once it is back.
        () => (departure.sent = false),
      )
      .finally(() => (this.unanswered -= 1));
  }
}
