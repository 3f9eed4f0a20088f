/**
 * Webhooks: a real HTTP server receives them and checks them with the `pusher`
 * SDK's webhook() helper, as a Laravel or Node backend would.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RawClient, connected, disconnected, pusherClient, serverSdk, sleep, subscribed } from "./helpers/clients.js";
import { startHerald, type AppConfig, type Herald } from "./helpers/herald.js";

// The hold: long enough for a reloaded page to subscribe again on a loaded machine (1 s was not, once in CI).
const TIMINGS = { departureHoldMs: 2000, dropLogIntervalMs: 1000 };
import { startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from "./helpers/webhook-receiver.js";

interface WebhookEvent {
  name: string;
  channel: string;
  [field: string]: unknown;
}

let herald: Herald;
let everything: WebhookReceiver;
let teamMembers: WebhookReceiver;
let counts: WebhookReceiver;
let flaky: WebhookReceiver;
let down: WebhookReceiver;
let app: AppConfig;
let flakyApp: AppConfig;
let downApp: AppConfig;

beforeAll(async () => {
  everything = await startWebhookReceiver();
  teamMembers = await startWebhookReceiver();
  counts = await startWebhookReceiver();
  flaky = await startWebhookReceiver((index) => (index === 0 ? 500 : 200));
  down = await startWebhookReceiver(() => 503);
  app = {
    id: "hooked",
    key: "hooked-key",
    secret: "hooked-secret",
    enableClientMessages: true,
    webhooks: [
      {
        url: everything.url,
        headers: { Authorization: "Bearer laravel" },
        event_types: ["channel_occupied", "channel_vacated", "member_added", "member_removed", "client_event", "cache_miss"],
      },
      { url: counts.url, event_types: ["subscription_count"], filter: { channel_name_ends_with: "-counted" } },
      { url: teamMembers.url, event_types: ["member_added", "member_removed"], filter: { channel_name_starts_with: "presence-team-" } },
    ],
  };
  flakyApp = { id: "flaky", key: "flaky-key", secret: "flaky-secret", webhooks: [{ url: flaky.url, event_types: ["channel_occupied"] }] };
  downApp = { id: "down", key: "down-key", secret: "down-secret", enableClientMessages: true, webhooks: [{ url: down.url, event_types: ["client_event"] }] };
  // The hold and the drop log's interval at a tenth: the same behaviour, in less time.
  herald = await startHerald({ apps: [app, flakyApp, downApp], env: { HERALD_TEST_TIMINGS: JSON.stringify(TIMINGS) } });
});
afterAll(async () => {
  await herald.stop();
  for (const receiver of [everything, teamMembers, counts, flaky, down]) await receiver.close();
});

/** Checks a request as the `pusher` SDK does and returns its events. */
function verifiedEvents(request: ReceivedWebhook, forApp = app): WebhookEvent[] {
  const webhook = serverSdk(herald.port, forApp).webhook({ headers: request.headers as Record<string, string>, rawBody: request.rawBody });
  expect(webhook.isValid()).toBe(true);
  return webhook.getEvents() as unknown as WebhookEvent[];
}

function eventsOn(receiver: WebhookReceiver, channel: string): WebhookEvent[] {
  return receiver.received.flatMap((request) => verifiedEvents(request)).filter((event) => event.channel === channel);
}

async function waitForEvents(receiver: WebhookReceiver, channel: string, count: number, timeoutMs = 6000): Promise<WebhookEvent[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const events = eventsOn(receiver, channel);
    if (events.length >= count) return events;
    if (Date.now() > deadline) throw new Error(`expected ${count} events on ${channel}, got ${JSON.stringify(events)}`);
    await sleep(20);
  }
}

