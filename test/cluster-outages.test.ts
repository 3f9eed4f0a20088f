/**
 * Redis outages where Redis kept its data. A node writes its members and users again two
 * reconnect delays after Redis is back (the resync). Who arrived while Redis was away and
 * leaves before that was never reported as added, so it is not reported as removed either;
 * the channel's subscribers hear it come and go, and a signed-in user's watchers hear it go
 * online and offline. A resync that another outage overtakes is not sent. A node's
 * subscriptions survive a connection that closes just as they are sent again. And what a
 * survivor's cleanup after a dead node did is reported once when an outage cuts its answers.
 */
import { Redis } from "ioredis";
import { connect, createServer, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { nextCall, pusherClient, serverSdk, signedIn, sleep, subscribed } from "./helpers/clients.js";
import { FAST_TIMINGS_ENV, until, webhookEvents } from "./helpers/cluster-nodes.js";
import { DEMO_APP, startHerald, type AppConfig, type Herald } from "./helpers/herald.js";
import { freePort } from "./helpers/redis-server.js";
import { SKIP_REDIS_TESTS, startRedis } from "./helpers/redis.js";
import { startWebhookReceiver } from "./helpers/webhook-receiver.js";

/** The app's answer keys (redis-keys.ts) in Redis now. */
async function answerKeys(url: string, appId: string): Promise<string[]> {
  const redis = new Redis(url);
  try {
    return await redis.keys(`herald:{${appId}}:answer:*`);
  } finally {
    redis.disconnect();
  }
}

/**
 * A TCP proxy in front of Redis: `dropAll()` closes every connection through it (an outage
 * as the nodes see it); armed with `cutNext(pattern)`, it closes the next connection that
 * sends a chunk matching it, before Redis reads it, and with `{ thenRefuse: true }` closes every
 * connection through it then and after (Redis gone for that node for good); given `cutAnswersTo(patterns)`, it lets the next
 * chunk that matches the first pattern through to Redis, keeps Redis's answers back and
 * closes that connection 200 ms later (an outage that cuts a write's answer: Redis carried
 * it out), then waits for the next pattern.
 */
async function redisProxy(redisUrl: string): Promise<{ url: string; dropAll(): void; cutNext(pattern: RegExp, options?: { thenRefuse: boolean }): void; cut: () => boolean; cutAnswersTo(patterns: RegExp[]): void; answersCut: () => number; close(): void }> {
  const target = new URL(redisUrl);
  const sockets = new Set<Socket>();
  let armed: RegExp | undefined;
  let cut = false;
  let refuseAfterCut = false;
  let answerCuts: RegExp[] = [];
  let answersCut = 0;
  const server = createServer((client) => {
    if (cut && refuseAfterCut) return void client.destroy();
    const upstream = connect(Number(target.port), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => undefined);
    }
    let cutting = false;
    client.on("data", (chunk: Buffer) => {
      if (cutting) return;
      const text = chunk.toString("latin1");
      if (armed?.test(text)) {
        armed = undefined;
        cut = true;
        client.destroy();
        upstream.destroy();
        if (refuseAfterCut) sockets.forEach((socket) => socket.destroy());
        return;
      }
      upstream.write(chunk);
      if (answerCuts[0]?.test(text)) {
        answerCuts.shift();
        cutting = true;
        setTimeout(() => {
          answersCut += 1;
          client.destroy();
          upstream.destroy();
        }, 200);
      }
    });
    upstream.on("data", (chunk: Buffer) => cutting || client.write(chunk));
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  const port = await freePort();
  await new Promise<void>((listening) => server.listen(port, "127.0.0.1", listening));
  return {
    url: `redis://127.0.0.1:${port}`,
    dropAll: () => sockets.forEach((socket) => socket.destroy()),
    cutNext: (pattern, options) => {
      armed = pattern;
      refuseAfterCut = options?.thenRefuse ?? false;
    },
    cut: () => cut,
    cutAnswersTo: (patterns) => (answerCuts = [...patterns]),
    answersCut: () => answersCut,
    close: () => {
      sockets.forEach((socket) => socket.destroy());
      server.close();
    },
  };
}

/**
 * Redis (kept on disk with `persist`), the proxy in front of it, and two nodes of `apps` on the
 * short test timings: `behind` reaches Redis through the proxy, `direct` without it.
 */
async function aroundProxy(options: { persist?: boolean; apps?: AppConfig[] } = {}) {
  const redis = await startRedis({ persist: options.persist });
  const proxy = await redisProxy(redis.url);
  const [behind, direct] = await Promise.all([
    startHerald({ apps: options.apps, args: ["--redis", proxy.url], env: FAST_TIMINGS_ENV }),
    startHerald({ apps: options.apps, args: ["--redis", redis.url], env: FAST_TIMINGS_ENV }),
  ]);
  const stop = async () => {
    await Promise.all([behind.stop(), direct.stop()]);
    proxy.close();
    await redis.kill();
  };
  return { redis, proxy, behind, direct, stop };
}

describe.skipIf(SKIP_REDIS_TESTS)("Redis outages where Redis kept its data", () => {
  it("hears the other nodes again when the connection closes as it subscribes again, and does not stop", { timeout: 30_000 }, async () => {
    const { proxy, behind, direct, stop } = await aroundProxy();
    try {
      const listener = pusherClient(behind.port, DEMO_APP);
      await subscribed(listener, "cl-resubscribed");
      proxy.cutNext(/subscribe/i);
      proxy.dropAll();
      await until(proxy.cut, "the subscribe cut", 10_000);
      await until(() => behind.logs.filter((line) => line.msg.includes("is reachable again")).length > 0, "the node behind the proxy to reconnect", 10_000);
      // Published through the other node, it comes only over Redis: once the node listens again.
      const got = nextCall<unknown>(10_000);
      listener.channel("cl-resubscribed").bind("hello", got.callback);
      const deadline = Date.now() + 10_000;
      let heard: unknown;
      void got.promise.then((data) => (heard = data), () => undefined);
      while (heard === undefined && Date.now() < deadline) {
        await serverSdk(direct.port, DEMO_APP).trigger("cl-resubscribed", "hello", { after: "the cut" });
        await sleep(200);
      }
      expect(await got.promise).toEqual({ after: "the cut" });
      expect(behind.process.exitCode).toBe(null);
      expect(behind.logs.filter((line) => line.level >= 60)).toEqual([]);
      listener.disconnect();
    } finally {
      await stop();
    }
  });

  it("reports neither the arrival nor the departure of a member who came during the outage and left before the resync, and tells subscribers and watchers both", { timeout: 30_000 }, async () => {
    const durable = await startRedis({ persist: true });
    const receiver = await startWebhookReceiver();
    const hooked: AppConfig = { id: "ow-hooked", key: "ow-hooked-key", secret: "ow-hooked-secret", webhooks: [{ url: receiver.url, event_types: ["channel_occupied", "channel_vacated", "member_added", "member_removed"] }] };
    const node = await startHerald({ apps: [hooked], args: ["--redis", durable.url], env: FAST_TIMINGS_ENV });
    try {
      const stays = pusherClient(node.port, hooked, { user: { user_id: "stays" }, signinAs: { id: "stays", watchlist: ["ghost"] } });
      await Promise.all([subscribed(stays, "presence-ow"), signedIn(stays)]);
      const seen: string[] = [];
      stays.channel("presence-ow").bind("pusher:member_added", ({ id }: { id: string }) => seen.push(`added ${id}`));
      stays.channel("presence-ow").bind("pusher:member_removed", ({ id }: { id: string }) => seen.push(`removed ${id}`));
      for (const status of ["online", "offline"]) stays.user.watchlist.bind(status, ({ user_ids }: { user_ids: string[] }) => seen.push(`${status} ${user_ids.join()}`));
      const before = ["channel_occupied presence-ow", "member_added presence-ow stays"];
      await expect.poll(() => webhookEvents(receiver, hooked, node.port), { timeout: 5000 }).toEqual(before);

      await durable.kill();
      await until(() => node.logs.some((line) => line.msg.includes("is unreachable")), "the outage");
      const ghost = pusherClient(node.port, hooked, { user: { user_id: "ghost" }, signinAs: { id: "ghost" } });
      await Promise.all([subscribed(ghost, "presence-ow"), signedIn(ghost)]);
      await expect.poll(() => [...seen].sort(), { timeout: 5000 }).toEqual(["added ghost", "online ghost"]);
      await durable.start();
      // From this line the node writes to Redis again; its members follow two reconnect delays (2 s here) later.
      await until(() => node.logs.some((line) => line.msg.includes("channel counts to Redis again")), "the node to write to Redis again");
      ghost.disconnect();
      await expect.poll(() => [...seen].sort(), { timeout: 5000 }).toEqual(["added ghost", "offline ghost", "online ghost", "removed ghost"]);

      // The later marker: a channel occupied after the resync, which is after the ghost's departure hold (0.5 s).
      await until(() => node.logs.some((line) => line.msg.includes("presence members written to Redis again")), "the resync", 10_000);
      const marker = pusherClient(node.port, hooked);
      await subscribed(marker, "ow-marker");
      await expect.poll(() => webhookEvents(receiver, hooked, node.port).includes("channel_occupied ow-marker"), { timeout: 5000 }).toBe(true);
      expect(webhookEvents(receiver, hooked, node.port).filter((event) => event.startsWith("member"))).toEqual(["member_added presence-ow stays"]);
      expect(await (await serverSdk(node.port, hooked).get({ path: "/channels/presence-ow/users" })).json()).toEqual({ users: [{ id: "stays" }] });
      // Each arrival's answer was read, so nothing of them is left in Redis (redis-departures.ts).
      expect(await answerKeys(durable.url, hooked.id)).toEqual([]);
      for (const open of [stays, marker]) open.disconnect();
    } finally {
      await node.stop();
      await durable.kill();
      await receiver.close();
    }
  });

  it("sends no resync of an outage that another outage overtook", { timeout: 45_000 }, async (context) => {
    const durable = await startRedis({ persist: true });
    const node = await startHerald({ args: ["--redis", durable.url], env: FAST_TIMINGS_ENV });
    const lines = (text: string) => node.logs.filter((line) => line.msg.includes(text)).length;
    try {
      const member = pusherClient(node.port, DEMO_APP, { user: { user_id: "stays" } });
      await subscribed(member, "presence-overtaken");
      await durable.kill();
      await until(() => lines("is unreachable") === 1, "the first outage");
      await durable.start();
      // Both connections back (the pub/sub one may come later: an outage before it is no new outage to the node).
      await until(() => lines("channel counts to Redis again") === 1 && lines("is reachable again") === 1, "the first reconnect");
      // Away again before the first reconnect's resync (2 s after it here), and past it.
      await durable.kill();
      await until(() => lines("is unreachable") === 2, "the second outage");
      await sleep(2500);
      await durable.start();
      // The later marker: the second reconnect's resync.
      await until(() => lines("presence members written to Redis again") > 0, "the second reconnect's resync", 10_000);
      // A machine too busy to take Redis away again within those 2 s (the whole suite on two cores)
      // let the first resync through before the second outage, as it should: nothing to check then.
      const secondOutage = node.logs.findIndex((line, index) => line.msg.includes("is unreachable") && node.logs.slice(0, index).some((earlier) => earlier.msg.includes("is unreachable")));
      if (node.logs.slice(0, secondOutage).some((line) => line.msg.includes("presence members written"))) context.skip("the first reconnect's resync ran before Redis went away again");
      // Sent, the first one's would have failed (Redis away): "writing this node's presence members to Redis again failed".
      expect(node.logs.filter((line) => line.msg.includes("presence members"))).toEqual([expect.objectContaining({ added: 0, removed: 0 })]);
      // An app nobody hears (no webhooks): no arrival keeps an answer.
      expect(await answerKeys(durable.url, DEMO_APP.id)).toEqual([]);
      member.disconnect();
    } finally {
      await node.stop();
      await durable.kill();
    }
  });
  it("tells nobody a member or user came when another outage cuts its resync short, and writes them again at the next reconnect", { timeout: 45_000 }, async () => {
    const { proxy, behind, direct, stop } = await aroundProxy();
    const lines = (text: string) => behind.logs.filter((line) => line.msg.includes(text));
    try {
      const stays = pusherClient(behind.port, DEMO_APP, { user: { user_id: "stays" }, signinAs: { id: "stays" } });
      await Promise.all([subscribed(stays, "presence-cut-resync"), signedIn(stays)]);
      const seen: string[] = [];
      // On the same node: what its resync tells, its own sockets hear whether Redis is there or not.
      const watcher = pusherClient(behind.port, DEMO_APP, { user: { user_id: "watcher" }, signinAs: { id: "watcher", watchlist: ["stays"] } });
      const online = nextCall<{ user_ids: string[] }>(5000);
      watcher.user.watchlist.bind("online", online.callback);
      await signedIn(watcher);
      expect(await online.promise).toMatchObject({ user_ids: ["stays"] });
      for (const status of ["online", "offline"]) watcher.user.watchlist.bind(status, ({ user_ids }: { user_ids: string[] }) => seen.push(`watcher: ${status} ${user_ids.join()}`));
      const added = nextCall<{ id: string }>(5000);
      stays.channel("presence-cut-resync").bind("pusher:member_added", added.callback);
      const other = pusherClient(direct.port, DEMO_APP, { user: { user_id: "other" } });
      await subscribed(other, "presence-cut-resync");
      expect(await added.promise).toMatchObject({ id: "other" });
      for (const [name, client] of [["stays", stays], ["other", other]] as const) {
        for (const event of ["pusher:member_added", "pusher:member_removed", "marker"]) client.channel("presence-cut-resync").bind(event, (data: { id?: string }) => seen.push(`${name}: ${event} ${data.id ?? ""}`.trim()));
      }

      // The outage, then the reconnect's resync of the member, which the proxy cuts as it is sent (a second outage).
      proxy.cutNext(/members:presence-cut-resync/);
      proxy.dropAll();
      await until(proxy.cut, "the resync's join cut", 15_000);
      await until(() => lines("presence members written to Redis again").length > 0, "the next reconnect's resync", 15_000);
      expect(lines("presence members written to Redis again")).toEqual([expect.objectContaining({ added: 0, removed: 0 })]);
      await until(() => lines("signed-in users written to Redis again").length > 0, "the next reconnect's resync of users");
      expect(lines("signed-in users written to Redis again")).toEqual([expect.objectContaining({ online: 0, offline: 0 })]);

      // The later marker, published after both resyncs.
      await serverSdk(direct.port, DEMO_APP).trigger("presence-cut-resync", "marker", {});
      await expect.poll(() => seen.filter((line) => line.endsWith("marker")).length, { timeout: 5000 }).toBe(2);
      expect(seen.sort()).toEqual(["other: marker", "stays: marker"]);
      expect(await (await serverSdk(direct.port, DEMO_APP).get({ path: "/channels/presence-cut-resync/users" })).json()).toEqual({ users: expect.arrayContaining([{ id: "stays" }, { id: "other" }]) });
      for (const client of [stays, other, watcher]) client.disconnect();
    } finally {
      await stop();
    }
  });
  it("reports a channel vacated, a member removed and a user offline once when an outage cut the answers to their node's writes and Redis later comes back empty", { timeout: 45_000 }, async () => {
    const receiver = await startWebhookReceiver();
    const hooked: AppConfig = { id: "cl-hooked", key: "cl-hooked-key", secret: "cl-hooked-secret", webhooks: [{ url: receiver.url, event_types: ["channel_occupied", "channel_vacated", "member_added", "member_removed"] }] };
    const { redis: durable, proxy, behind, direct, stop } = await aroundProxy({ persist: true, apps: [hooked] });
    const resyncs = (node: Herald) => node.logs.filter((line) => line.msg.includes("presence members written to Redis again")).length;
    try {
      // One user on both nodes, in a presence channel and a public one, signed in, and watched.
      const here = pusherClient(behind.port, hooked, { user: { user_id: "twice" }, signinAs: { id: "twice" } });
      const there = pusherClient(direct.port, hooked, { user: { user_id: "twice" }, signinAs: { id: "twice" } });
      for (const client of [here, there]) await Promise.all([subscribed(client, "presence-cut-leave"), subscribed(client, "cut-leave"), signedIn(client)]);
      const watcher = pusherClient(direct.port, hooked, { user: { user_id: "watcher" }, signinAs: { id: "watcher", watchlist: ["twice"] } });
      const seen: string[] = [];
      for (const status of ["online", "offline"]) watcher.user.watchlist.bind(status, ({ user_ids }: { user_ids: string[] }) => seen.push(`${status} ${user_ids.join()}`));
      await signedIn(watcher);
      const events = () => webhookEvents(receiver, hooked, direct.port);
      const arrivals = ["channel_occupied cut-leave", "channel_occupied presence-cut-leave", "member_added presence-cut-leave twice"];
      await expect.poll(() => events().sort(), { timeout: 5000 }).toEqual(arrivals);
      await expect.poll(() => seen, { timeout: 5000 }).toEqual(["online twice"]);

      // The node behind the proxy lets go of them: Redis carries its writes out (the other node still holds all three), their answers are cut.
      proxy.cutAnswersTo([/member-nodes:presence-cut-leave:twice/]);
      here.disconnect();
      await until(() => proxy.answersCut() === 1, "the answers cut", 10_000);
      await until(() => resyncs(behind) === 1, "the resync after the cut", 15_000);
      there.disconnect();
      const departures = ["channel_vacated cut-leave", "channel_vacated presence-cut-leave", "member_removed presence-cut-leave twice"];
      await expect.poll(() => events().sort(), { timeout: 5000 }).toEqual([...arrivals, ...departures].sort());
      await expect.poll(() => seen, { timeout: 5000 }).toEqual(["online twice", "offline twice"]);

      // Redis comes back empty: each node puts back what Redis held of its share, and writes what it holds now.
      await durable.kill();
      await durable.start({ empty: true });
      await until(() => resyncs(behind) === 2 && resyncs(direct) === 1, "both nodes' resync into the emptied Redis", 15_000);
      // The later marker: a member who comes and goes on the node behind the proxy, its departure held as long.
      const marker = pusherClient(behind.port, hooked, { user: { user_id: "marker" } });
      await subscribed(marker, "presence-cut-leave-marker");
      marker.disconnect();
      await expect.poll(() => events().at(-1), { timeout: 10_000 }).toBe("member_removed presence-cut-leave-marker marker");
      expect(events().filter((event) => !event.includes("marker")).sort()).toEqual([...arrivals, ...departures].sort());
      expect(seen).toEqual(["online twice", "offline twice"]);
      watcher.disconnect();
    } finally {
      await stop();
      await receiver.close();
    }
  });
  it("reports a dead node's channel vacated, member removed and user offline once when an outage cuts the answer to its cleanup", { timeout: 45_000 }, async () => {
    const receiver = await startWebhookReceiver();
    const hooked: AppConfig = { id: "dn-hooked", key: "dn-hooked-key", secret: "dn-hooked-secret", webhooks: [{ url: receiver.url, event_types: ["channel_occupied", "channel_vacated", "member_added", "member_removed"] }] };
    // The survivor's Redis is behind the proxy: it cleans up after the doomed node, and the proxy cuts that short.
    const { redis, proxy, behind: survivor, direct: doomed, stop } = await aroundProxy({ apps: [hooked] });
    try {
      const stays = pusherClient(survivor.port, hooked, { user: { user_id: "stays" }, signinAs: { id: "stays", watchlist: ["gone"] } });
      await Promise.all([subscribed(stays, "presence-dn"), signedIn(stays)]);
      const seen: string[] = [];
      stays.channel("presence-dn").bind("pusher:member_added", ({ id }: { id: string }) => seen.push(`added ${id}`));
      stays.channel("presence-dn").bind("pusher:member_removed", ({ id }: { id: string }) => seen.push(`removed ${id}`));
      stays.channel("presence-dn").bind("marker", () => seen.push("marker"));
      for (const status of ["online", "offline"]) stays.user.watchlist.bind(status, ({ user_ids }: { user_ids: string[] }) => seen.push(`${status} ${user_ids.join()}`));
      const gone = pusherClient(doomed.port, hooked, { user: { user_id: "gone" }, signinAs: { id: "gone" } });
      await Promise.all([subscribed(gone, "presence-dn"), subscribed(gone, "dn-alone"), signedIn(gone)]);
      await expect.poll(() => [...seen].sort(), { timeout: 5000 }).toEqual(["added gone", "online gone"]);
      await expect.poll(() => webhookEvents(receiver, hooked, survivor.port).sort(), { timeout: 5000 }).toEqual(["channel_occupied dn-alone", "channel_occupied presence-dn", "member_added presence-dn gone", "member_added presence-dn stays"]);

      // The survivor's cleanup, a write at a time: each carried out by Redis, its answer cut, then tried again.
      proxy.cutAnswersTo([/vacating:dn-alone/, /leaving:presence-dn:gone/, /user-nodes:gone/]);
      doomed.process.kill("SIGKILL");
      gone.disconnect();
      await until(() => proxy.answersCut() === 3, "three answers cut", 30_000);
      const expected = ["added gone", "offline gone", "online gone", "removed gone"];
      await expect.poll(() => [...seen].sort(), { timeout: 10_000 }).toEqual(expected);
      await expect.poll(() => webhookEvents(receiver, hooked, survivor.port).slice(4).sort(), { timeout: 10_000 }).toEqual(["channel_vacated dn-alone", "member_removed presence-dn gone"]);

      // Once each: the later markers, an event and a channel occupied after all of it, come and nothing more.
      await serverSdk(survivor.port, hooked).trigger("presence-dn", "marker", {});
      await subscribed(stays, "dn-marker");
      await expect.poll(() => webhookEvents(receiver, hooked, survivor.port).at(-1), { timeout: 5000 }).toBe("channel_occupied dn-marker");
      await expect.poll(() => seen.at(-1), { timeout: 5000 }).toBe("marker");
      expect([...seen].sort()).toEqual([...expected, "marker"].sort());
      expect(webhookEvents(receiver, hooked, survivor.port).length).toBe(7);
      expect(await (await serverSdk(survivor.port, hooked).get({ path: "/channels/presence-dn/users" })).json()).toEqual({ users: [{ id: "stays" }] });
      expect(await answerKeys(redis.url, hooked.id)).toEqual([]);
      stays.disconnect();
    } finally {
      await stop();
      await receiver.close();
    }
  });
  it("leaves a dead node's cleanup to another node when the node that claimed it dies before it is through", { timeout: 40_000 }, async () => {
    // The claimer's Redis is behind the proxy, which cuts its cleanup's first write short, as it is killed.
    const { redis, proxy, behind: claimer, direct: doomed, stop } = await aroundProxy();
    let heir: Awaited<ReturnType<typeof startHerald>> | undefined;
    try {
      const gone = pusherClient(doomed.port, DEMO_APP, { user: { user_id: "gone" }, signinAs: { id: "gone" } });
      await Promise.all([subscribed(gone, "presence-dn2"), subscribed(gone, "dn2-alone"), signedIn(gone)]);
      await expect.poll(async () => (await (await serverSdk(claimer.port, DEMO_APP).get({ path: "/channels/presence-dn2/users" })).json()), { timeout: 5000 }).toEqual({ users: [{ id: "gone" }] });
      // Redis then stays away for the claimer, which cannot finish the cleanup while its log line
      // (written by the thread pool, after the cleanup's first write may have gone) comes out.
      proxy.cutNext(/vacating:/, { thenRefuse: true });
      doomed.process.kill("SIGKILL");
      gone.disconnect();
      await until(proxy.cut, "the claimer's cleanup cut", 15_000);
      const claims = () => claimer.logs.filter((line) => line.msg.includes("stopped answering"));
      await until(() => claims().length > 0, "the claimer to log its claim");
      claimer.process.kill("SIGKILL");
      expect(claims()).toHaveLength(1);

      // A node started now finds the dead node's member, user and channel still in Redis, and takes the cleanup over.
      heir = await startHerald({ args: ["--redis", redis.url], env: FAST_TIMINGS_ENV });
      const stays = pusherClient(heir.port, DEMO_APP, { user: { user_id: "stays" }, signinAs: { id: "stays", watchlist: ["gone"] } });
      const seen: string[] = [];
      stays.user.watchlist.bind("online", ({ user_ids }: { user_ids: string[] }) => seen.push(`online ${user_ids.join()}`));
      stays.user.watchlist.bind("offline", ({ user_ids }: { user_ids: string[] }) => seen.push(`offline ${user_ids.join()}`));
      const members = await subscribed(stays, "presence-dn2");
      stays.channel("presence-dn2").bind("pusher:member_removed", ({ id }: { id: string }) => seen.push(`removed ${id}`));
      await signedIn(stays);
      expect(Object.keys((members as { members: Record<string, unknown> }).members).sort()).toEqual(["gone", "stays"]);
      await expect.poll(() => seen, { timeout: 15_000 }).toEqual(expect.arrayContaining(["removed gone", "offline gone"]));
      const api = serverSdk(heir.port, DEMO_APP);
      expect(await (await api.get({ path: "/channels/presence-dn2/users" })).json()).toEqual({ users: [{ id: "stays" }] });
      expect(Object.keys(((await (await api.get({ path: "/channels" })).json()) as { channels: Record<string, unknown> }).channels)).not.toContain("dn2-alone");
      stays.disconnect();
    } finally {
      await heir?.stop();
      await stop();
    }
  });
});
