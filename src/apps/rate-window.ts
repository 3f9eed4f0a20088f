/**
 * A per-second allowance: at most `limit` units in each whole second (a fixed
 * window, which needs two numbers of state). A limit of -1 means unlimited.
 */
export class RateWindow {
  private second = -1;
  private used = 0;

  /** Takes `cost` units if the current second has room for them. */
  tryTake(cost: number, limit: number, nowSecond: number): boolean {
    if (limit < 0) return true;
    if (nowSecond !== this.second) {
      this.second = nowSecond;
      this.used = 0;
    }
    if (this.used + cost > limit) return false;
    this.used += cost;
    return true;
  }
}

export interface Allowances {
  readonly backendEvents: Allowance;
  readonly reads: Allowance;
}

/** A per-second allowance: RateWindow, or one the process's worker threads share. */
export interface Allowance {
  tryTake(cost: number, limit: number, nowSecond: number): boolean;
}

/** Where the worker threads of a process keep an app's allowances together (thread-tally.ts). */
export type SharedAllowances = (appId: string, kind: keyof Allowances) => Allowance | undefined;

/** The HTTP API allowances of each app on this node (and on its process's other threads, when shared). */
export class AppRateLimits {
  private readonly windows = new Map<string, Allowances>();

  constructor(private readonly shared?: SharedAllowances) {}

  of(appId: string): Allowances {
    let windows = this.windows.get(appId);
    if (!windows) {
      windows = {
        backendEvents: this.shared?.(appId, "backendEvents") ?? new RateWindow(),
        reads: this.shared?.(appId, "reads") ?? new RateWindow(),
      };
      this.windows.set(appId, windows);
    }
    return windows;
  }
}
