/**
 * What stands between the tap and one console's connection: entries pass while
 * the console keeps up, and are dropped (and counted) while it is paused or has
 * more than `capBytes` waiting to be sent. So a slow or paused console costs the
 * server at most `capBytes`, however many entries come.
 */
import type { ConsoleWatcher } from "./tap.js";

export interface FeedOutput {
  open(): boolean;
  /** Bytes queued on the connection and not yet sent. */
  bufferedBytes(): number;
  send(text: string): void;
}

export class FeedValve implements ConsoleWatcher {
  paused = false;
  /** Entries this console did not get. */
  dropped = 0;

  constructor(
    private readonly output: FeedOutput,
    private readonly capBytes: number,
  ) {}

  deliver(entryJson: string): void {
    if (!this.output.open()) return;
    if (this.paused || this.output.bufferedBytes() > this.capBytes) {
      this.dropped += 1;
      return;
    }
    this.output.send(entryJson);
  }
}
