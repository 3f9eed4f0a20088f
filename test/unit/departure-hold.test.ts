import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DEPARTURE_HOLD_MS, DepartureHold } from "../../src/channels/departure-hold.js";

describe("the departure hold", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("reports a departure once the hold is over, and not before", () => {
    const hold = new DepartureHold(DEPARTURE_HOLD_MS);
    const reported: string[] = [];
    hold.hold("a", () => reported.push("a"));
    vi.advanceTimersByTime(DEPARTURE_HOLD_MS - 1);
    expect(reported).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(reported).toEqual(["a"]);
    expect(hold.cancel("a")).toBe(false);
  });

  it("drops a departure whose subject comes back within the hold, and says so to the arrival", () => {
    const hold = new DepartureHold(DEPARTURE_HOLD_MS);
    const reported: string[] = [];
    hold.hold("a", () => reported.push("a"));
    vi.advanceTimersByTime(DEPARTURE_HOLD_MS / 2);
    expect(hold.cancel("a")).toBe(true);
    vi.advanceTimersByTime(DEPARTURE_HOLD_MS * 2);
    expect(reported).toEqual([]);
  });

  it("restarts the hold when the same subject leaves again, and reports it once", () => {
    const hold = new DepartureHold(DEPARTURE_HOLD_MS);
    const reported: string[] = [];
    hold.hold("a", () => reported.push("first"));
    vi.advanceTimersByTime(DEPARTURE_HOLD_MS - 10);
    hold.hold("a", () => reported.push("second"));
    vi.advanceTimersByTime(DEPARTURE_HOLD_MS - 10);
    expect(reported).toEqual([]);
    vi.advanceTimersByTime(10);
    expect(reported).toEqual(["second"]);
  });

  it("reports nothing after stop", () => {
    const hold = new DepartureHold(DEPARTURE_HOLD_MS);
    const reported: string[] = [];
    hold.hold("a", () => reported.push("a"));
    hold.stop();
    vi.advanceTimersByTime(DEPARTURE_HOLD_MS * 2);
    expect(reported).toEqual([]);
  });
});
