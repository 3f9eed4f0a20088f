/** The subscription-count throttle under fake timers, on the single-process cluster. */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ruleServices } from "../helpers/rule-services.js";

const APP = { id: "c", key: "c-key", secret: "c-secret", enableSubscriptionCount: true };

/** The counts sent to the channel's subscribers so far. */
function countsSent(published: Array<{ channel: string; frame: string }>, channel: string): number[] {
  return published
    .filter((message) => message.channel === channel && message.frame.includes("subscription_count"))
    .map((message) => (JSON.parse((JSON.parse(message.frame) as { data: string }).data) as { subscription_count: number }).subscription_count);
}

describe("subscription counts", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("are sent at once up to 100 subscribers, then at most once per 5 s, the last word being the latest count", async () => {
    const { services: ctx, published, app } = await ruleServices([APP]);
    const counted = app("c");
    const channels = ctx.channels.forApp(counted.id);
    const join = async (n: number) => {
      for (let i = 0; i < n; i++) {
        channels.subscribe("big");
        ctx.subscriptionCounts.changed(counted, "big");
      }
      await vi.advanceTimersByTimeAsync(0);
    };

    await join(100);
    expect(countsSent(published, "big")).toHaveLength(100);
    await join(1); // 101: over the threshold, sent and the 5 s window starts
    await join(49); // 150: held
    expect(countsSent(published, "big").slice(100)).toEqual([101]);
    await vi.advanceTimersByTimeAsync(4999);
    expect(countsSent(published, "big").slice(100)).toEqual([101]);
    await vi.advanceTimersByTimeAsync(1);
    expect(countsSent(published, "big").slice(100)).toEqual([101, 150]);
    ctx.subscriptionCounts.stop();
  });
});
