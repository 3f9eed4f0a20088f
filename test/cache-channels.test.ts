/** Cache channels: the last API event replayed to new subscribers, or pusher:cache_miss. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import nacl from "tweetnacl";
import { RawClient, connected, nextCall, pusherClient, serverSdk, subscribed } from "./helpers/clients.js";
import { DEMO_APP, startHerald, type Herald } from "./helpers/herald.js";

let herald: Herald;
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
