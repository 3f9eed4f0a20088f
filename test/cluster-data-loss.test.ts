/**
 * A Redis that restarts empty loses every node's share of the cluster state. The nodes
 * put back what Redis had before the outage, then report what changed while it was away,
 * so webhooks and presence events stay exact, as after an outage where Redis kept its data.
 * One restored from an older snapshot brings back what a node no longer holds: it clears it.
 */
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { nodeEntry } from "../src/cluster/node-entries.js";
import { nodeChannelsKey, occupiedKey, subsKey } from "../src/cluster/redis-keys.js";
import { nextCall, pusherClient, serverSdk, signedIn, subscribed } from "./helpers/clients.js";
import { FAST_TIMINGS, until, useTwoNodes, webhookEvents, type TwoNodes } from "./helpers/cluster-nodes.js";
import { DEMO_APP, startHerald, type Herald } from "./helpers/herald.js";
import { SKIP_REDIS_TESTS, startRedis } from "./helpers/redis.js";

const env = { HERALD_TEST_TIMINGS: JSON.stringify({ ...FAST_TIMINGS, deadAfterMs: 3000 }) };
const cluster = useTwoNodes(env);

/** The occupancy and member webhooks received so far, as "event channel [user]". */
const webhooks = (nodes: TwoNodes) => webhookEvents(nodes.receiver, nodes.hooked, nodes.nodeA.port);

async function connections(node: Herald): Promise<number> {
  return ((await (await fetch(`http://127.0.0.1:${node.port}/health`)).json()) as { connections: number }).connections;
}

