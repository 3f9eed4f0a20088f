/**
 * Cluster state shared through Redis: channel lists and counts, presence, limits, cache channels and the webhooks of cluster transitions.
 */
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { leavingKey, vacatingKey } from "../src/cluster/redis-keys.js";
import { RawClient, nextCall, pusherClient, serverSdk, subscribed, disconnected } from "./helpers/clients.js";
import { counted, occupancyEvents, quota, small, subscriptionCountOn, until, useTwoNodes } from "./helpers/cluster-nodes.js";
import { hmacSha256Hex } from "../src/protocol/signatures.js";
import { DEMO_APP } from "./helpers/herald.js";
import { SKIP_REDIS_TESTS } from "./helpers/redis.js";

const cluster = useTwoNodes();

describe.skipIf(SKIP_REDIS_TESTS)("a cluster of two nodes: shared state", () => {
  it("answers channel lists and subscription counts from cluster state, the same on every node", async () => {
    const clients = [pusherClient(cluster.nodeA.port, DEMO_APP), pusherClient(cluster.nodeA.port, DEMO_APP), pusherClient(cluster.nodeB.port, DEMO_APP)];
    await Promise.all(clients.map((client) => subscribed(client, "cl-counted")));
    for (const node of [cluster.nodeA, cluster.nodeB]) {
      await expect.poll(() => subscriptionCountOn(node, "cl-counted"), { timeout: 5000 }).toBe(3);
      const list = await serverSdk(node.port, DEMO_APP).get({ path: "/channels", params: { filter_by_prefix: "cl-count" } });
      expect(await list.json()).toEqual({ channels: { "cl-counted": {} } });
      const triggered = await serverSdk(node.port, DEMO_APP).trigger("cl-counted", "ping", {}, { info: "subscription_count" });
      expect(await triggered.json()).toEqual({ channels: { "cl-counted": { subscription_count: 3 } } });
    }
    clients[2]!.disconnect();
    await expect.poll(() => subscriptionCountOn(cluster.nodeA, "cl-counted"), { timeout: 5000 }).toBe(2);
    for (const client of clients) client.disconnect();
    await expect.poll(() => subscriptionCountOn(cluster.nodeB, "cl-counted"), { timeout: 5000 }).toBe(0);
    const list = await serverSdk(cluster.nodeB.port, DEMO_APP).get({ path: "/channels", params: { filter_by_prefix: "cl-count" } });
    expect(await list.json()).toEqual({ channels: {} });
  });

  it("sends subscription counts for the whole cluster to subscribers on every node", async () => {
    const onA = pusherClient(cluster.nodeA.port, counted);
    const counts: number[] = [];
    onA.subscribe("cl-tally").bind("pusher:subscription_count", (data: { subscription_count: number }) => counts.push(data.subscription_count));
    await until(() => counts.length === 1, "the first count");
    const onB = pusherClient(cluster.nodeB.port, counted);
    await subscribed(onB, "cl-tally");
    await until(() => counts.at(-1) === 2, "the count of 2 on node A");
    onB.disconnect();
    await until(() => counts.at(-1) === 1, "the count back to 1 on node A");
    expect(counts).toEqual([1, 2, 1]);
    onA.disconnect();
  });

  it("shares presence: members on every node, member_added/removed once per user across nodes and tabs, the same users everywhere", async () => {
    const ada = pusherClient(cluster.nodeA.port, DEMO_APP, { user: { user_id: "ada", user_info: { name: "Ada" } } });
    await subscribed(ada, "presence-cl-room");
    const added: string[] = [];
    const removed: string[] = [];
    ada.channel("presence-cl-room").bind("pusher:member_added", (member: { id: string }) => added.push(member.id));
    ada.channel("presence-cl-room").bind("pusher:member_removed", (member: { id: string }) => removed.push(member.id));

    const bob = pusherClient(cluster.nodeB.port, DEMO_APP, { user: { user_id: "bob", user_info: { name: "Bob" } } });
    const bobView = (await subscribed(bob, "presence-cl-room")) as { count: number; members: Record<string, unknown> };
    expect(bobView.count).toBe(2);
    expect(bobView.members).toEqual({ ada: { name: "Ada" }, bob: { name: "Bob" } });
    await until(() => added.length === 1, "member_added for bob on node A");

    // Ada opens a second tab, through node B: nobody hears of it.
    const adaTab = pusherClient(cluster.nodeB.port, DEMO_APP, { user: { user_id: "ada", user_info: { name: "Ada" } } });
    await subscribed(adaTab, "presence-cl-room");
    const removedForTab: string[] = [];
    adaTab.channel("presence-cl-room").bind("pusher:member_removed", (member: { id: string }) => removedForTab.push(member.id));
    for (const node of [cluster.nodeA, cluster.nodeB]) {
      const sdk = serverSdk(node.port, DEMO_APP);
      expect(await (await sdk.get({ path: "/channels/presence-cl-room/users" })).json()).toEqual({ users: expect.arrayContaining([{ id: "ada" }, { id: "bob" }]) });
      expect(await (await sdk.get({ path: "/channels/presence-cl-room", params: { info: "user_count" } })).json()).toEqual({ occupied: true, user_count: 2 });
    }
    // Dora, on node A, is the marker: she leaves after Ada's first tab, from the same node.
    const dora = pusherClient(cluster.nodeA.port, DEMO_APP, { user: { user_id: "dora" } });
    await subscribed(dora, "presence-cl-room");
    bob.disconnect();
    await until(() => removed.length === 1, "member_removed for bob on node A");
    await disconnected(ada);
    await disconnected(dora);
    // Node A handles departures in order: a member_removed for Ada would have come before Dora's.
    await until(() => removedForTab.includes("dora"), "member_removed for the marker, dora");
    expect(removedForTab).toEqual(["bob", "dora"]);
    const bobsEye = pusherClient(cluster.nodeB.port, DEMO_APP, { user: { user_id: "carl" } });
    const view = (await subscribed(bobsEye, "presence-cl-room")) as { members: Record<string, unknown> };
    expect(Object.keys(view.members).sort()).toEqual(["ada", "carl"]);
    expect(added).toEqual(["bob", "dora"]);
    expect(removed).toEqual(["bob"]);
    adaTab.disconnect();
    bobsEye.disconnect();
  });

  it("answers a repeated presence subscribe with the members of every node", async () => {
    const raw = await RawClient.connect(cluster.nodeA.port, DEMO_APP.key);
    const socketId = await raw.socketId();
    const channel = "presence-cl-again";
    const channelData = JSON.stringify({ user_id: "ada", user_info: { name: "Ada" } });
    const subscribe = { event: "pusher:subscribe", data: { channel, auth: `${DEMO_APP.key}:${hmacSha256Hex(DEMO_APP.secret, `${socketId}:${channel}:${channelData}`)}`, channel_data: channelData } };
    raw.send(subscribe);
    await raw.event("pusher_internal:subscription_succeeded");
    const bob = pusherClient(cluster.nodeB.port, DEMO_APP, { user: { user_id: "bob" } });
    await subscribed(bob, channel);
    await raw.next((frame) => frame.event === "pusher_internal:member_added");
    raw.send(subscribe);
    const again = await raw.event("pusher_internal:subscription_succeeded");
    expect(JSON.parse(again.data as string)).toEqual({ presence: { ids: ["ada", "bob"], hash: { ada: { name: "Ada" }, bob: null }, count: 2 } });
    raw.close();
    bob.disconnect();
  });

  it("counts maxPresenceMembersPerChannel over the whole cluster", async () => {
    const first = pusherClient(cluster.nodeA.port, small, { user: { user_id: "1" } });
    const second = pusherClient(cluster.nodeB.port, small, { user: { user_id: "2" } });
    await subscribed(first, "presence-cl-full");
    await subscribed(second, "presence-cl-full");
    const third = pusherClient(cluster.nodeA.port, small, { user: { user_id: "3" } });
    const refused = nextCall<{ type: string; status: number }>();
    third.subscribe("presence-cl-full").bind("pusher:subscription_error", refused.callback);
    expect(await refused.promise).toMatchObject({ type: "LimitReached", status: 403 });
    const users = await (await serverSdk(cluster.nodeB.port, small).get({ path: "/channels/presence-cl-full/users" })).json();
    expect(users).toEqual({ users: expect.arrayContaining([{ id: "1" }, { id: "2" }]) });
    for (const client of [first, second, third]) client.disconnect();
  });

  it("counts the app's maxConnections over the whole cluster (as seen within 6 s)", { timeout: 15_000 }, async () => {
    const first = await RawClient.connect(cluster.nodeA.port, quota.key);
    const second = await RawClient.connect(cluster.nodeB.port, quota.key);
    await Promise.all([first.socketId(), second.socketId()]);
    // Node A learns of node B's connection at the next exchange of counts.
    const attempt = async (): Promise<number | undefined> => {
      const third = await RawClient.connect(cluster.nodeA.port, quota.key);
      // Either answer comes first: the refusal or the handshake.
      const answer = await third.next((frame) => frame.event === "pusher:error" || frame.event === "pusher:connection_established");
      if (answer.event === "pusher:error") return await third.closed();
      third.close();
      return undefined;
    };
    await expect.poll(attempt, { timeout: 8000, interval: 300 }).toBe(4004);
    first.close();
    second.close();
  });

  it("shares cache channels: an event published through one node is replayed to subscribers of another", async () => {
    await serverSdk(cluster.nodeA.port, DEMO_APP).trigger("cache-cl-price", "tick", { price: 7 });
    const onB = pusherClient(cluster.nodeB.port, DEMO_APP);
    const replayed = nextCall<unknown>();
    onB.subscribe("cache-cl-price").bind("tick", replayed.callback);
    expect(await replayed.promise).toEqual({ price: 7 });
    const missed = nextCall<unknown>();
    onB.subscribe("cache-cl-empty").bind("pusher:cache_miss", missed.callback);
    await missed.promise;
    const info = await (await serverSdk(cluster.nodeB.port, DEMO_APP).get({ path: "/channels/cache-cl-price", params: { info: "cache" } })).json();
    expect(info).toMatchObject({ cache: { event: "tick", data: '{"price":7}' } });
    expect((info as { cache: { ttl: number } }).cache.ttl).toBeGreaterThan(1700);
    onB.disconnect();
  });

  it("fires member_added/member_removed webhooks once per cluster transition, and neither for a reload onto another node", { timeout: 15_000 }, async () => {
    const stayer = pusherClient(cluster.nodeA.port, cluster.hooked, { user: { user_id: "stayer" } });
    await subscribed(stayer, "presence-cl-hooks");
    const mover = pusherClient(cluster.nodeA.port, cluster.hooked, { user: { user_id: "mover" } });
    await subscribed(mover, "presence-cl-hooks");
    await until(() => occupancyEvents(cluster, "presence-cl-hooks").filter((name) => name === "member_added").length === 2, "two member_added");
    const marker = pusherClient(cluster.nodeA.port, cluster.hooked, { user: { user_id: "marker" } });
    await subscribed(marker, "presence-cl-hooks");
    await disconnected(mover);
    const moved = pusherClient(cluster.nodeB.port, cluster.hooked, { user: { user_id: "mover" } });
    await subscribed(moved, "presence-cl-hooks");
    // The marker leaves node A after the mover did: node A reports departures in the order of their holds.
    await disconnected(marker);
    await until(() => occupancyEvents(cluster, "presence-cl-hooks").includes("member_removed"), "member_removed for the marker", 8000);
    expect(occupancyEvents(cluster, "presence-cl-hooks")).toEqual(["channel_occupied", "member_added", "member_added", "member_added", "member_removed"]);
    moved.disconnect();
    await until(() => occupancyEvents(cluster, "presence-cl-hooks").filter((name) => name === "member_removed").length === 2, "member_removed after the hold", 8000);
    stayer.disconnect();
  });

  it("fires channel_occupied and channel_vacated once per cluster transition, and neither for a reload onto another node", { timeout: 15_000 }, async () => {
    const onA = pusherClient(cluster.nodeA.port, cluster.hooked);
    const onB = pusherClient(cluster.nodeB.port, cluster.hooked);
    await subscribed(onA, "cl-room");
    await subscribed(onB, "cl-room");
    await until(() => occupancyEvents(cluster, "cl-room").length === 1, "channel_occupied");
    // Markers: channels vacated on the same node after the one under test; a node reports
    // departures in the order of their holds, so what they prove absent would have come first.
    const markerOnB = pusherClient(cluster.nodeB.port, cluster.hooked);
    const markerOnA = pusherClient(cluster.nodeA.port, cluster.hooked);
    await Promise.all([subscribed(markerOnB, "cl-marker-b"), subscribed(markerOnA, "cl-marker-a")]);
    await disconnected(onA);
    // A page reload: the last subscriber leaves node B and comes back through node A.
    await disconnected(onB);
    const reloaded = pusherClient(cluster.nodeA.port, cluster.hooked);
    await subscribed(reloaded, "cl-room");
    await disconnected(markerOnB);
    await until(() => occupancyEvents(cluster, "cl-marker-b").includes("channel_vacated"), "channel_vacated for the marker on node B", 8000);
    expect(occupancyEvents(cluster, "cl-room")).toEqual(["channel_occupied"]);
    await disconnected(reloaded);
    await disconnected(markerOnA);
    await until(() => occupancyEvents(cluster, "cl-marker-a").includes("channel_vacated"), "channel_vacated for the marker on node A", 8000);
    expect(occupancyEvents(cluster, "cl-room")).toEqual(["channel_occupied", "channel_vacated"]);
  });

  it("leaves no departure marker in Redis for an app nobody hears (no webhooks, no console)", async () => {
    const client = pusherClient(cluster.nodeA.port, DEMO_APP, { user: { user_id: "quiet" } });
    await Promise.all([subscribed(client, "cl-quiet"), subscribed(client, "presence-cl-quiet")]);
    client.disconnect();
    // Both departures written: the API reads the channels and members from Redis.
    const sdk = serverSdk(cluster.nodeB.port, DEMO_APP);
    const listed = async () => Object.keys(((await (await sdk.get({ path: "/channels", params: { filter_by_prefix: "cl-quiet" } })).json()) as { channels: object }).channels);
    await expect.poll(listed, { timeout: 5000 }).toEqual([]);
    await expect.poll(async () => (await sdk.get({ path: "/channels/presence-cl-quiet/users" })).json(), { timeout: 5000 }).toEqual({ users: [] });
    const redis = new Redis(cluster.redis.url);
    try {
      const markers = [vacatingKey(DEMO_APP.id, "cl-quiet"), vacatingKey(DEMO_APP.id, "presence-cl-quiet"), leavingKey(DEMO_APP.id, "presence-cl-quiet", "quiet")];
      expect(await redis.exists(...markers)).toBe(0);
    } finally {
      redis.disconnect();
    }
  });

});
