/** Cache channels: the last API event replayed to new subscribers, or pusher:cache_miss. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import nacl from "tweetnacl";
import { RawClient, connected, nextCall, pusherClient, serverSdk, subscribed } from "./helpers/clients.js";
import { DEMO_APP, startHerald, type Herald } from "./helpers/herald.js";

let herald: Herald;

async function until(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
beforeAll(async () => {
  herald = await startHerald();
});
afterAll(() => herald.stop());

describe("cache channels", () => {
  it("replay the last published event right after subscription_succeeded", async () => {
    const sdk = serverSdk(herald.port, DEMO_APP);
    await sdk.trigger("cache-price", "tick", { price: 1 });
    await sdk.trigger("cache-price", "tick", { price: 2 });
    const client = pusherClient(herald.port, DEMO_APP);
    const received = nextCall<unknown>();
    const order: string[] = [];
    const channel = client.subscribe("cache-price");
    channel.bind("pusher:subscription_succeeded", () => order.push("succeeded"));
    channel.bind("tick", (data: unknown) => {
      order.push("tick");
      received.callback(data);
    });
    expect(await received.promise).toEqual({ price: 2 });
    expect(order).toEqual(["succeeded", "tick"]);
    client.disconnect();
  });

  it.each(["cache-racing", "presence-cache-racing"])("give a subscriber of %s who comes as events are published each event once, in the order published", async (channel) => {
    // The replay is read while the live events go on: on worker threads the publish and the
    // subscriber may be on different threads, and the read goes to the hub.
    const sdk = serverSdk(herald.port, DEMO_APP);
    let published = 0;
    let publishing = true;
    const publisher = (async () => {
      while (publishing) await sdk.trigger(channel, "tick", { seq: ++published });
    })();
    const subscribers = await Promise.all(
      Array.from({ length: 16 }, async (_, i) => {
        await new Promise((resolve) => setTimeout(resolve, i * 5));
        const client = await RawClient.connect(herald.port);
        const socketId = await client.socketId();
        const auth = channel.startsWith("presence-") ? sdk.authorizeChannel(socketId, channel, { user_id: `racer-${i}`, user_info: {} }) : {};
        client.send({ event: "pusher:subscribe", data: { channel, ...auth } });
        return client;
      }),
    );
    publishing = false;
    await publisher;
    const seqsOf = (client: RawClient) => client.frames.filter((frame) => frame.event === "tick").map((frame) => (JSON.parse(frame.data as string) as { seq: number }).seq);
    for (const [i, client] of subscribers.entries()) {
      // The last event came, live or replayed; then a replay asked after this channel's comes after it too.
      await until(() => seqsOf(client).includes(published));
      client.send({ event: "pusher:subscribe", data: { channel: `cache-racing-marker-${channel}-${i}` } });
      await client.event("pusher:cache_miss");
      const seqs = seqsOf(client);
      expect(seqs).toEqual([...new Set(seqs)].sort((a, b) => a - b));
      expect(seqs.at(-1)).toBe(published);
      client.close();
    }
  });

  it("leave out the socket an event names (toOthers), and keep the event for the next subscriber", async () => {
    const sdk = serverSdk(herald.port, DEMO_APP);
    const channel = "cache-others";
    const sender = await RawClient.connect(herald.port);
    const senderId = await sender.socketId();
    sender.send({ event: "pusher:subscribe", data: { channel } });
    const other = await RawClient.subscribed(herald.port, channel);
    await Promise.all([sender.event("pusher:cache_miss"), other.event("pusher:cache_miss")]);
    await sdk.trigger(channel, "moved", { by: "sender" }, { socket_id: senderId });
    await sdk.trigger(channel, "moved", { by: "marker" });
    await Promise.all([sender, other].map((client) => client.next((frame) => frame.event === "moved" && String(frame.data).includes("marker"))));
    expect(sender.frames.filter((frame) => frame.event === "moved")).toEqual([]);
    expect(other.frames.filter((frame) => frame.event === "moved").map((frame) => JSON.parse(frame.data as string))).toEqual([{ by: "sender" }]);
    const newcomer = await RawClient.subscribed(herald.port, channel);
    expect(JSON.parse((await newcomer.event("moved")).data as string)).toEqual({ by: "marker" });
    for (const client of [sender, other, newcomer]) client.close();
  });

  it("send pusher:cache_miss when nothing is cached, on every kind of cache channel", async () => {
    const client = pusherClient(herald.port, DEMO_APP, { user: { user_id: "1", user_info: {} } });
    await connected(client);
    for (const name of ["cache-empty", "private-cache-empty", "presence-cache-empty"]) {
      const missed = nextCall<unknown>();
      client.subscribe(name).bind("pusher:cache_miss", missed.callback);
      await missed.promise;
    }
    client.disconnect();
  });

  it("do not cache client events", async () => {
    const sender = pusherClient(herald.port, DEMO_APP);
    const listener = pusherClient(herald.port, DEMO_APP);
    await Promise.all([subscribed(sender, "private-cache-chat"), subscribed(listener, "private-cache-chat")]);
    const relayed = nextCall<unknown>();
    listener.channel("private-cache-chat").bind("client-typing", relayed.callback);
    sender.channel("private-cache-chat").trigger("client-typing", { who: "a" });
    // Once another subscriber has it, the server has handled the client event.
    expect(await relayed.promise).toEqual({ who: "a" });
    const newcomer = pusherClient(herald.port, DEMO_APP);
    const missed = nextCall<unknown>();
    const replayed: unknown[] = [];
    const channel = newcomer.subscribe("private-cache-chat");
    channel.bind("pusher:cache_miss", missed.callback);
    channel.bind("client-typing", (data: unknown) => replayed.push(data));
    await missed.promise;
    expect(replayed).toEqual([]);
    for (const client of [sender, listener, newcomer]) client.disconnect();
  });

  it("replay encrypted events that the subscriber can decrypt", async () => {
    const masterKey = Buffer.from(nacl.randomBytes(32)).toString("base64");
    const backend = serverSdk(herald.port, DEMO_APP, { encryptionMasterKeyBase64: masterKey });
    await backend.trigger("private-encrypted-cache-vault", "secret", { code: "42" });
    const client = pusherClient(herald.port, DEMO_APP, { authorizer: backend });
    const received = nextCall<unknown>();
    client.subscribe("private-encrypted-cache-vault").bind("secret", received.callback);
    expect(await received.promise).toEqual({ code: "42" });
    client.disconnect();
  });

  it("answer info=cache with the cached event and its remaining TTL", async () => {
    const sdk = serverSdk(herald.port, DEMO_APP);
    await sdk.trigger("cache-score", "goal", { home: 1 });
    const info = (await (await sdk.get({ path: "/channels/cache-score", params: { info: "cache" } })).json()) as {
      occupied: boolean;
      cache: { event: string; data: string; ttl: number };
    };
    expect(info).toMatchObject({ occupied: false, cache: { event: "goal", data: '{"home":1}' } });
    expect(info.cache.ttl).toBeGreaterThan(1790);
    expect(info.cache.ttl).toBeLessThanOrEqual(1800);
    const none = await (await sdk.get({ path: "/channels/cache-nothing", params: { info: "cache" } })).json();
    expect(none).toEqual({ occupied: false });
    await expect(sdk.get({ path: "/channels/plain", params: { info: "cache" } })).rejects.toMatchObject({ status: 400 });
  });

  it("keep each app's cache to itself", async () => {
    const other = { id: "other", key: "other-key", secret: "other-secret" };
    const isolated = await startHerald({ apps: [DEMO_APP, other] });
    await serverSdk(isolated.port, DEMO_APP).trigger("cache-shared", "mine", {});
    const client = await RawClient.connect(isolated.port, other.key);
    await client.event("pusher:connection_established");
    client.send({ event: "pusher:subscribe", data: { channel: "cache-shared" } });
    await client.event("pusher:cache_miss");
    client.close();
    await isolated.stop();
  });
});