describe.skipIf(SKIP_REDIS_TESTS)("a cluster whose Redis restarts empty, or from an older snapshot", () => {
  it("reports what came and went while Redis was away once, and what stayed not again", { timeout: 40_000 }, async () => {
    const { nodeA, nodeB, hooked } = cluster;
    const client = (node: Herald, user?: string) => pusherClient(node.port, hooked, user ? { user: { user_id: user } } : {});
    // dl-kept: held on both nodes all along. dl-gone-a: only on A, left during the outage.
    // dl-gone-both: on both, left on both. presence-dl: "stays" on A; "goes" on B, who leaves.
    const keptA = client(nodeA);
    const keptB = client(nodeB);
    const goneA = client(nodeA);
    const goneBothA = client(nodeA);
    const goneBothB = client(nodeB);
    const stays = client(nodeA, "stays");
    const goes = client(nodeB, "goes");
    const justLeft = client(nodeB);
    await Promise.all([
      subscribed(justLeft, "dl-just-left"),
      subscribed(keptA, "dl-kept"),
      subscribed(keptB, "dl-kept"),
      subscribed(goneA, "dl-gone-a"),
      subscribed(goneBothA, "dl-gone-both"),
      subscribed(goneBothB, "dl-gone-both"),
      subscribed(stays, "presence-dl"),
    ]);
    const added = nextCall<{ id: string }>(5000);
    stays.channel("presence-dl").bind("pusher:member_added", added.callback);
    await subscribed(goes, "presence-dl");
    expect(await added.promise).toMatchObject({ id: "goes" });
    // A watcher on A of "leaver", signed in on B, who leaves during the outage.
    const watcher = pusherClient(nodeA.port, hooked, { signinAs: { id: "watcher", watchlist: ["leaver"] } });
    const watched: string[] = [];
    for (const status of ["online", "offline"]) watcher.user.watchlist.bind(status, (event: { user_ids: string[] }) => watched.push(`${status}:${event.user_ids.join()}`));
    await signedIn(watcher);
    const leaver = pusherClient(nodeB.port, hooked, { signinAs: { id: "leaver" } });
    await signedIn(leaver);
    await expect.poll(() => watched, { timeout: 5000 }).toContain("online:leaver");
    const before = ["channel_occupied dl-just-left", "channel_occupied dl-kept", "channel_occupied dl-gone-a", "channel_occupied dl-gone-both", "channel_occupied presence-dl", "member_added presence-dl stays", "member_added presence-dl goes"];
    await expect.poll(() => webhooks(cluster).sort(), { timeout: 5000 }).toEqual([...before].sort());

    // dl-just-left empties just before the outage, within its departure hold (0.5 s here): its
    // channel_vacated must come once, whether the outage cut the hold or not.
    const heldBeforeB = await connections(nodeB);
    justLeft.disconnect();
    await expect.poll(() => connections(nodeB), { interval: 5, timeout: 5000 }).toBe(heldBeforeB - 1);
    await cluster.redis.kill();
    await until(() => [nodeA, nodeB].every((node) => node.logs.some((line) => line.msg.includes("is unreachable"))), "both nodes to see the outage");
    const removed = nextCall<{ id: string }>(15_000);
    stays.channel("presence-dl").bind("pusher:member_removed", removed.callback);
    const [heldA, heldB] = await Promise.all([connections(nodeA), connections(nodeB)]);
    for (const gone of [goneA, goneBothA, goneBothB, goes, leaver]) gone.disconnect();
    await expect.poll(() => Promise.all([connections(nodeA), connections(nodeB)]), { timeout: 5000 }).toEqual([heldA - 2, heldB - 3]);
    await cluster.redis.start();

    // Each departure is reported once, by one node; the subscribers on the other node hear that "goes" left.
    const after = ["channel_vacated dl-gone-a", "channel_vacated dl-just-left", "channel_vacated dl-gone-both", "member_removed presence-dl goes"];
    await expect.poll(() => webhooks(cluster).slice(before.length).sort(), { timeout: 15_000 }).toEqual([...after].sort());
    expect(await removed.promise).toMatchObject({ id: "goes" });
    await expect.poll(() => watched, { timeout: 5000 }).toContain("offline:leaver");
    // The later marker: a channel occupied on each node once both wrote their share again. Nothing
    // they reported before it (a channel or member that stayed, occupied or added again) may be there.
    await until(() => [nodeA, nodeB].every((node) => node.logs.some((line) => line.msg.includes("presence members written to Redis again"))), "both nodes' resync", 10_000);
    const markers = [client(nodeA), client(nodeB)];
    await Promise.all(markers.map((marker, index) => subscribed(marker, `dl-marker-${index}`)));
    await expect.poll(() => webhooks(cluster).filter((event) => event.includes("dl-marker")).length, { timeout: 5000 }).toBe(2);
    expect(webhooks(cluster).filter((event) => !event.includes("dl-marker")).sort()).toEqual([...before, ...after].sort());
    // And the cluster's state is the one left: the HTTP API reads it from Redis.
    const sdk = serverSdk(nodeA.port, hooked);
    const listed = (await (await sdk.get({ path: "/channels" })).json()) as { channels: Record<string, unknown> };
    expect(Object.keys(listed.channels).sort()).toEqual(["#server-to-user-watcher", "dl-kept", "dl-marker-0", "dl-marker-1", "presence-dl"]);
    expect(await (await sdk.get({ path: "/channels/presence-dl/users" })).json()).toEqual({ users: [{ id: "stays" }] });
    for (const open of [keptA, keptB, stays, watcher, ...markers]) open.disconnect();
  });

  it("clears a channel count of its own that Redis holds and it does not, as a Redis restored from an older snapshot brings back", { timeout: 30_000 }, async () => {
    const durable = await startRedis({ persist: true });
    const node = await startHerald({ args: ["--redis", durable.url], env });
    try {
      const nodeId = String(node.logs.find((line) => typeof line.node === "number")!.node);
      // What an older snapshot would bring back: a count of this node's for a channel it no longer holds.
      const redis = new Redis(durable.url);
      await redis.multi().hset(subsKey(DEMO_APP.id, "cl-snapshot"), nodeId, "1").sadd(occupiedKey(DEMO_APP.id), "cl-snapshot").sadd(nodeChannelsKey(nodeId), nodeEntry(DEMO_APP.id, "cl-snapshot")).exec();
      redis.disconnect();
      const listed = async () => Object.keys(((await (await serverSdk(node.port, DEMO_APP).get({ path: "/channels" })).json()) as { channels: Record<string, unknown> }).channels);
      expect(await listed()).toEqual(["cl-snapshot"]);
      await durable.kill();
      await until(() => node.logs.some((line) => line.msg.includes("is unreachable")), "the outage");
      await durable.start();
      await expect.poll(listed, { timeout: 10_000 }).toEqual([]);
    } finally {
      await node.stop();
      await durable.kill();
    }
  });
});
