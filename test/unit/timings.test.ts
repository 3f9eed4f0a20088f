import { describe, expect, it } from "vitest";
import { readTimings } from "../../src/timings.js";

describe("HERALD_TEST_TIMINGS", () => {
  it("keeps the production durations when unset, and takes the fields it is given", () => {
    expect(readTimings(undefined)).toEqual({ departureHoldMs: 3000, heartbeatMs: 3000, deadAfterMs: 10_000, reconnectDelayMs: 2000, countsRefreshMs: 3000, dropLogIntervalMs: 10_000, sessionExpiryMs: 5000, statsIntervalMs: 5000 });
    expect(readTimings('{"deadAfterMs":1500}')).toMatchObject({ deadAfterMs: 1500, heartbeatMs: 3000 });
  });

  it.each([
    ["not JSON", "{", "not JSON"],
    ["an unknown field", '{"holdMs":5}', 'unknown field "holdMs"'],
    ["a negative duration", '{"heartbeatMs":-1}', "whole number"],
  ])("refuses %s", (_, raw, message) => {
    expect(() => readTimings(raw)).toThrow(message);
  });
});
