/**
 * The 3 s hold of departures (channel_vacated, member_removed) across nodes. The
 * script that records a departure also sets a marker naming the node that saw it;
 * an arrival within the hold deletes the marker (and is not reported either).
 * When the hold is over, the departure is reported only if the marker is still
 * the one that node set.
 */
import type { Redis } from "ioredis";
import { defineScripts } from "./redis-scripts.js";

/** How long a marker outlives its hold, in case the node that set it dies before confirming. */
export const MARKER_TTL_MS = 60_000;

interface ConfirmCommand {
  heraldConfirmDeparture(marker: string, node: string): Promise<number>;
}

export class RedisDepartures {
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Confirmations sent and not yet answered. */
  private confirming = 0;
  private readonly commands: ConfirmCommand;

  constructor(
    redis: Redis,
    private readonly holdMs: number,
  ) {
    this.commands = defineScripts<ConfirmCommand>(redis, { heraldConfirmDeparture: { file: "confirm-departure.lua", keys: 1 } });
  }

  /** After the hold, calls `report` if the departure `seenBy` recorded under `marker` still stands. */
  confirmLater(marker: string, seenBy: string, report: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.confirming += 1;
      this.commands
        .heraldConfirmDeparture(marker, seenBy)
        .then((stands) => {
          if (stands === 1) report();
        })
        .catch(() => undefined)
        .finally(() => (this.confirming -= 1));
    }, this.holdMs);
    timer.unref();
    this.timers.add(timer);
  }

  /** Resolves once every held departure has been confirmed or found cancelled. */
  async settled(): Promise<void> {
    while (this.timers.size > 0 || this.confirming > 0) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
