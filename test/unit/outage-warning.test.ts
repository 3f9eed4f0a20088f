import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { OutageWarning } from "../../src/cluster/outage-warning.js";
import type { Logger } from "../../src/logger.js";

/** A logger that keeps its warnings. */
function recording(): { log: Logger; lines: Array<[Record<string, unknown>, string]> } {
  const lines: Array<[Record<string, unknown>, string]> = [];
  return { log: { warn: (fields: Record<string, unknown>, message: string) => lines.push([fields, message]) } as unknown as Logger, lines };
}

describe("OutageWarning", () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  it("logs the first at once, the ones within the interval as one line at its end, and the next after a quiet interval at once", () => {
    const { log, lines } = recording();
    const warning = new OutageWarning(log, "join answered locally", 10_000);
    warning.warn({ channel: "a" });
    expect(lines).toEqual([[{ channel: "a" }, "join answered locally"]]);
    for (const channel of ["b", "c", "d"]) warning.warn({ channel });
    vi.advanceTimersByTime(9_999);
    expect(lines).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(lines[1]).toEqual([{ channel: "d", repeated: 3 }, "join answered locally (3 more like it since the last such line; the fields are the last one's)"]);
    // One soon after that line waits for the next interval.
    vi.advanceTimersByTime(2_000);
    warning.warn({ channel: "e" });
    vi.advanceTimersByTime(7_999);
    expect(lines).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(lines[2]).toEqual([{ channel: "e", repeated: 1 }, expect.stringContaining("(1 more like it")]);
    // Quiet for an interval: logged at once again.
    vi.advanceTimersByTime(10_000);
    warning.warn({ channel: "f" });
    expect(lines[3]).toEqual([{ channel: "f" }, "join answered locally"]);
    expect(vi.getTimerCount()).toBe(0);
  });
});
