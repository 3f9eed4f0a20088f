/**
 * The 3 s hold of departures (channel_vacated, member_removed) across nodes. The
 * script that records a departure also sets a marker naming the node that saw it;
 * an arrival within the hold deletes the marker (and is not reported either).
 * When the hold is over, the departure is reported only if the marker is still
 * the one that node set. A confirmation Redis was away for is sent again once the
 * node's share is back in Redis, and into a Redis that lost its data the markers of
 * the departures still held are set again first: a departure just before an outage
 * is reported, or cancelled by an arrival, as at any other time.
 *
 * A write whose answer an outage cut may still have been carried out. So each
 * confirmation, and each write that may make an arrival, leaves its outcome under a
 * key of its own (`answerKey`) until its answer is read; when the answer did not come,
 * the node reads that key once Redis is back, and reports what the write did, once.
 */
import type { Redis } from "ioredis";
import { answerKey } from "./redis-keys.js";
import { defineScripts } from "./redis-scripts.js";

/** How long a marker outlives its hold, in case the node that set it dies before confirming. */
export const MARKER_TTL_MS = 60_000;

/**
 * Set by the script that made a dead node's departure (its channel vacated, its member or
 * user gone), under a name that any cleanup after that node finds again: whichever deletes
 * it reports the departure. So a cleanup that an outage cut short, tried again by this node
 * or by another it was handed to, reports what the cut write did, once. A channel name
 * holds no ":", so the parts before a user id cannot run into it.
 */
export function deadNodeAnswerKey(appId: string, deadNodeId: string, departure: "vacated" | "left" | "offline", ...parts: string[]): string {
  return answerKey(appId, [departure, deadNodeId, ...parts].join(":"));
}

/**
 * The last answer key's number, for every RedisDepartures of the process: occupancy's and
 * presence's share a node id and an app's keys, so numbers of their own would name the same
 * key (a confirmation whose marker was gone then took the other's arrival for its own outcome,
 * and reported a departure nobody made).
 */
let answerTokens = 0;

interface ConfirmCommand {
  heraldConfirmDeparture(marker: string, emptied: string, answer: string, node: string, answerTtlMs: number): Promise<number>;
}

interface Departure {
  readonly marker: string;
  /** Where its confirmation leaves its outcome (answerKey). */
  readonly answer: string;
  /** What the departure emptied: a channel's counts, a user's node set. */
  readonly emptied: string;
  readonly seenBy: string;
  readonly report: () => void;
  /** False when the write that recorded it got no answer: Redis may never have taken it. */
  readonly answered: boolean;
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
  /** Arrivals whose write's answer did not come, by answer key: read once Redis is back (retry). */
  private readonly arrivals = new Map<string, () => void>();
  /** Confirmations, and writes that may start a departure (track), sent and not yet answered. */
  private unanswered = 0;
  private readonly commands: ConfirmCommand;

  constructor(
    private readonly redis: Redis,
    private readonly holdMs: number,
    private readonly nodeId: string,
  ) {
    this.commands = defineScripts<ConfirmCommand>(redis, { heraldConfirmDeparture: { file: "confirm-departure.lua", keys: 3 } });
  }

  /** A key, unique to one write of this node's, for the outcome it leaves (see the top). */
  answerKey(appId: string): string {
    return answerKey(appId, `${this.nodeId}.${++answerTokens}`);
  }

  /** A write that may have made an arrival under `answer` was answered: its outcome is not needed. */
  answered(answer: string): void {
    this.redis.del(answer).catch(() => undefined);
  }

  /** A write that may have made an arrival under `answer` got no answer: `report` it once Redis is back, if it did. */
  unansweredArrival(answer: string, report: () => void): void {
    this.arrivals.set(answer, report);
  }

  /**
   * After the hold, calls `report` if the departure `seenBy` recorded under `marker` of `appId`
   * still stands and `emptied` is still empty. `answered` false: the write that recorded it got
   * no answer, so it may not have been carried out.
   */
  confirmLater(appId: string, marker: string, emptied: string, seenBy: string, report: () => void, answered = true): void {
    // A write without an answer adds nothing to a departure held under its marker: had it been
    // carried out and made one, that departure would be the same (this node's marker, same hold).
    if (!answered && this.held.has(marker)) return;
    clearTimeout(this.held.get(marker)?.timer);
    const departure: Departure = { marker, answer: this.answerKey(appId), emptied, seenBy, report, answered };
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

  /**
   * Into a Redis that lost its data: the markers of the departures still held, set again; not
   * those whose write got no answer (Redis may never have had them, and a resync that finds
   * the departure writes its own marker).
   */
  async restore(): Promise<number> {
    const recorded = [...this.held.values()].filter(({ answered }) => answered);
    await Promise.all(recorded.map(({ marker, seenBy }) => this.redis.set(marker, seenBy, "PX", MARKER_TTL_MS)));
    return recorded.length;
  }

  /**
   * Once Redis is back and this node's share written again: reports the arrivals an
   * unanswered write made, and confirms the departures whose hold ended while Redis was away.
   */
  retry(): void {
    for (const [answer, report] of this.arrivals) {
      this.arrivals.delete(answer);
      this.unanswered += 1;
      this.redis
        .del(answer)
        .then(
          (made) => made === 1 && report(),
          () => this.arrivals.set(answer, report),
        )
        .finally(() => (this.unanswered -= 1));
    }
    for (const departure of this.held.values()) if (departure.timer === undefined && !departure.sent) this.confirm(departure);
  }

  stop(): void {
    for (const { timer } of this.held.values()) clearTimeout(timer);
    this.held.clear();
    this.arrivals.clear();
  }

  private confirm(departure: Departure): void {
    departure.sent = true;
    this.unanswered += 1;
    this.commands
      .heraldConfirmDeparture(departure.marker, departure.emptied, departure.answer, departure.seenBy, MARKER_TTL_MS)
      .then(
        (stands) => {
          // Reported, the marker is gone: a later departure held under it was this one's (it set the marker again).
          if (stands === 1 || this.held.get(departure.marker) === departure) this.held.delete(departure.marker);
          if (stands === 1) {
            this.answered(departure.answer);
            departure.report();
          }
        },
        // Redis away: held, for retry() once it is back.
        () => (departure.sent = false),
      )
      .finally(() => (this.unanswered -= 1));
  }
}
