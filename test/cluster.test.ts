/**
 * Several Herald nodes on one Redis behave as one server: a throwaway
 * redis-server and two nodes as child processes, clients spread over both.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RawClient, connected, nextCall, pusherClient, serverSdk, signedIn, sleep, subscribed, type Pusher } from "./helpers/clients.js";
import { DEMO_APP, startHerald, type AppConfig, type Herald } from "./helpers/herald.js";
import { SKIP_REDIS_TESTS, startRedis, startRedisCluster, startSentinel, type RedisServer } from "./helpers/redis.js";
import { startWebhookReceiver, type WebhookReceiver } from "./helpers/webhook-receiver.js";

let redis: RedisServer;
let nodeA: Herald;
let nodeB: Herald;
let receiver: WebhookReceiver;
let hooked: AppConfig;
const counted: AppConfig = { id: "cl-counted", key: "cl-counted-key", secret: "cl-counted-secret", enableSubscriptionCount: true };
const small: AppConfig = { id: "cl-small", key: "cl-small-key", secret: "cl-small-secret", maxPresenceMembersPerChannel: 2 };
const quota: AppConfig = { id: "cl-quota", key: "cl-quota-key", secret: "cl-quota-secret", maxConnections: 2 };

beforeAll(async () => {
  if (SKIP_REDIS_TESTS) return;
  redis = await startRedis();
  receiver = await startWebhookReceiver();
  hooked = { id: "cl-hooked", key: "cl-hooked-key", secret: "cl-hooked-secret", webhooks: [{ url: receiver.url, event_types: ["channel_occupied", "channel_vacated", "member_added", "member_removed"] }] };
  const apps = [DEMO_APP, hooked, counted, small, quota];
  [nodeA, nodeB] = await Promise.all([
    startHerald({ apps, args: ["--redis", redis.url] }),
    startHerald({ apps, args: ["--redis", redis.url] }),
  ]);
});
afterAll(async () => {
  if (SKIP_REDIS_TESTS) return;
  await Promise.all([nodeA?.stop(), nodeB?.stop()]);
  await redis?.kill();
  await receiver?.close();
});

/** The channel webhooks received so far for `channel`, checked with the pusher SDK. */
function occupancyEvents(channel: string): string[] {
  return receiver.received
    .flatMap((request) => {
      const webhook = serverSdk(nodeA.port, hooked).webhook({ headers: request.headers as Record<string, string>, rawBody: request.rawBody });
      expect(webhook.isValid()).toBe(true);
      return webhook.getEvents() as unknown as Array<{ name: string; channel: string }>;
    })
    .filter((event) => event.channel === channel)
    .map((event) => event.name);
}

async function subscriptionCountOn(node: Herald, channel: string): Promise<number> {
  const response = await serverSdk(node.port, DEMO_APP).get({ path: `/channels/${channel}`, params: { info: "subscription_count" } });
  return ((await response.json()) as { subscription_count: number }).subscription_count;
}

