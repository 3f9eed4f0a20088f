import { describe, expect, it } from "vitest";
import { CutRemovals } from "../../src/cluster/cut-removals.js";

const cut = () => Promise.reject(new Error("Connection is closed."));

describe("removals whose answer an outage cut", () => {
  it("forgets an entry whose removal was answered", async () => {
    const kept = new Set(["a"]);
    expect(await new CutRemovals(kept).remove("a", Promise.resolve(1))).toBe(1);
    expect([...kept]).toEqual([]);
  });

  it("keeps an entry whose removal was cut, until Redis says whether it holds it", async () => {
    const kept = new Set(["held", "gone"]);
    const removals = new CutRemovals(kept);
    for (const entry of ["held", "gone"]) await expect(removals.remove(entry, cut())).rejects.toThrow("Connection is closed.");
    expect([...kept]).toEqual(["held", "gone"]);
    const asked: string[] = [];
    await removals.settle(async (entry) => (asked.push(entry), entry === "held"));
    expect(asked).toEqual(["held", "gone"]);
    expect([...kept]).toEqual(["held"]);
    // Settled: not asked again.
    await removals.settle(async (entry) => (asked.push(entry), false));
    expect(asked).toEqual(["held", "gone"]);
  });

  it("is sure of an entry written again after its cut removal, and of one it did not keep", async () => {
    const kept = new Set(["again"]);
    const removals = new CutRemovals(kept);
    await expect(removals.remove("again", cut())).rejects.toThrow();
    await expect(removals.remove("never", cut())).rejects.toThrow();
    removals.written("again");
    await removals.settle(async () => false);
    expect([...kept]).toEqual(["again"]);
  });
});
