/**
 * pusher-js's HTTP fallback (xhr_streaming, xhr_polling), forced through its own
 * options: a session is a Pusher connection like any other, with WebSocket clients
 * on the same channels.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import nacl from "tweetnacl";
import { connected, nextCall, pusherClient, serverSdk, signedIn, subscribed, type Pusher } from "./helpers/clients.js";
import { DEMO_APP, startHerald, type AppConfig, type Herald } from "./helpers/herald.js";
import { startWebhookReceiver, type WebhookReceiver } from "./helpers/webhook-receiver.js";

let herald: Herald;
let receiver: WebhookReceiver;
let hooked: AppConfig;
const counted: AppConfig = { id: "counted", key: "counted-key", secret: "counted-secret", enableSubscriptionCount: true, enableClientMessages: true, maxClientEventsPerSecond: 1 };
beforeAll(async () => {
  receiver = await startWebhookReceiver();
  hooked = { id: "hooked", key: "hooked-key", secret: "hooked-secret", webhooks: [{ url: receiver.url, event_types: ["channel_vacated", "member_removed"] }] };
  // A short departure hold and session expiry, so that an abandoned session's webhooks come soon.
  herald = await startHerald({ apps: [DEMO_APP, hooked, counted], env: { HERALD_TEST_TIMINGS: JSON.stringify({ departureHoldMs: 300, sessionExpiryMs: 1000 }) } });
});
afterAll(async () => {
  await herald.stop();
  await receiver.close();
});

function webhookEvents(channel: string): string[] {
  return receiver.received
    .flatMap((request) => {
      const webhook = serverSdk(herald.port, hooked).webhook({ headers: request.headers as Record<string, string>, rawBody: request.rawBody });
      return webhook.getEvents() as unknown as Array<{ name: string; channel: string }>;
    })
    .filter((event) => event.channel === channel)
    .map((event) => event.name);
}

describe.each(["xhr_streaming", "xhr_polling"] as const)("pusher-js over %s", (transport) => {
  const client = (options: Parameters<typeof pusherClient>[2] = {}, app = DEMO_APP): Pusher => pusherClient(herald.port, app, { ...options, transport });
  const channel = (name: string) => `${name}-${transport}`;

  it("connects through the fallback, and gets public and private events", async () => {
    const http = client();
    await connected(http);
    // pusher-js keeps the transport it connected with two levels down.
    const carried = (http.connection as unknown as { connection: { transport: { name: string } } }).connection.transport.name;
    expect(carried).toBe(transport);
    await subscribed(http, channel("news"));
    await subscribed(http, channel("private-orders"));
    const news = nextCall<unknown>();
    const order = nextCall<unknown>();
    http.channel(channel("news")).bind("headline", news.callback);
    http.channel(channel("private-orders")).bind("shipped", order.callback);
    await serverSdk(herald.port, DEMO_APP).trigger(channel("news"), "headline", { title: "HTTP works" });
    await serverSdk(herald.port, DEMO_APP).trigger(channel("private-orders"), "shipped", { id: 7 });
    expect(await news.promise).toEqual({ title: "HTTP works" });
    expect(await order.promise).toEqual({ id: 7 });
    http.disconnect();
  });

  it("shares presence and client events with WebSocket clients", async () => {
    const room = channel("presence-room");
    const ws = pusherClient(herald.port, DEMO_APP, { user: { user_id: "ws-ada", user_info: { name: "Ada" } } });
    await subscribed(ws, room);
    const added = nextCall<{ id: string }>();
    ws.channel(room).bind("pusher:member_added", added.callback);
    const http = client({ user: { user_id: "http-bob", user_info: { name: "Bob" } } });
    const members = (await subscribed(http, room)) as { count: number; members: Record<string, unknown> };
    expect(members.count).toBe(2);
    expect(members.members).toEqual({ "ws-ada": { name: "Ada" }, "http-bob": { name: "Bob" } });
    expect(await added.promise).toMatchObject({ id: "http-bob" });

    const toHttp = nextCall<unknown>();
    const toWs = nextCall<unknown>();
    http.channel(room).bind("client-typing", toHttp.callback);
    ws.channel(room).bind("client-typing", toWs.callback);
    ws.channel(room).trigger("client-typing", { from: "ws" });
    expect(await toHttp.promise).toEqual({ from: "ws" });
    http.channel(room).trigger("client-typing", { from: "http" });
    expect(await toWs.promise).toEqual({ from: "http" });
    for (const each of [ws, http]) each.disconnect();
  });

  it("decrypts end-to-end encrypted events", async () => {
    const masterKey = Buffer.from(nacl.randomBytes(32)).toString("base64");
    const backend = serverSdk(herald.port, DEMO_APP, { encryptionMasterKeyBase64: masterKey });
    const http = client({ authorizer: backend });
    const vault = channel("private-encrypted-vault");
    await subscribed(http, vault);
    const secret = nextCall<unknown>();
    http.channel(vault).bind("secret", secret.callback);
    await backend.trigger(vault, "secret", { code: 1234 });
    expect(await secret.promise).toEqual({ code: 1234 });
    http.disconnect();
  });

  it("signs in, gets sendToUser events, and replays a cache channel", async () => {
    const user = `user-${transport}`;
    const http = client({ signinAs: { id: user } });
    const notice = nextCall<unknown>();
    http.user.bind("notice", notice.callback);
    await signedIn(http, 5000);
    await serverSdk(herald.port, DEMO_APP).sendToUser(user, "notice", { text: "hi" });
    expect(await notice.promise).toEqual({ text: "hi" });

    const cache = channel("cache-price");
    await serverSdk(herald.port, DEMO_APP).trigger(cache, "tick", { price: 9 });
    const replayed = nextCall<unknown>();
    http.subscribe(cache).bind("tick", replayed.callback);
    expect(await replayed.promise).toEqual({ price: 9 });
    http.disconnect();
  });

  it("hears watchlists, subscription counts and the client-event rate limit as a WebSocket does", async () => {
    const watched = `watched-${transport}`;
    const watcher = client({ signinAs: { id: `watcher-${transport}`, watchlist: [watched] } });
    const online = nextCall<{ user_ids: string[] }>();
    watcher.user.watchlist.bind("online", online.callback);
    await signedIn(watcher, 5000);
    const friend = pusherClient(herald.port, DEMO_APP, { signinAs: { id: watched } });
    await signedIn(friend);
    expect(await online.promise).toMatchObject({ user_ids: [watched] });

    const room = channel("private-counted");
    const http = client({}, counted);
    const counts: number[] = [];
    http.subscribe(room).bind("pusher:subscription_count", (data: { subscription_count: number }) => counts.push(data.subscription_count));
    await expect.poll(() => counts).toEqual([1]);
    const ws = pusherClient(herald.port, counted);
    await subscribed(ws, room);
    await expect.poll(() => counts).toEqual([1, 2]);
    const limited = nextCall<{ data: { code: number } }>();
    http.connection.bind("error", (error: { data: { code: number } }) => limited.callback({ data: error.data }));
    for (let n = 0; n < 3; n++) http.channel(room).trigger("client-typing", { n });
    expect((await limited.promise).data.code).toBe(4301);
    for (const each of [watcher, friend, http, ws]) each.disconnect();
  });

  it("gets close codes as a WebSocket would: terminate_connections closes with 4009 and pusher-js stays away", async () => {
    const user = `banned-${transport}`;
    const http = client({ signinAs: { id: user } });
    await signedIn(http, 5000);
    const closed = nextCall<number>();
    http.connection.bind("error", (error: { data?: { code: number } }) => closed.callback(error.data?.code ?? 0));
    await serverSdk(herald.port, DEMO_APP).terminateUserConnections(user);
    expect(await closed.promise).toBe(4009);
    await expect.poll(() => http.connection.state).toBe("disconnected");
  });

  it("expires a session whose client went away: member_removed and channel_vacated follow", { timeout: 20_000 }, async () => {
    const room = channel("presence-leaving");
    const ws = pusherClient(herald.port, hooked, { user: { user_id: "stayer" } });
    await subscribed(ws, room);
    const removed = nextCall<{ id: string }>(15_000);
    ws.channel(room).bind("pusher:member_removed", removed.callback);
    const http = client({ user: { user_id: "leaver" } }, hooked);
    await subscribed(http, room);
    const vacated = channel("leaving-alone");
    await subscribed(http, vacated);
    http.disconnect(); // pusher-js sends nothing: it stops receiving, and the session expires
    expect(await removed.promise).toMatchObject({ id: "leaver" });
    await expect.poll(() => webhookEvents(vacated), { timeout: 5000 }).toEqual(["channel_vacated"]);
    expect(webhookEvents(room)).toContain("member_removed");
    ws.disconnect();
  });
});
