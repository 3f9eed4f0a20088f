/**
 * Several nodes on one Redis deliver as one server: events, exclusion, client events, users and socket ids across nodes.
 */
import { describe, expect, it } from "vitest";
import { RawClient, connected, nextCall, pusherClient, serverSdk, signedIn, subscribed, caughtUp, disconnected } from "./helpers/clients.js";
import { record, until, useTwoNodes } from "./helpers/cluster-nodes.js";
import { DEMO_APP, startHerald } from "./helpers/herald.js";
import { SKIP_REDIS_TESTS } from "./helpers/redis.js";

const cluster = useTwoNodes();

describe.skipIf(SKIP_REDIS_TESTS)("a cluster of two nodes: delivery", () => {
  it("delivers an event published through either node to the subscribers of both, exactly once", async () => {
    const onA = pusherClient(cluster.nodeA.port, DEMO_APP);
    const onB = pusherClient(cluster.nodeB.port, DEMO_APP);
    await Promise.all([subscribed(onA, "cl-news"), subscribed(onB, "cl-news")]);
    const seenA = record(onA, "cl-news");
    const seenB = record(onB, "cl-news");
    await serverSdk(cluster.nodeA.port, DEMO_APP).trigger("cl-news", "from-a", { n: 1 });
    await serverSdk(cluster.nodeB.port, DEMO_APP).trigger("cl-news", "from-b", { n: 2 });
    await until(() => seenA.length >= 2 && seenB.length >= 2, "both events on both nodes");
    // Markers: each node's events reach the other in order, so a duplicate would come before these.
    await serverSdk(cluster.nodeA.port, DEMO_APP).trigger("cl-news", "end-a", {});
    await serverSdk(cluster.nodeB.port, DEMO_APP).trigger("cl-news", "end-b", {});
    await until(() => [seenA, seenB].every((seen) => seen.filter((e) => e.event.startsWith("end-")).length === 2), "the markers on both nodes");
    for (const seen of [seenA, seenB]) {
      expect(seen.map((e) => e.event).filter((event) => !event.startsWith("end-")).sort()).toEqual(["from-a", "from-b"]);
    }
    onA.disconnect();
    onB.disconnect();
  });

  it("excludes the socket_id given to the API whichever node holds that socket", async () => {
    const onA = pusherClient(cluster.nodeA.port, DEMO_APP);
    const onB = pusherClient(cluster.nodeB.port, DEMO_APP);
    await Promise.all([subscribed(onA, "cl-others"), subscribed(onB, "cl-others")]);
    const seenA = record(onA, "cl-others");
    const seenB = record(onB, "cl-others");
    await serverSdk(cluster.nodeA.port, DEMO_APP).trigger("cl-others", "to-others", {}, { socket_id: onB.connection.socket_id });
    await until(() => seenA.length === 1, "the event on node A");
    // The marker, sent from the same node after it: the excluded event would have come first.
    await serverSdk(cluster.nodeA.port, DEMO_APP).trigger("cl-others", "marker", {});
    await until(() => seenB.length > 0, "the marker on node B");
    expect(seenB.map((e) => e.event)).toEqual(["marker"]);
    onA.disconnect();
    onB.disconnect();
  });

  it("relays client events to subscribers on the other node, not back to the sender", async () => {
    const sender = pusherClient(cluster.nodeA.port, DEMO_APP);
    const listener = pusherClient(cluster.nodeB.port, DEMO_APP);
    await Promise.all([subscribed(sender, "private-cl-chat"), subscribed(listener, "private-cl-chat")]);
    const got = nextCall<unknown>();
    listener.channel("private-cl-chat").bind("client-typing", got.callback);
    const echoed = record(sender, "private-cl-chat");
    sender.channel("private-cl-chat").trigger("client-typing", { who: "a" });
    expect(await got.promise).toEqual({ who: "a" });
    await caughtUp(sender);
    expect(echoed).toEqual([]);
    sender.disconnect();
    listener.disconnect();
  });

  it("carries sendToUser and terminate_connections to the node that holds the user", async () => {
    const user = pusherClient(cluster.nodeB.port, DEMO_APP, { signinAs: { id: "cl-user" } });
    await signedIn(user);
    const bystander = pusherClient(cluster.nodeB.port, DEMO_APP);
    await connected(bystander);
    const got = nextCall<unknown>();
    user.user.bind("notice", got.callback);
    const sdkOnA = serverSdk(cluster.nodeA.port, DEMO_APP);
    await sdkOnA.sendToUser("cl-user", "notice", { text: "hi" });
    expect(await got.promise).toEqual({ text: "hi" });

    const closed = nextCall<number>();
    user.connection.bind("error", (error: { data?: { code: number } }) => closed.callback(error.data?.code ?? 0));
    await sdkOnA.terminateUserConnections("cl-user");
    expect(await closed.promise).toBe(4009);
    // Node B has handled the termination (the user's socket is closed); the bystander on it is untouched.
    await caughtUp(bystander);
    expect(bystander.connection.state).toBe("connected");
    user.disconnect();
    bystander.disconnect();
  });

  it("sends watchlist events across nodes", async () => {
    type WatchlistEvent = { name: string; user_ids: string[] };
    const hear = (client: ReturnType<typeof pusherClient>, events: WatchlistEvent[]) => {
      client.user.watchlist.bind("online", (event: WatchlistEvent) => events.push(event));
      client.user.watchlist.bind("offline", (event: WatchlistEvent) => events.push(event));
    };
    // A user online before the watcher signs in, so that the watcher's first word (who of its list is
    // online now) can be waited for: a user coming online while that answer is on its way is told of
    // twice, by the answer and by its own event. A probe's hearing of it says it is registered.
    const early = pusherClient(cluster.nodeB.port, DEMO_APP, { signinAs: { id: "cl-early" } });
    await signedIn(early);
    const probeEvents: WatchlistEvent[] = [];
    const probe = pusherClient(cluster.nodeA.port, DEMO_APP, { signinAs: { id: "cl-probe", watchlist: ["cl-early"] } });
    hear(probe, probeEvents);
    await signedIn(probe);
    // Polled for, not counted: cl-early may be named twice, by the probe's first answer and by
    // its own event (as above); and a failure prints what was heard.
    await expect.poll(() => probeEvents.filter(({ name }) => name === "online").flatMap(({ user_ids }) => user_ids), { timeout: 10_000 }).toContain("cl-early");
    const watcher = pusherClient(cluster.nodeA.port, DEMO_APP, { signinAs: { id: "cl-watcher", watchlist: ["cl-watched", "cl-marker", "cl-early"] } });
    const events: WatchlistEvent[] = [];
    hear(watcher, events);
    await signedIn(watcher);
    await until(() => events.length === 1, "who is online now");
    const watched = pusherClient(cluster.nodeB.port, DEMO_APP, { signinAs: { id: "cl-watched" } });
    await signedIn(watched);
    await until(() => events.length === 2, "online");
    const marker = pusherClient(cluster.nodeB.port, DEMO_APP, { signinAs: { id: "cl-marker" } });
    await signedIn(marker);
    await until(() => events.length === 3, "online for the marker user");
    // A second connection of the same user, on the other node: still one user, online once.
    const secondTab = pusherClient(cluster.nodeA.port, DEMO_APP, { signinAs: { id: "cl-watched" } });
    await signedIn(secondTab);
    await disconnected(watched);
    // The marker: a user whose last socket closes on the same node afterwards; node B decides and
    // publishes departures in order, so an offline for cl-watched would come before this one.
    await disconnected(marker);
    await until(() => events.length === 4, "offline for the marker user");
    expect(events).toEqual([
      { name: "online", user_ids: ["cl-early"] },
      { name: "online", user_ids: ["cl-watched"] },
      { name: "online", user_ids: ["cl-marker"] },
      { name: "offline", user_ids: ["cl-marker"] },
    ]);
    const lateWatcher = pusherClient(cluster.nodeB.port, DEMO_APP, { signinAs: { id: "cl-late", watchlist: ["cl-watched"] } });
    const lateEvents: WatchlistEvent[] = [];
    hear(lateWatcher, lateEvents);
    await signedIn(lateWatcher);
    await until(() => lateEvents.length === 1, "the late watcher to hear who is online");
    expect(lateEvents).toEqual([{ name: "online", user_ids: ["cl-watched"] }]);
    lateWatcher.disconnect();
    secondTab.disconnect();
    await until(() => events.length === 5, "offline");
    expect(events.at(-1)).toEqual({ name: "offline", user_ids: ["cl-watched"] });
    for (const client of [watcher, probe, early]) client.disconnect();
  });

  it("gives each node its own socket_id prefix", async () => {
    const socketIds = (port: number) =>
      Promise.all(Array.from({ length: 4 }, async () => {
        const client = await RawClient.connect(port);
        const socketId = await client.socketId();
        client.close();
        return socketId;
      }));
    const [onA, onB] = await Promise.all([socketIds(cluster.nodeA.port), socketIds(cluster.nodeB.port)]);
    const prefixes = (ids: string[]) => new Set(ids.map((id) => id.split(".")[0]));
    // One prefix per process, or one per thread under HERALD_TEST_WORKERS; never one two processes share.
    expect(prefixes(onA).size).toBeLessThanOrEqual(Number(process.env.HERALD_TEST_WORKERS ?? 1));
    expect([...prefixes(onA)].filter((prefix) => prefixes(onB).has(prefix))).toEqual([]);
    expect(new Set([...onA, ...onB]).size).toBe(8);
  });

  // Twelve starts and stops, about 10 s here; four times that with the machine's two cores overloaded (both test suites at once).
  it("starts a node that joins while the others publish, and delivers to it", { timeout: 80_000 }, async () => {
    // A node hears the others' messages before its routes are mounted, and uWS 20.30 crashed it
    // (SIGSEGV) on a delivery then, before it listened (fanout.ts): startHerald would reject.
    const publisher = serverSdk(cluster.nodeA.port, DEMO_APP);
    let publishing = true;
    const publishes = Array.from({ length: 24 }, async () => {
      while (publishing) await publisher.trigger(["cl-busy", "cl-busy-too"], "busy", {}).catch(() => undefined);
    });
    try {
      for (let start = 0; start < 12; start++) {
        const joining = await startHerald({ args: ["--redis", cluster.redis.url] });
        const client = pusherClient(joining.port, DEMO_APP);
        await subscribed(client, "cl-busy");
        const seen = record(client, "cl-busy");
        await until(() => seen.length > 0, "an event published on node A, on the node that joined");
        client.disconnect();
        await joining.stop();
      }
    } finally {
      publishing = false;
      await Promise.all(publishes);
    }
  });
});
