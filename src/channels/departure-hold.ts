/**
 * Departures (channel_vacated, member_removed) wait before they are reported; an
 * arrival within the wait cancels the departure and is not reported either, so a
 * page reload does not fire vacated and occupied again.
 */
import { TIMINGS } from "../timings.js";

/**
 * How long a departure (channel_vacated, member_removed) waits for the channel or
 * the user to come back, on one node or across a cluster: long enough for a page
 * reload, short enough to read as "now".
 */
export const DEPARTURE_HOLD_MS = TIMINGS.departureHoldMs;

export class DepartureHold {
  private readonly held = new Map<string, NodeJS.Timeout>();

  constructor(private readonly holdMs: number) {}

  hold(key: string, report: () => void): void {
    clearTimeout(this.held.get(key));
    const timer = setTimeout(() => {
      this.held.delete(key);
      report();
    }, this.holdMs);
    timer.unref();
    this.held.set(key, timer);
  }

  /** Cancels the departure held under `key`; true when there was one, so the arrival is not news. */
  cancel(key: string): boolean {
    const timer = this.held.get(key);
    if (timer === undefined) return false;
    clearTimeout(timer);
    this.held.delete(key);
    return true;
  }

  /** Resolves once every held departure has been reported or cancelled. */
  async settled(): Promise<void> {
    while (this.held.size > 0) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  stop(): void {
    for (const timer of this.held.values()) clearTimeout(timer);
    this.held.clear();
  }
}
