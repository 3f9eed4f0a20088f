/**
 * A warning that comes once per request while Redis is away (a presence join, a user
 * coming online, a channel's count). The first is logged at once; the ones after it are
 * counted and logged as one line per interval, so an outage under load writes a few lines
 * rather than one per join, which could be thousands a second.
 */
import type { Logger } from "../logger.js";
import { TIMINGS } from "../timings.js";

export class OutageWarning {
  private repeated = 0;
  private lastFields: object = {};
  private lastLoggedAt = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    private readonly message: string,
    private readonly intervalMs = TIMINGS.dropLogIntervalMs,
  ) {}

  warn(fields: object): void {
    const now = Date.now();
    if (this.timer === undefined && now - this.lastLoggedAt >= this.intervalMs) {
      this.lastLoggedAt = now;
      this.log.warn(fields, this.message);
      return;
    }
    this.repeated += 1;
    this.lastFields = fields;
    this.timer ??= setTimeout(() => this.logRepeated(), this.intervalMs - (now - this.lastLoggedAt));
    this.timer.unref();
  }

  private logRepeated(): void {
    this.timer = undefined;
    this.lastLoggedAt = Date.now();
    this.log.warn({ ...this.lastFields, repeated: this.repeated }, `${this.message} (${this.repeated} more like it since the last such line; the fields are the last one's)`);
    this.repeated = 0;
  }
}
