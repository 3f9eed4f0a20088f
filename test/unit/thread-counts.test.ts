import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { BATCH_INTERVAL_MS, CountBarrier, CountBatch } from "../../src/cluster/thread-counts.js";
import { ThreadOccupancy } from "../../src/cluster/thread-occupancy.js";
import type { ThreadNotice } from "../../src/cluster/thread-wire.js";
import { CONTRACT_APPS } from "../helpers/cluster-contract.js";

const app = CONTRACT_APPS[0]!;

/** Thread 0's batch of counts, the hub's barrier, and what went between them. */
function sides() {
  const occupancy = new ThreadOccupancy(ThreadOccupancy.buffer(2));
  const subscribers = new Map<string, number>();
  const told: ThreadNotice[] = [];
  const batch = new CountBatch(0, occupancy, (_app, channel) => subscribers.get(channel) ?? 0, () => false, (notice) => told.push(notice));
  const askedToSend: number[] = [];
  const barrier = new CountBarrier(occupancy, (thread) => askedToSend.push(thread));
  const subscribe = (channel: string) => {
    const count = (subscribers.get(channel) ?? 0) + 1;
    subscribers.set(channel, count);
    batch.changed(app, channel, count, true);
  };
  const unsubscribe = (channel: string) => {
    const count = subscribers.get(channel)! - 1;
    subscribers.set(channel, count);
    batch.changed(app, channel, count, false);
  };
  return { occupancy, batch, barrier, told, askedToSend, subscribe, unsubscribe };
}

describe("the worker threads' subscriber counts", () => {
  // The batch's clock and timers, faked: when the next batch may go is the point here.
  beforeEach(() => vi.useFakeTimers({ toFake: ["setTimeout", "setImmediate", "performance"] }));
  afterEach(() => vi.useRealTimers());

  it("tells the counts at the end of the turn, each channel once, as they are then, the next batch not sooner than the interval, and at once when asked", () => {
    const { occupancy, batch, told, subscribe } = sides();
    subscribe("a");
    subscribe("a");
    subscribe("b");
    expect(told).toEqual([]);
    expect(occupancy.unhandledBatches(0)).toBe(1);
    vi.advanceTimersByTime(0); // the end of the turn
    expect(told).toEqual([{ t: "counts", counts: [[app.id, "a", 2, false], [app.id, "b", 1, false]] }]);
    subscribe("a");
    batch.send(); // before a question to the hub, or when it asks
    subscribe("b");
    expect(told.slice(1)).toEqual([{ t: "counts", counts: [[app.id, "a", 3, false]] }]);
    vi.advanceTimersByTime(BATCH_INTERVAL_MS - 1);
    expect(told.length).toBe(2);
    vi.advanceTimersByTime(1);
    expect(told.slice(2)).toEqual([{ t: "counts", counts: [[app.id, "b", 2, false]] }]);
    expect(occupancy.unhandledBatches(0)).toBe(3);
  });

  it("tells a channel occupied and vacated within one batch as both, and one vacated and occupied again as unchanged", () => {
    const { told, subscribe, unsubscribe } = sides();
    subscribe("gone");
    unsubscribe("gone");
    subscribe("back");
    vi.advanceTimersByTime(0);
    unsubscribe("back");
    subscribe("back");
    vi.advanceTimersByTime(BATCH_INTERVAL_MS);
    expect(told).toEqual([
      { t: "counts", counts: [[app.id, "gone", 1, false], [app.id, "gone", 0, false], [app.id, "back", 1, false]] },
      { t: "counts", counts: [[app.id, "back", 1, false]] },
    ]);
  });

  it("answers a read only once the batches begun before it are handled, asking their thread to send them", () => {
    const { barrier, batch, told, askedToSend, subscribe } = sides();
    subscribe("a");
    batch.send();
    barrier.batchHandled(0);
    subscribe("a"); // begun, not sent: its subscriber may have heard subscription_succeeded
    let answered = false;
    barrier.after([0, 1], () => (answered = true));
    expect([answered, askedToSend]).toEqual([false, [0]]);
    batch.send();
    expect(told.at(-1)).toEqual({ t: "counts", counts: [[app.id, "a", 2, false]] });
    // A batch begun after the read does not hold it up.
    subscribe("a");
    barrier.batchHandled(0);
    expect(answered).toBe(true);
    let next = false;
    barrier.after([0, 1], () => (next = true));
    expect(next).toBe(false);
    barrier.batchHandled(0);
    expect(next).toBe(true);
    // With nothing begun, a read is answered at once.
    let idle = false;
    barrier.after([0, 1], () => (idle = true));
    expect(idle).toBe(true);
  });

  it("lets a read go when the thread it waits for dies, and a stopped thread's counter stays still", () => {
    const { occupancy, barrier, batch, told, subscribe } = sides();
    subscribe("a");
    subscribe("a");
    let answered = false;
    barrier.after([0], () => (answered = true));
    batch.stop(); // sends its last batch (lost here: the hub no longer hears the thread)
    expect(told).toEqual([{ t: "counts", counts: [[app.id, "a", 2, false]] }]);
    subscribe("a");
    batch.send();
    expect(told).toHaveLength(1);
    expect(occupancy.unhandledBatches(0)).toBe(1);
    occupancy.forget(0);
    expect(answered).toBe(false);
    barrier.forget(0);
    expect(answered).toBe(true);
    expect(occupancy.unhandledBatches(0)).toBe(0);
  });
});
