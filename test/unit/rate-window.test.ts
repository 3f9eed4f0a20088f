import { describe, expect, it } from "vitest";
import { RateWindow } from "../../src/apps/rate-window.js";

describe("RateWindow", () => {
  it("allows the limit within a second and starts afresh the next", () => {
    const window = new RateWindow();
    expect([1, 2, 3].map(() => window.tryTake(1, 2, 100))).toEqual([true, true, false]);
    expect(window.tryTake(1, 2, 101)).toBe(true);
  });

  it("counts a batch as its size and refuses one that does not fit whole", () => {
    const window = new RateWindow();
    expect(window.tryTake(3, 5, 7)).toBe(true);
    expect(window.tryTake(3, 5, 7)).toBe(false);
    expect(window.tryTake(2, 5, 7)).toBe(true);
  });

  it("treats -1 as unlimited", () => {
    const window = new RateWindow();
    for (let i = 0; i < 1000; i++) expect(window.tryTake(1, -1, 0)).toBe(true);
  });
});
