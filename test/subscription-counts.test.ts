/** Subscription counts: pushed to subscribers when enabled, and returned by the publish endpoints on request. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RawClient, pusherClient, serverSdk, subscribed } from "./helpers/clients.js";
import { DEMO_APP, startHerald, type AppConfig, type Herald } from "./helpers/herald.js";

const counted: AppConfig = { id: "counted", key: "counted-key", secret: "counted-secret", enableSubscriptionCount: true };
let herald: Herald;
beforeAll(async () => {
  herald = await startHerald({ apps: [DEMO_APP, counted] });
});
afterAll(() => herald.stop());

async function rawSubscriber(app: AppConfig, channel: string): Promise<RawClient> {
  const client = await RawClient.connect(herald.port, app.key);
  await client.event("pusher:connection_established");
  client.send({ event: "pusher:subscribe", data: { channel } });
  await client.event("pusher_internal:subscription_succeeded");
  return client;
}

const countFrames = (client: RawClient) => client.frames.filter((frame) => frame.event === "pusher_internal:subscription_count");

describe("subscription counts", () => {
  it("tell pusher-js subscribers the count as sockets come and go", async () => {
    const first = pusherClient(herald.port, counted);
    const seen: number[] = [];
    first.subscribe("lobby").bind("pusher:subscription_count", (data: { subscription_count: number }) => seen.push(data.subscription_count));
    await expect.poll(() => seen).toEqual([1]);
    const second = pusherClient(herald.port, counted);
    await subscribed(second, "lobby");
    await expect.poll(() => seen).toEqual([1, 2]);
    second.disconnect();
    await expect.poll(() => seen).toEqual([1, 2, 1]);
    expect(first.channel("lobby").subscriptionCount).toBe(1);
    first.disconnect();
  });

  it("are not sent when the app has not enabled them, nor on presence channels", async () => {
    const plain = await rawSubscriber(DEMO_APP, "quiet-room");
    const other = await rawSubscriber(DEMO_APP, "quiet-room");
    const client = await RawClient.connect(herald.port, counted.key);
    const socket_id = await client.socketId();
    const auth = serverSdk(herald.port, counted).authorizeChannel(socket_id, "presence-room", { user_id: "1" });
    client.send({ event: "pusher:subscribe", data: { channel: "presence-room", ...auth } });
    await client.event("pusher_internal:subscription_succeeded");
    // Counts under 100 subscribers go out at once: they would be here before these pongs.
    await Promise.all([plain, other, client].map((socket) => socket.caughtUp()));
    expect([...countFrames(plain), ...countFrames(other), ...countFrames(client)]).toEqual([]);
    for (const socket of [plain, other, client]) socket.close();
  });

  it("reach a big channel at most once per 5 s, ending with the right count", async () => {
    const sockets: RawClient[] = [];
    for (let i = 0; i < 105; i++) sockets.push(await rawSubscriber(counted, "stadium"));
    const watcher = sockets[0]!;
    const counts = () => countFrames(watcher).map((frame) => (JSON.parse(frame.data as string) as { subscription_count: number }).subscription_count);
    // Up to 100 every change is told; past it, one at once and the rest throttled. The
    // throttle is each node's, and on worker threads each thread's (see the README).
    const senders = Number(process.env.HERALD_TEST_WORKERS ?? 1);
    expect(counts().length).toBeLessThanOrEqual(100 + 2 * senders);
    await expect.poll(counts, { timeout: 7000, interval: 200 }).toContain(105);
    expect(counts().filter((count) => count > 100).length).toBeLessThanOrEqual(2 * senders);
    for (const socket of sockets) socket.close();
  }, 20_000);

  it("come back from POST events and batch_events when asked with info", async () => {
    const member = pusherClient(herald.port, DEMO_APP, { user: { user_id: "7", user_info: {} } });
    await subscribed(member, "presence-hall");
    await subscribed(member, "news");
    const sdk = serverSdk(herald.port, DEMO_APP);
    const single = await sdk.trigger(["presence-hall", "news"], "e", {}, { info: "user_count,subscription_count" });
    expect(await single.json()).toEqual({
      channels: { "presence-hall": { user_count: 1, subscription_count: 1 }, news: { subscription_count: 1 } },
    });
    const batch = await sdk.triggerBatch([
      { channel: "news", name: "a", data: "1", info: "subscription_count" },
      { channel: "empty", name: "b", data: "2" },
    ]);
    expect(await batch.json()).toEqual({ batch: [{ subscription_count: 1 }, {}] });
    member.disconnect();
  });
});