/** Records every event a pusher-js client gets on a channel. */
function record(client: Pusher, channel: string): Array<{ event: string; data: unknown }> {
  const seen: Array<{ event: string; data: unknown }> = [];
  client.channel(channel).bind_global((event: string, data: unknown) => {
    if (!event.startsWith("pusher")) seen.push({ event, data });
  });
  return seen;
}

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe.skipIf(SKIP_REDIS_TESTS)("a cluster of two nodes", () => {
  it("delivers an event published through either node to the subscribers of both, exactly once", async () => {
    const onA = pusherClient(nodeA.port, DEMO_APP);
    const onB = pusherClient(nodeB.port, DEMO_APP);
    await Promise.all([subscribed(onA, "cl-news"), subscribed(onB, "cl-news")]);
    const seenA = record(onA, "cl-news");
    const seenB = record(onB, "cl-news");
    await serverSdk(nodeA.port, DEMO_APP).trigger("cl-news", "from-a", { n: 1 });
    await serverSdk(nodeB.port, DEMO_APP).trigger("cl-news", "from-b", { n: 2 });
    await until(() => seenA.length >= 2 && seenB.length >= 2, "both events on both nodes");
    await sleep(200);
    for (const seen of [seenA, seenB]) {
      expect(seen.map((e) => e.event).sort()).toEqual(["from-a", "from-b"]);
    }
    onA.disconnect();
    onB.disconnect();
  });

  it("excludes the socket_id given to the API whichever node holds that socket", async () => {
    const onA = pusherClient(nodeA.port, DEMO_APP);
    const onB = pusherClient(nodeB.port, DEMO_APP);
    await Promise.all([subscribed(onA, "cl-others"), subscribed(onB, "cl-others")]);
    const seenA = record(onA, "cl-others");
    const seenB = record(onB, "cl-others");
    await serverSdk(nodeA.port, DEMO_APP).trigger("cl-others", "to-others", {}, { socket_id: onB.connection.socket_id });
    await until(() => seenA.length === 1, "the event on node A");
    await sleep(200);
    expect(seenB).toEqual([]);
    onA.disconnect();
    onB.disconnect();
  });

  it("relays client events to subscribers on the other node, not back to the sender", async () => {
    const sender = pusherClient(nodeA.port, DEMO_APP);
    const receiver = pusherClient(nodeB.port, DEMO_APP);
    await Promise.all([subscribed(sender, "private-cl-chat"), subscribed(receiver, "private-cl-chat")]);
    const got = nextCall<unknown>();
    receiver.channel("private-cl-chat").bind("client-typing", got.callback);
    const echoed = record(sender, "private-cl-chat");
    sender.channel("private-cl-chat").trigger("client-typing", { who: "a" });
    expect(await got.promise).toEqual({ who: "a" });
    await sleep(100);
    expect(echoed).toEqual([]);
    sender.disconnect();
    receiver.disconnect();
  });

  it("carries sendToUser and terminate_connections to the node that holds the user", async () => {
    const user = pusherClient(nodeB.port, DEMO_APP, { signinAs: { id: "cl-user" } });
    await signedIn(user);
    const bystander = pusherClient(nodeB.port, DEMO_APP);
    await connected(bystander);
    const got = nextCall<unknown>();
    user.user.bind("notice", got.callback);
    const sdkOnA = serverSdk(nodeA.port, DEMO_APP);
    await sdkOnA.sendToUser("cl-user", "notice", { text: "hi" });
    expect(await got.promise).toEqual({ text: "hi" });

    const closed = nextCall<number>();
    user.connection.bind("error", (error: { data?: { code: number } }) => closed.callback(error.data?.code ?? 0));
    await sdkOnA.terminateUserConnections("cl-user");
    expect(await closed.promise).toBe(4009);
    await sleep(100);
    expect(bystander.connection.state).toBe("connected");
    user.disconnect();
    bystander.disconnect();
  });

  it("sends watchlist events across nodes", async () => {
    const watcher = pusherClient(nodeA.port, DEMO_APP, { signinAs: { id: "cl-watcher", watchlist: ["cl-watched"] } });
    const events: Array<{ name: string; user_ids: string[] }> = [];
    watcher.user.watchlist.bind("online", (event: { name: string; user_ids: string[] }) => events.push(event));
    watcher.user.watchlist.bind("offline", (event: { name: string; user_ids: string[] }) => events.push(event));
    await signedIn(watcher);
    const watched = pusherClient(nodeB.port, DEMO_APP, { signinAs: { id: "cl-watched" } });
    await signedIn(watched);
    await until(() => events.length === 1, "online");
    // A second connection of the same user, on the other node: still one user, online once.
    const secondTab = pusherClient(nodeA.port, DEMO_APP, { signinAs: { id: "cl-watched" } });
    await signedIn(secondTab);
    watched.disconnect();
    await sleep(300);
    expect(events).toHaveLength(1);
    const lateWatcher = pusherClient(nodeB.port, DEMO_APP, { signinAs: { id: "cl-late", watchlist: ["cl-watched"] } });
    const lateEvents: Array<{ name: string; user_ids: string[] }> = [];
    lateWatcher.user.watchlist.bind("online", (event: { name: string; user_ids: string[] }) => lateEvents.push(event));
    await signedIn(lateWatcher);
    await until(() => lateEvents.length === 1, "the late watcher to hear who is online");
    expect(lateEvents).toEqual([{ name: "online", user_ids: ["cl-watched"] }]);
    lateWatcher.disconnect();
    secondTab.disconnect();
    await until(() => events.length === 2, "offline");
    expect(events).toEqual([
      { name: "online", user_ids: ["cl-watched"] },
      { name: "offline", user_ids: ["cl-watched"] },
    ]);
    watcher.disconnect();
  });

  it("gives each node its own socket_id prefix", async () => {
    const sockets = await Promise.all([nodeA, nodeB, nodeA, nodeB].map(async (node) => {
      const client = await RawClient.connect(node.port);
      const socketId = await client.socketId();
      client.close();
      return socketId;
    }));
    const prefixes = sockets.map((id) => id.split(".")[0]);
    expect(prefixes[0]).toBe(prefixes[2]);
    expect(prefixes[1]).toBe(prefixes[3]);
    expect(prefixes[0]).not.toBe(prefixes[1]);
    expect(new Set(sockets).size).toBe(4);
  });

  it("answers channel lists and subscription counts from cluster state, the same on every node", async () => {
    const clients = [pusherClient(nodeA.port, DEMO_APP), pusherClient(nodeA.port, DEMO_APP), pusherClient(nodeB.port, DEMO_APP)];
    await Promise.all(clients.map((client) => subscribed(client, "cl-counted")));
    for (const node of [nodeA, nodeB]) {
      await expect.poll(() => subscriptionCountOn(node, "cl-counted")).toBe(3);
      const list = await serverSdk(node.port, DEMO_APP).get({ path: "/channels", params: { filter_by_prefix: "cl-count" } });
      expect(await list.json()).toEqual({ channels: { "cl-counted": {} } });
      const triggered = await serverSdk(node.port, DEMO_APP).trigger("cl-counted", "ping", {}, { info: "subscription_count" });
      expect(await triggered.json()).toEqual({ channels: { "cl-counted": { subscription_count: 3 } } });
    }
    clients[2]!.disconnect();
    await expect.poll(() => subscriptionCountOn(nodeA, "cl-counted")).toBe(2);
    for (const client of clients) client.disconnect();
    await expect.poll(() => subscriptionCountOn(nodeB, "cl-counted")).toBe(0);
    const list = await serverSdk(nodeB.port, DEMO_APP).get({ path: "/channels", params: { filter_by_prefix: "cl-count" } });
    expect(await list.json()).toEqual({ channels: {} });
  });

  it("sends subscription counts for the whole cluster to subscribers on every node", async () => {
    const onA = pusherClient(nodeA.port, counted);
    const counts: number[] = [];
    onA.subscribe("cl-tally").bind("pusher:subscription_count", (data: { subscription_count: number }) => counts.push(data.subscription_count));
    await until(() => counts.length === 1, "the first count");
    const onB = pusherClient(nodeB.port, counted);
    await subscribed(onB, "cl-tally");
    await until(() => counts.at(-1) === 2, "the count of 2 on node A");
    onB.disconnect();
    await until(() => counts.at(-1) === 1, "the count back to 1 on node A");
    expect(counts).toEqual([1, 2, 1]);
    onA.disconnect();
  });

  it("shares presence: members on every node, member_added/removed once per user across nodes and tabs, the same users everywhere", async () => {
    const ada = pusherClient(nodeA.port, DEMO_APP, { user: { user_id: "ada", user_info: { name: "Ada" } } });
    await subscribed(ada, "presence-cl-room");
    const added: string[] = [];
    const removed: string[] = [];
    ada.channel("presence-cl-room").bind("pusher:member_added", (member: { id: string }) => added.push(member.id));
    ada.channel("presence-cl-room").bind("pusher:member_removed", (member: { id: string }) => removed.push(member.id));

    const bob = pusherClient(nodeB.port, DEMO_APP, { user: { user_id: "bob", user_info: { name: "Bob" } } });
    const bobView = (await subscribed(bob, "presence-cl-room")) as { count: number; members: Record<string, unknown> };
    expect(bobView.count).toBe(2);
    expect(bobView.members).toEqual({ ada: { name: "Ada" }, bob: { name: "Bob" } });
    await until(() => added.length === 1, "member_added for bob on node A");

    // Ada opens a second tab, through node B: nobody hears of it.
    const adaTab = pusherClient(nodeB.port, DEMO_APP, { user: { user_id: "ada", user_info: { name: "Ada" } } });
    await subscribed(adaTab, "presence-cl-room");
    for (const node of [nodeA, nodeB]) {
      const sdk = serverSdk(node.port, DEMO_APP);
      expect(await (await sdk.get({ path: "/channels/presence-cl-room/users" })).json()).toEqual({ users: expect.arrayContaining([{ id: "ada" }, { id: "bob" }]) });
      expect(await (await sdk.get({ path: "/channels/presence-cl-room", params: { info: "user_count" } })).json()).toEqual({ occupied: true, user_count: 2 });
    }
    bob.disconnect();
    await until(() => removed.length === 1, "member_removed for bob on node A");
    ada.disconnect();
    await sleep(300);
    const bobsEye = pusherClient(nodeB.port, DEMO_APP, { user: { user_id: "carl" } });
    const view = (await subscribed(bobsEye, "presence-cl-room")) as { members: Record<string, unknown> };
    expect(Object.keys(view.members).sort()).toEqual(["ada", "carl"]);
    expect(added).toEqual(["bob"]);
    expect(removed).toEqual(["bob"]);
    adaTab.disconnect();
    bobsEye.disconnect();
  });

  it("counts maxPresenceMembersPerChannel over the whole cluster", async () => {
    const first = pusherClient(nodeA.port, small, { user: { user_id: "1" } });
    const second = pusherClient(nodeB.port, small, { user: { user_id: "2" } });
    await subscribed(first, "presence-cl-full");
    await subscribed(second, "presence-cl-full");
    const third = pusherClient(nodeA.port, small, { user: { user_id: "3" } });
    const refused = nextCall<{ type: string; status: number }>();
    third.subscribe("presence-cl-full").bind("pusher:subscription_error", refused.callback);
    expect(await refused.promise).toMatchObject({ type: "LimitReached", status: 403 });
    const users = await (await serverSdk(nodeB.port, small).get({ path: "/channels/presence-cl-full/users" })).json();
    expect(users).toEqual({ users: expect.arrayContaining([{ id: "1" }, { id: "2" }]) });
    for (const client of [first, second, third]) client.disconnect();
  });

  it("counts the app's maxConnections over the whole cluster (as seen within 6 s)", { timeout: 15_000 }, async () => {
    const first = await RawClient.connect(nodeA.port, quota.key);
    const second = await RawClient.connect(nodeB.port, quota.key);
    await Promise.all([first.socketId(), second.socketId()]);
    // Node A learns of node B's connection at the next exchange of counts.
    const deadline = Date.now() + 8000;
    let refusedWith: number | undefined;
    while (refusedWith === undefined && Date.now() < deadline) {
      const third = await RawClient.connect(nodeA.port, quota.key);
      await sleep(300);
      if (third.frames.some((frame) => frame.event === "pusher:error")) refusedWith = await third.closed();
      else third.close();
    }
    expect(refusedWith).toBe(4004);
    first.close();
    second.close();
  });

  it("shares cache channels: an event published through one node is replayed to subscribers of another", async () => {
    await serverSdk(nodeA.port, DEMO_APP).trigger("cache-cl-price", "tick", { price: 7 });
    const onB = pusherClient(nodeB.port, DEMO_APP);
    const replayed = nextCall<unknown>();
    onB.subscribe("cache-cl-price").bind("tick", replayed.callback);
    expect(await replayed.promise).toEqual({ price: 7 });
    const missed = nextCall<unknown>();
    onB.subscribe("cache-cl-empty").bind("pusher:cache_miss", missed.callback);
    await missed.promise;
    const info = await (await serverSdk(nodeB.port, DEMO_APP).get({ path: "/channels/cache-cl-price", params: { info: "cache" } })).json();
    expect(info).toMatchObject({ cache: { event: "tick", data: '{"price":7}' } });
    expect((info as { cache: { ttl: number } }).cache.ttl).toBeGreaterThan(1700);
    onB.disconnect();
  });

  it("fires member_added/member_removed webhooks once per cluster transition, and neither for a reload onto another node", { timeout: 15_000 }, async () => {
    const stayer = pusherClient(nodeA.port, hooked, { user: { user_id: "stayer" } });
    await subscribed(stayer, "presence-cl-hooks");
    const mover = pusherClient(nodeA.port, hooked, { user: { user_id: "mover" } });
    await subscribed(mover, "presence-cl-hooks");
    await until(() => occupancyEvents("presence-cl-hooks").filter((name) => name === "member_added").length === 2, "two member_added");
    mover.disconnect();
    await sleep(300);
    const moved = pusherClient(nodeB.port, hooked, { user: { user_id: "mover" } });
    await subscribed(moved, "presence-cl-hooks");
    await sleep(3500);
    expect(occupancyEvents("presence-cl-hooks")).toEqual(["channel_occupied", "member_added", "member_added"]);
    moved.disconnect();
    await until(() => occupancyEvents("presence-cl-hooks").includes("member_removed"), "member_removed after the hold", 6000);
    stayer.disconnect();
  });

  it("fires channel_occupied and channel_vacated once per cluster transition, and neither for a reload onto another node", { timeout: 15_000 }, async () => {
    const onA = pusherClient(nodeA.port, hooked);
    const onB = pusherClient(nodeB.port, hooked);
    await subscribed(onA, "cl-room");
    await subscribed(onB, "cl-room");
    await until(() => occupancyEvents("cl-room").length === 1, "channel_occupied");
    onA.disconnect();
    await sleep(500);
    // A page reload: the last subscriber leaves node B and comes back through node A.
    onB.disconnect();
    await sleep(300);
    const reloaded = pusherClient(nodeA.port, hooked);
    await subscribed(reloaded, "cl-room");
    await sleep(3500);
    expect(occupancyEvents("cl-room")).toEqual(["channel_occupied"]);
    reloaded.disconnect();
    await until(() => occupancyEvents("cl-room").length === 2, "channel_vacated", 6000);
    await sleep(300);
    expect(occupancyEvents("cl-room")).toEqual(["channel_occupied", "channel_vacated"]);
  });

  it("notices a node killed without warning within 15 s and clears its counts, firing channel_vacated once", { timeout: 30_000 }, async () => {
    const nodeC = await startHerald({ apps: [DEMO_APP, hooked], args: ["--redis", redis.url] });
    const onA = pusherClient(nodeA.port, DEMO_APP);
    const onC = [pusherClient(nodeC.port, DEMO_APP), pusherClient(nodeC.port, DEMO_APP)];
    const hookedOnC = pusherClient(nodeC.port, hooked);
    const memberOnC = pusherClient(nodeC.port, hooked, { user: { user_id: "doomed" } });
    const memberOnA = pusherClient(nodeA.port, hooked, { user: { user_id: "survivor" } });
    await Promise.all([
      subscribed(onA, "cl-shared"),
      ...onC.map((client) => subscribed(client, "cl-shared")),
      subscribed(hookedOnC, "cl-doomed"),
      subscribed(memberOnC, "presence-cl-doomed"),
    ]);
    await subscribed(memberOnA, "presence-cl-doomed");
    const watcherOnA = pusherClient(nodeA.port, hooked, { signinAs: { id: "watching", watchlist: ["doomed-user"] } });
    const watchEvents: string[] = [];
    watcherOnA.user.watchlist.bind("offline", (event: { user_ids: string[] }) => watchEvents.push(`offline:${event.user_ids.join()}`));
    watcherOnA.user.watchlist.bind("online", (event: { user_ids: string[] }) => watchEvents.push(`online:${event.user_ids.join()}`));
    await signedIn(watcherOnA);
    const signedInOnC = pusherClient(nodeC.port, hooked, { signinAs: { id: "doomed-user" } });
    await signedIn(signedInOnC);
    await until(() => watchEvents.length === 1, "online for the user on node C");
    const gone = nextCall<{ id: string }>(20_000);
    memberOnA.channel("presence-cl-doomed").bind("pusher:member_removed", gone.callback);
    await expect.poll(() => subscriptionCountOn(nodeA, "cl-shared")).toBe(3);
    await until(() => occupancyEvents("cl-doomed").length === 1, "channel_occupied");

    const killedAt = Date.now();
    nodeC.process.kill("SIGKILL");
    await expect.poll(() => subscriptionCountOn(nodeB, "cl-shared"), { timeout: 15_000, interval: 200 }).toBe(1);
    expect(Date.now() - killedAt).toBeLessThan(15_000);
    await until(() => occupancyEvents("cl-doomed").length === 2, "channel_vacated for the dead node's channel", 8000);
    await sleep(500);
    expect(occupancyEvents("cl-doomed")).toEqual(["channel_occupied", "channel_vacated"]);
    const list = await (await serverSdk(nodeA.port, hooked).get({ path: "/channels" })).json();
    expect(Object.keys((list as { channels: Record<string, unknown> }).channels)).not.toContain("cl-doomed");
    expect([...nodeA.logs, ...nodeB.logs].filter((line) => line.msg.includes("stopped answering"))).toHaveLength(1);
    expect(await gone.promise).toMatchObject({ id: "doomed" });
    await until(() => watchEvents.length === 2, "offline for the user of the dead node");
    expect(watchEvents).toEqual(["online:doomed-user", "offline:doomed-user"]);
    const users = await (await serverSdk(nodeB.port, hooked).get({ path: "/channels/presence-cl-doomed/users" })).json();
    expect(users).toEqual({ users: [{ id: "survivor" }] });
    await until(() => occupancyEvents("presence-cl-doomed").includes("member_removed"), "the member_removed webhook", 6000);
    expect(occupancyEvents("presence-cl-doomed").filter((name) => name === "member_removed")).toEqual(["member_removed"]);
    for (const client of [onA, ...onC, hookedOnC, memberOnC, memberOnA, watcherOnA, signedInOnC]) client.disconnect();
  });

  it("keeps serving local clients while Redis is down and joins up again when it returns", { timeout: 20_000 }, async () => {
    const onA = pusherClient(nodeA.port, DEMO_APP);
    const onB = pusherClient(nodeB.port, DEMO_APP);
    await Promise.all([subscribed(onA, "cl-outage"), subscribed(onB, "cl-outage")]);
    const seenA = record(onA, "cl-outage");
    const seenB = record(onB, "cl-outage");

    await redis.kill();
    await until(() => nodeA.logs.some((line) => line.msg.includes("is unreachable")), "node A to report the outage");
    const notReady = await fetch(`http://127.0.0.1:${nodeA.port}/ready`);
    expect(notReady.status).toBe(503);
    expect(((await notReady.json()) as { reason: string }).reason).toContain("is unreachable");
    await serverSdk(nodeA.port, DEMO_APP).trigger("cl-outage", "during", {});
    await until(() => seenA.length === 1, "local delivery on node A");
    const lateSubscriber = pusherClient(nodeB.port, DEMO_APP);
    await subscribed(lateSubscriber, "cl-outage-local");

    await redis.start();
    await until(() => [nodeA, nodeB].every((node) => node.logs.some((line) => line.msg.includes("is reachable again"))), "both nodes to reconnect", 10_000);
    expect((await fetch(`http://127.0.0.1:${nodeA.port}/ready`)).status).toBe(200);
    await serverSdk(nodeA.port, DEMO_APP).trigger("cl-outage", "after", {});
    await until(() => seenB.some((e) => e.event === "after"), "cross-node delivery after the outage");
    expect(seenB.map((e) => e.event)).toEqual(["after"]);
    // Redis came back empty; each node wrote its share again, and a new node gets a number no live node has.
    const numbers = new Set([nodeA, nodeB].map((node) => node.logs.find((line) => typeof line.node === "number")!.node));
    const joined = await startHerald({ args: ["--redis", redis.url] });
    expect(numbers.has(joined.logs.find((line) => typeof line.node === "number")!.node)).toBe(false);
    await joined.stop();
    await expect.poll(() => subscriptionCountOn(nodeB, "cl-outage")).toBe(2);
    await expect.poll(() => subscriptionCountOn(nodeA, "cl-outage-local")).toBe(1);
    for (const client of [onA, onB, lateSubscriber]) client.disconnect();
  });

  it("leaves no stale member or user behind when a node's users left while Redis was away and Redis kept its data", { timeout: 45_000 }, async () => {
    const durable = await startRedis({ persist: true });
    const [first, second] = await Promise.all([
      startHerald({ args: ["--redis", durable.url] }),
      startHerald({ args: ["--redis", durable.url] }),
    ]);
    try {
      const ada = pusherClient(first.port, DEMO_APP, { user: { user_id: "ada" }, signinAs: { id: "ada", watchlist: ["bob"] } });
      const watch: string[] = [];
      ada.user.watchlist.bind("offline", (event: { user_ids: string[] }) => watch.push(`offline:${event.user_ids.join()}`));
      await signedIn(ada);
      await subscribed(ada, "presence-cl-stale");
      // From here: the outage, 11 s of it, the reconnect and the resync 4 s later; room for a loaded machine.
      const removed = nextCall<{ id: string }>(30_000);
      ada.channel("presence-cl-stale").bind("pusher:member_removed", removed.callback);
      const bob = pusherClient(second.port, DEMO_APP, { user: { user_id: "bob" }, signinAs: { id: "bob" } });
      await signedIn(bob);
      await subscribed(bob, "presence-cl-stale");

      await durable.kill();
      await until(() => second.logs.some((line) => line.msg.includes("is unreachable")), "the outage");
      bob.disconnect();
      // Longer than a node's silence allowance: on reconnect, nobody may be taken for dead.
      await sleep(11_000);
      await durable.start();
      await until(() => [first, second].every((node) => node.logs.some((line) => line.msg.includes("is reachable again"))), "both nodes to reconnect", 10_000);

      expect(await removed.promise).toMatchObject({ id: "bob" });
      await until(() => watch.includes("offline:bob"), "bob's watchers to hear he went offline");
      const users = await (await serverSdk(first.port, DEMO_APP).get({ path: "/channels/presence-cl-stale/users" })).json();
      expect(users).toEqual({ users: [{ id: "ada" }] });
      await sleep(3500);
      expect([...first.logs, ...second.logs].filter((line) => line.msg.includes("stopped answering"))).toEqual([]);
      ada.disconnect();
    } finally {
      await Promise.all([first.stop(), second.stop()]);
      await durable.kill();
    }
  });

  it("finds Redis through Redis Sentinel with --redis-sentinels", { timeout: 20_000 }, async () => {
    const master = await startRedis();
    const sentinel = await startSentinel(master);
    const args = ["--redis-sentinels", sentinel.address, "--redis-sentinel-name", "mymaster"];
    const [first, second] = await Promise.all([startHerald({ args }), startHerald({ args })]);
    try {
      expect(first.logs.find((line) => line.msg.startsWith("Herald listening"))).toMatchObject({ cluster: true });
      const onSecond = pusherClient(second.port, DEMO_APP);
      await subscribed(onSecond, "cl-sentinel");
      const got = nextCall<unknown>();
      onSecond.channel("cl-sentinel").bind("hello", got.callback);
      await serverSdk(first.port, DEMO_APP).trigger("cl-sentinel", "hello", { via: "sentinel" });
      expect(await got.promise).toEqual({ via: "sentinel" });
      onSecond.disconnect();
    } finally {
      await Promise.all([first.stop(), second.stop()]);
      sentinel.stop();
      await master.kill();
    }
  });

  it("runs on a Redis Cluster with --redis-cluster", { timeout: 30_000 }, async () => {
    const redisCluster = await startRedisCluster();
    const args = ["--redis-cluster", redisCluster.nodes];
    const [first, second] = await Promise.all([startHerald({ args }), startHerald({ args })]);
    try {
      const ada = pusherClient(first.port, DEMO_APP, { user: { user_id: "ada" } });
      await subscribed(ada, "presence-cl-sharded");
      const joined = nextCall<{ id: string }>();
      ada.channel("presence-cl-sharded").bind("pusher:member_added", joined.callback);
      const bob = pusherClient(second.port, DEMO_APP, { user: { user_id: "bob" } });
      const view = (await subscribed(bob, "presence-cl-sharded")) as { count: number };
      expect(view.count).toBe(2);
      expect(await joined.promise).toMatchObject({ id: "bob" });
      const got = nextCall<unknown>();
      bob.channel("presence-cl-sharded").bind("news", got.callback);
      const response = await serverSdk(first.port, DEMO_APP).trigger("presence-cl-sharded", "news", { n: 1 }, { info: "user_count,subscription_count" });
      expect(await response.json()).toEqual({ channels: { "presence-cl-sharded": { user_count: 2, subscription_count: 2 } } });
      expect(await got.promise).toEqual({ n: 1 });
      ada.disconnect();
      bob.disconnect();
    } finally {
      await Promise.all([first.stop(), second.stop()]);
      redisCluster.stop();
    }
  });
});
