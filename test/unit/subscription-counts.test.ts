/** The subscription-count throttle under fake timers, on the single-process cluster. */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { App } from "../../src/apps/app.js";
import { ChannelDirectory } from "../../src/channels/channel-directory.js";
import type { Broker, Occupancy } from "../../src/cluster/cluster.js";
import { createLogger } from "../../src/logger.js";
import { SubscriptionCounts } from "../../src/server/subscription-counts.js";
import type { Webhooks } from "../../src/webhooks/webhooks.js";
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
    // Each subscribe in a turn of its own, as each comes in a message of its own (changes
    // while a count is being read are told once, with the read's answer).
    const join = async (n: number) => {
      for (let i = 0; i < n; i++) {
        channels.subscribe("big");
        ctx.subscriptionCounts.changed(counted, "big");
        await vi.advanceTimersByTimeAsync(0);
      }
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

  it("past 100 on several threads, are throttled even while the count is being read from the others", async () => {
    // This thread holds 50 of the channel's subscribers, another thread 50; the count comes
    // from the hub 10 ms after it is asked, as a worker thread's does.
    const app = { id: "t", enableSubscriptionCount: true } as App;
    const channels = new ChannelDirectory();
    for (let i = 0; i < 50; i++) channels.forApp(app.id).subscribe("stadium");
    const elsewhere = 50;
    const occupancy = {
      subscriptionCount: (_appId: string, channel: string) =>
        new Promise<number>((resolve) => setTimeout(() => resolve(elsewhere + channels.forApp(app.id).subscriptionCount(channel)), 10)),
    } as unknown as Occupancy;
    const sent: number[] = [];
    const broker = { publish: ({ frame }: { frame: string }) => sent.push((JSON.parse((JSON.parse(frame) as { data: string }).data) as { subscription_count: number }).subscription_count) } as unknown as Broker;
    const webhooks = { wants: () => false, subscriptionCount: () => {} } as unknown as Webhooks;
    const counts = new SubscriptionCounts(channels, occupancy, broker, webhooks, createLogger("silent"));
    // Five more, 2 ms apart, each in a turn of its own: all while the first read is out.
    for (let i = 0; i < 5; i++) {
      channels.forApp(app.id).subscribe("stadium");
      counts.changed(app, "stadium");
      await vi.advanceTimersByTimeAsync(2);
    }
    await vi.advanceTimersByTimeAsync(20);
    expect(sent).toEqual([105]);
    await vi.advanceTimersByTimeAsync(5000);
    expect(sent).toEqual([105, 105]);
    counts.stop();
  });
});
