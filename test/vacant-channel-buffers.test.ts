/**
 * Vacant-channel buffers on one node: what the HTTP API sends a channel nobody
 * subscribes to is kept and handed to the subscriber that comes back, through
 * Echo and pusher-js unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import nacl from "tweetnacl";
import { RawClient, caughtUp, echoClient, echoReady, nextCall, pusherClient, serverSdk, signedIn, sleep } from "./helpers/clients.js";
import { keptThenLive } from "./helpers/buffer-race.js";
import { DEMO_APP, startHerald, type AppConfig, type Herald } from "./helpers/herald.js";
import { freePort } from "./helpers/redis-server.js";

const buffered: AppConfig = {
  id: "buffered",
  key: "buffered-key",
  secret: "buffered-secret",
  vacantChannelBuffers: [
    { channelPrefix: "private-App.Models.User.", ttlSeconds: 86_400, maxEvents: 3 },
    { channelPrefix: "private-latest.", ttlSeconds: 600, maxEvents: 1 },
    { channelPrefix: "brief-", ttlSeconds: 1, maxEvents: 10 },
    { channelPrefix: "#server-to-user-", ttlSeconds: 600, maxEvents: 10 },
    { channelPrefix: "kept-", ttlSeconds: 600, maxEvents: 1000 },
    { channelPrefix: "cache-kept-", ttlSeconds: 600, maxEvents: 10 },
    { channelPrefix: "presence-kept-", ttlSeconds: 600, maxEvents: 10 },
    { channelPrefix: "private-encrypted-vault.", ttlSeconds: 600, maxEvents: 10 },
  ],
};
let herald: Herald;
let metricsPort: number;
beforeAll(async () => {
  metricsPort = await freePort();
  herald = await startHerald({ apps: [DEMO_APP, buffered], args: ["--metrics-port", String(metricsPort)] });
});
afterAll(() => herald.stop());

const sdk = () => serverSdk(herald.port, buffered);
const NOTIFICATION = "Illuminate\\Notifications\\Events\\BroadcastNotificationCreated";

async function waiting(channel: string, app = buffered): Promise<number> {
  const response = await serverSdk(herald.port, app).get({ path: `/channels/${channel}`, params: { info: "buffered" } });
  return ((await response.json()) as { buffered: number }).buffered;
}

/** A raw subscriber of a public channel; its frames are recorded from the handshake on. */
function subscriber(channel: string, app = buffered): Promise<RawClient> {
  return RawClient.subscribed(herald.port, channel, app.key);
}

/**
 * The marker that proves a hand-over done: a live event for the channel waits on the
 * node until what the channel's first subscriber claimed is handed over. A pong is
 * no marker: with worker threads the claim is answered after the socket's next frames.
 */
const MARKER = "marker";
async function handedOver(client: RawClient, channel: string, app = buffered): Promise<void> {
  await serverSdk(herald.port, app).trigger(channel, MARKER, {});
  await client.event(MARKER);
}

/** A raw subscriber of a private channel, handed over: its frames hold whatever it was handed. */
async function privateSubscriber(channel: string): Promise<RawClient> {
  const client = await RawClient.connect(herald.port, buffered.key);
  const { auth } = sdk().authorizeChannel(await client.socketId(), channel);
  client.send({ event: "pusher:subscribe", data: { channel, auth } });
  await client.event("pusher_internal:subscription_succeeded");
  await handedOver(client, channel);
  return client;
}

/** The events a client got, but the markers. */
const eventsOf = (client: RawClient) => client.frames.filter((frame) => !frame.event.startsWith("pusher") && frame.event !== MARKER).map((frame) => frame.event);