describe("webhooks", () => {
  it("are signed so that the pusher SDK's webhook() accepts them, with the app key and configured headers", async () => {
    const client = pusherClient(herald.port, app);
    await subscribed(client, "signed-room");
    const [occupied] = await waitForEvents(everything, "signed-room", 1);
    expect(occupied).toEqual({ name: "channel_occupied", channel: "signed-room" });
    const request = everything.received.find((r) => r.rawBody.includes('"signed-room"'))!;
    expect(request.headers["x-pusher-key"]).toBe(app.key);
    expect(request.headers["content-type"]).toBe("application/json");
    expect(request.headers.authorization).toBe("Bearer laravel");
    expect(typeof JSON.parse(request.rawBody).time_ms).toBe("number");
    const tampered = serverSdk(herald.port, app).webhook({ headers: request.headers as Record<string, string>, rawBody: request.rawBody.replace("signed-room", "signed-roon") });
    expect(tampered.isValid()).toBe(false);
    client.disconnect();
  });

  it("report channel_vacated once the hold after the last socket left is over, not before", async () => {
    const client = pusherClient(herald.port, app);
    await subscribed(client, "leaving-room");
    await waitForEvents(everything, "leaving-room", 1);
    const left = Date.now();
    client.unsubscribe("leaving-room");
    const events = await waitForEvents(everything, "leaving-room", 2);
    expect(Date.now() - left).toBeGreaterThanOrEqual(TIMINGS.departureHoldMs - 50);
    expect(events).toEqual([
      { name: "channel_occupied", channel: "leaving-room" },
      { name: "channel_vacated", channel: "leaving-room" },
    ]);
    client.disconnect();
  });

  it("fire neither vacated/occupied nor removed/added again for a page reload within the hold", async () => {
    const user = { user_id: "reloader", user_info: { name: "R" } };
    const first = pusherClient(herald.port, app, { user });
    await subscribed(first, "reload-room");
    await subscribed(first, "presence-team-reload");
    await waitForEvents(everything, "presence-team-reload", 2);
    const marker = pusherClient(herald.port, app);
    await subscribed(marker, "reload-marker");
    // The reloaded page's connection is made first: the hold then only has to cover its subscriptions.
    const second = pusherClient(herald.port, app, { user });
    await connected(second);
    await disconnected(first);
    await subscribed(second, "reload-room");
    await subscribed(second, "presence-team-reload");
    // The marker's channel is vacated after the reload: departures are reported in the order of their holds.
    await disconnected(marker);
    await waitForEvents(everything, "reload-marker", 2);
    expect(eventsOn(everything, "reload-room")).toEqual([{ name: "channel_occupied", channel: "reload-room" }]);
    expect(eventsOn(everything, "presence-team-reload")).toEqual([
      { name: "channel_occupied", channel: "presence-team-reload" },
      { name: "member_added", channel: "presence-team-reload", user_id: "reloader" },
    ]);
    second.disconnect();
  });

  it("report member_added and member_removed, and give a filtered webhook only what it asked for", async () => {
    const alice = pusherClient(herald.port, app, { user: { user_id: "alice" } });
    const bob = pusherClient(herald.port, app, { user: { user_id: "bob" } });
    await subscribed(alice, "presence-team-red");
    await subscribed(bob, "presence-team-red");
    await subscribed(alice, "presence-other");
    bob.disconnect();
    const expected = [
      { name: "member_added", channel: "presence-team-red", user_id: "alice" },
      { name: "member_added", channel: "presence-team-red", user_id: "bob" },
      { name: "member_removed", channel: "presence-team-red", user_id: "bob" },
    ];
    expect(await waitForEvents(teamMembers, "presence-team-red", 3)).toEqual(expected);
    expect((await waitForEvents(everything, "presence-team-red", 4)).slice(1)).toEqual(expected);
    await waitForEvents(everything, "presence-other", 2);
    expect(eventsOn(teamMembers, "presence-other")).toEqual([]);
    alice.disconnect();
  });

  it("report client events with their data, socket_id and, on presence channels, user_id", async () => {
    const sender = pusherClient(herald.port, app, { user: { user_id: "typist" } });
    const senderSocketId = await connected(sender);
    await subscribed(sender, "private-chat");
    await subscribed(sender, "presence-chat");
    sender.channel("private-chat").trigger("client-typing", { who: "me" });
    sender.channel("presence-chat").trigger("client-typing", { who: "me" });
    const [privateEvent] = (await waitForEvents(everything, "private-chat", 2)).filter((e) => e.name === "client_event");
    expect(privateEvent).toEqual({ name: "client_event", channel: "private-chat", event: "client-typing", data: '{"who":"me"}', socket_id: senderSocketId });
    const [presenceEvent] = (await waitForEvents(everything, "presence-chat", 3)).filter((e) => e.name === "client_event");
    expect(presenceEvent).toMatchObject({ event: "client-typing", socket_id: senderSocketId, user_id: "typist" });
    sender.disconnect();
  });

  it("report cache_miss when a cache channel has nothing to replay", async () => {
    const client = pusherClient(herald.port, app);
    await subscribed(client, "cache-scores");
    // With worker threads, cache_miss comes from the socket's thread and channel_occupied
    // from the thread that reports transitions: two batches, in either order.
    const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
    expect((await waitForEvents(everything, "cache-scores", 2)).sort(byName)).toEqual([
      { name: "cache_miss", channel: "cache-scores" },
      { name: "channel_occupied", channel: "cache-scores" },
    ]);
    client.disconnect();
  });

  it("report subscription_count to a webhook that asks for it, without sending counts to sockets of an app that did not enable them", async () => {
    const one = await RawClient.connect(herald.port, app.key);
    await one.socketId();
    one.send({ event: "pusher:subscribe", data: { channel: "room-counted" } });
    await one.event("pusher_internal:subscription_succeeded");
    // The first count is in before the second socket comes: on threads a count is read from the
    // main thread, and one read after the second socket's subscribe would say 2 (README, "Worker threads").
    await waitForEvents(counts, "room-counted", 1);
    const two = pusherClient(herald.port, app);
    await subscribed(two, "room-counted");
    await subscribed(two, "room-skipped");
    const reported = await waitForEvents(counts, "room-counted", 2);
    expect(reported).toEqual([
      { name: "subscription_count", channel: "room-counted", subscription_count: 1 },
      { name: "subscription_count", channel: "room-counted", subscription_count: 2 },
    ]);
    await waitForEvents(everything, "room-skipped", 1);
    // The marker: a count this webhook does ask for, queued after any for room-skipped.
    const three = await RawClient.subscribed(herald.port, "room-counted", app.key);
    await waitForEvents(counts, "room-counted", 3);
    await one.caughtUp();
    expect(eventsOn(counts, "room-skipped")).toEqual([]);
    expect(one.frames.filter((frame) => frame.event === "pusher_internal:subscription_count")).toEqual([]);
    one.close();
    three.close();
    two.disconnect();
  });

  it("batch up to 20 events per request", async () => {
    const sender = pusherClient(herald.port, app);
    await subscribed(sender, "private-burst");
    const channel = sender.channel("private-burst");
    for (let i = 0; i < 25; i++) channel.trigger("client-tick", { i });
    const events = (await waitForEvents(everything, "private-burst", 26)).filter((e) => e.name === "client_event");
    expect(events.map((e) => JSON.parse(e.data as string).i)).toEqual([...Array(25).keys()]);
    const requests = everything.received.filter((r) => r.rawBody.includes("client-tick"));
    expect(requests.length).toBeGreaterThanOrEqual(2);
    expect(Math.max(...requests.map((r) => verifiedEvents(r).length))).toBe(20);
    sender.disconnect();
  });

  it("retry a request answered with 500, with the same signed body", async () => {
    const client = pusherClient(herald.port, flakyApp);
    await subscribed(client, "retried-room");
    const deadline = Date.now() + 6000;
    while (flaky.received.length < 2 && Date.now() < deadline) await sleep(20);
    const [failed, retried] = flaky.received;
    expect([failed!.status, retried!.status]).toEqual([500, 200]);
    expect(retried!.rawBody).toBe(failed!.rawBody);
    expect(verifiedEvents(retried!, flakyApp)).toEqual([{ name: "channel_occupied", channel: "retried-room" }]);
    client.disconnect();
  });

  it("keep a bounded queue for a receiver that is down, and count and log what they drop", { timeout: 20_000 }, async () => {
    const sender = await RawClient.connect(herald.port, downApp.key);
    const socketId = await sender.socketId();
    const auth = serverSdk(herald.port, downApp).authorizeChannel(socketId, "private-flood").auth;
    sender.send({ event: "pusher:subscribe", data: { channel: "private-flood", auth } });
    await sender.event("pusher_internal:subscription_succeeded");
    for (let i = 0; i < 10_100; i++) sender.send({ event: "client-flood", channel: "private-flood", data: { i } });
    // The first drop is logged at once, the rest in one report when the drops stop (at most one interval later).
    const reports = () => herald.logs.filter((line) => line.msg.startsWith("webhook events dropped for app down"));
    const deadline = Date.now() + 15_000;
    while (reports().length < 2 && Date.now() < deadline) await sleep(50);
    const [first, later] = reports();
    expect(first).toMatchObject({ appId: "down", url: down.url, dropped: 1, droppedTotal: 1 });
    expect(later).toMatchObject({ appId: "down", url: down.url, dropped: 99, droppedTotal: 100 });
    // The socket path was not held up: the sender still gets answers.
    sender.send({ event: "pusher:ping", data: {} });
    await sender.event("pusher:pong");
    sender.close();
  });
});
