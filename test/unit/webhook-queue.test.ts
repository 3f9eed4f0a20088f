/** The webhook outbox under fake timers: batching, retry back-off and the give-up after 5 minutes. */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { parseApps } from "../../src/apps/apps-file.js";
import { createLogger } from "../../src/logger.js";
import type { PostResult } from "../../src/webhooks/http-post.js";
import { WebhookQueue } from "../../src/webhooks/webhook-queue.js";

const app = parseApps({ apps: [{ id: "a", key: "a-key", secret: "a-secret", webhooks: [{ url: "http://127.0.0.1:9/hook" }] }] }, "a unit test").apps[0]!;

function queueAnswering(answers: (attempt: number) => PostResult) {
  const requests: Array<{ at: number; body: string }> = [];
  const attempts: number[] = [];
  const deliveries = { delivered: 0, failed: 0, dropped: 0 };
  const queue = new WebhookQueue(
    app,
    app.webhooks[0]!,
    async (_url, _headers, body) => {
      requests.push({ at: Date.now(), body });
      return answers(requests.length);
    },
    (_appId, _url, attempt) => attempts.push(attempt),
    createLogger("silent"),
    deliveries,
  );
  return { queue, requests, attempts, deliveries };
}

describe("a webhook's queue", () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  it("sends a batch 250 ms after its first event, or at once when 20 are waiting", async () => {
    const { queue, requests } = queueAnswering(() => ({ ok: true, status: 200 }));
    queue.push('{"name":"channel_occupied","channel":"a"}');
    await vi.advanceTimersByTimeAsync(249);
    expect(requests).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(requests).toHaveLength(1);
    for (let i = 0; i < 20; i++) queue.push(`{"name":"channel_occupied","channel":"c${i}"}`);
    await vi.advanceTimersByTimeAsync(0);
    expect(requests).toHaveLength(2);
    expect(JSON.parse(requests[1]!.body).events).toHaveLength(20);
    queue.stop();
  });

  it("retries a failed request after 1, 2, 4 s... with the same body, and counts each attempt", async () => {
    const { queue, requests, attempts, deliveries } = queueAnswering((n) => (n < 4 ? { ok: false, reason: "HTTP 500", status: 500 } : { ok: true, status: 200 }));
    queue.push('{"name":"channel_vacated","channel":"a"}');
    await vi.advanceTimersByTimeAsync(250);
    await vi.advanceTimersByTimeAsync(1000 + 2000 + 4000);
    expect(requests.map((request) => request.at - requests[0]!.at)).toEqual([0, 1000, 3000, 7000]);
    expect(new Set(requests.map((request) => request.body)).size).toBe(1);
    expect(attempts).toEqual([1, 2, 3, 4]);
    expect(deliveries).toMatchObject({ delivered: 1, failed: 3, dropped: 0 });
    expect(queue.held).toBe(0);
    queue.stop();
  });

  it("gives up after 5 minutes of failures and counts the batch as dropped", async () => {
    const { queue, requests, deliveries } = queueAnswering(() => ({ ok: false, reason: "ECONNREFUSED" }));
    queue.push('{"name":"channel_vacated","channel":"a"}');
    await vi.advanceTimersByTimeAsync(250 + 6 * 60_000);
    // 1, 2, 4 ... 32, then 60 s apart, until the next wait would pass 5 minutes.
    expect(requests.length).toBeGreaterThan(6);
    expect(requests.at(-1)!.at - requests[0]!.at).toBeLessThanOrEqual(5 * 60_000);
    expect(deliveries.dropped).toBe(1);
    expect(queue.held).toBe(0);
    queue.stop();
  });
});