describe("vacant-channel buffers", () => {
  it("hand a notification sent while the user was away to Echo's .notification() when the page opens", async () => {
    await sdk().trigger("private-App.Models.User.42", NOTIFICATION, { id: "n-1", type: "App\\Notifications\\InvoicePaid", amount: 120 });
    expect(await waiting("private-App.Models.User.42")).toBe(1);
    const echo = echoClient(herald.port, buffered);
    const notified = nextCall<{ type: string; amount: number }>();
    echo.private("App.Models.User.42").notification(notified.callback);
    expect(await notified.promise).toMatchObject({ type: "App\\Notifications\\InvoicePaid", amount: 120 });
    expect(await waiting("private-App.Models.User.42")).toBe(0);
    echo.disconnect();
  });

  it("keep the newest maxEvents in order, and give them to the first subscriber only", async () => {
    for (const n of [1, 2, 3, 4, 5]) await sdk().trigger("private-App.Models.User.7", `e${n}`, {});
    const first = await privateSubscriber("private-App.Models.User.7");
    expect(eventsOf(first)).toEqual(["e3", "e4", "e5"]);
    const second = await privateSubscriber("private-App.Models.User.7");
    expect(eventsOf(second)).toEqual([]);
    for (const client of [first, second]) client.close();
  });

  it("keep nothing for a channel outside every prefix, for an app without buffers, or while the channel is occupied", async () => {
    await sdk().trigger("unmatched", "lost", {});
    await serverSdk(herald.port, DEMO_APP).trigger("kept-elsewhere", "lost", {});
    const present = await subscriber("kept-busy");
    await sdk().trigger("kept-busy", "live", {});
    expect(await present.event("live")).toMatchObject({ channel: "kept-busy" });
    await present.closedByUs();
    const clients = [await subscriber("unmatched"), await subscriber("kept-elsewhere", DEMO_APP), await subscriber("kept-busy")];
    await Promise.all([handedOver(clients[0]!, "unmatched"), handedOver(clients[1]!, "kept-elsewhere", DEMO_APP), handedOver(clients[2]!, "kept-busy")]);
    expect(clients.map(eventsOf)).toEqual([[], [], []]);
    expect(await waiting("unmatched")).toBe(0);
    for (const client of clients) client.close();
  });

  it("let kept events expire after ttlSeconds", async () => {
    await sdk().trigger("brief-news", "stale", {});
    expect(await waiting("brief-news")).toBe(1);
    await sleep(1100); // the rule's TTL, 1 s, passing
    expect(await waiting("brief-news")).toBe(0);
    const late = await subscriber("brief-news");
    await handedOver(late, "brief-news");
    expect(eventsOf(late)).toEqual([]);
    late.close();
  });

  it("deliver a stream published while the first subscriber joins without a gap or a duplicate", async () => {
    const channel = "kept-stream";
    const published = Array.from({ length: 200 }, (_, n) => `s${n}`);
    const client = await RawClient.connect(herald.port, buffered.key);
    await client.socketId();
    const stream = (async () => {
      for (const name of published) await sdk().trigger(channel, name, {});
    })();
    await sleep(20); // let the stream start, so the subscription lands inside it
    client.send({ event: "pusher:subscribe", data: { channel } });
    await stream;
    await handedOver(client, channel);
    expect(eventsOf(client)).toEqual(published);
    client.close();
  });

  it("hand sendToUser events kept for #server-to-user- to the user's next sign-in", async () => {
    await sdk().sendToUser("away-user", "order-shipped", { order: 42 });
    const user = pusherClient(herald.port, buffered, { signinAs: { id: "away-user" } });
    const shipped = nextCall<unknown>();
    user.user.bind("order-shipped", shipped.callback);
    await signedIn(user);
    expect(await shipped.promise).toEqual({ order: 42 });
    await caughtUp(user);
    user.disconnect();
  });

  it("hand a presence channel's kept events to the joining socket, and not to the member who joins next", async () => {
    await sdk().trigger("presence-kept-room", "agenda", { item: 1 });
    const ada = pusherClient(herald.port, buffered, { user: { user_id: "ada" } });
    const adaHeard = nextCall<unknown>();
    ada.subscribe("presence-kept-room").bind("agenda", adaHeard.callback);
    expect(await adaHeard.promise).toEqual({ item: 1 });
    const bob = pusherClient(herald.port, buffered, { user: { user_id: "bob" } });
    const bobHeard: unknown[] = [];
    bob.subscribe("presence-kept-room").bind("agenda", (data: unknown) => bobHeard.push(data));
    await new Promise((resolve) => bob.channel("presence-kept-room").bind("pusher:subscription_succeeded", resolve));
    await caughtUp(bob);
    expect(bobHeard).toEqual([]);
    for (const client of [ada, bob]) client.disconnect();
  });

  it("hand an end-to-end encrypted event kept for a vacant channel to Echo.encryptedPrivate(), which decrypts it", async () => {
    const masterKey = Buffer.from(nacl.randomBytes(32)).toString("base64");
    const backend = serverSdk(herald.port, buffered, { encryptionMasterKeyBase64: masterKey });
    await backend.trigger("private-encrypted-vault.9", "secret", { code: 1234 });
    expect(await waiting("private-encrypted-vault.9")).toBe(1);
    const echo = echoClient(herald.port, buffered, { authorizer: backend });
    const received = nextCall<unknown>();
    echo.encryptedPrivate("vault.9").listen(".secret", received.callback);
    expect(await received.promise).toEqual({ code: 1234 });
    echo.disconnect();
  });

  it("keep batch_events in order, and hand them over after a cache channel's replay", async () => {
    await sdk().triggerBatch([
      { channel: "cache-kept-prices", name: "p1", data: "{}" },
      { channel: "cache-kept-prices", name: "p2", data: "{}" },
    ]);
    const cached = await RawClient.connect(herald.port, buffered.key);
    await cached.socketId();
    cached.send({ event: "pusher:subscribe", data: { channel: "cache-kept-prices" } });
    await cached.event("pusher_internal:subscription_succeeded");
    // The cache replays the last event, then the buffer hands over both, in order. (The marker
    // follows once they are in: published sooner, it could become the last event the cache replays.)
    await expect.poll(() => eventsOf(cached)).toEqual(["p2", "p1", "p2"]);
    await handedOver(cached, "cache-kept-prices");
    expect(eventsOf(cached)).toEqual(["p2", "p1", "p2"]);

    cached.close();
  });

  it("keep no event published after the channel's subscriber heard it was in, whichever thread each went through", async () => {
    // On threads, before the fix (subscription_succeeded after the claim's answer), the marker was
    // kept within the first 50 rounds of some lane in 8 runs of 8: the hub had the marker's question
    // before the subscriber's count, its thread's port read first.
    await keptThenLive({ subscribePort: herald.port, publishPort: herald.port, app: buffered, channelPrefix: "private-latest." });
  });

  it("count kept events, hand-overs and drops in /metrics", async () => {
    const sample = async (name: string) => {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      return Number(new RegExp(`^${name.replace(/[{}]/g, "\\$&")} (\\S+)$`, "m").exec(text)?.[1] ?? NaN);
    };
    const before = {
      kept: await sample('herald_buffered_events_total{app="buffered"}'),
      handovers: await sample('herald_buffer_handovers_total{app="buffered"}'),
      overMax: await sample('herald_buffered_events_dropped_total{app="buffered",reason="max_events"}'),
    };
    for (const n of [1, 2, 3, 4]) await sdk().trigger("private-App.Models.User.99", `m${n}`, {});
    const client = await privateSubscriber("private-App.Models.User.99");
    expect(eventsOf(client)).toEqual(["m2", "m3", "m4"]);
    expect(await sample('herald_buffered_events_total{app="buffered"}')).toBe(before.kept + 4);
    expect(await sample('herald_buffer_handovers_total{app="buffered"}')).toBe(before.handovers + 1);
    expect(await sample('herald_buffered_events_dropped_total{app="buffered",reason="max_events"}')).toBe(before.overMax + 1);
    client.close();
  });

  it("answer info=buffered per app, and Echo private channels still subscribe normally", async () => {
    await sdk().trigger("kept-counted", "a", {});
    await sdk().trigger("kept-counted", "b", {});
    expect(await waiting("kept-counted")).toBe(2);
    expect(await waiting("kept-counted", DEMO_APP)).toBe(0);
    const echo = echoClient(herald.port, buffered);
    const heard: string[] = [];
    const channel = echo.channel("kept-counted").listen(".a", () => heard.push("a")).listen(".b", () => heard.push("b"));
    await echoReady(channel);
    await expect.poll(() => heard).toEqual(["a", "b"]);
    echo.disconnect();
  });
});
