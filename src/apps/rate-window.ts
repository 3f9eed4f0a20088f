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

/** The HTTP API allowances of each app on this node. */
export class AppRateLimits {
  private readonly windows = new Map<string, { backendEvents: RateWindow; reads: RateWindow }>();

  of(appId: string): { backendEvents: RateWindow; reads: RateWindow } {
    let windows = this.windows.get(appId);
    if (!windows) {
      windows = { backendEvents: new RateWindow(), reads: new RateWindow() };
      this.windows.set(appId, windows);
    }
    return windows;
  }
}
