/**
 * Vacant-channel buffers on a cluster: kept in Redis through any node, handed over
 * on any node, exactly once at the boundary even when the publisher and the
 * subscriber are on different nodes, and no stall while Redis is away.
 */
import { describe, expect, it } from "vitest";
import { RawClient, serverSdk, sleep } from "./helpers/clients.js";
import { FAST_TIMINGS_ENV, buffering, until, useTwoNodes } from "./helpers/cluster-nodes.js";
import { startHerald } from "./helpers/herald.js";
import { SKIP_REDIS_TESTS, startRedis } from "./helpers/redis.js";
import { keptThenLive } from "./helpers/buffer-race.js";

const cluster = useTwoNodes();
const eventsOf = (client: RawClient) => client.frames.filter((frame) => !frame.event.startsWith("pusher")).map((frame) => frame.event);

async function waitingOn(port: number, channel: string): Promise<number> {
  const response = await serverSdk(port, buffering).get({ path: `/channels/${channel}`, params: { info: "buffered" } });
  return ((await response.json()) as { buffered: number }).buffered;
}

describe.skipIf(SKIP_REDIS_TESTS)("a cluster of two nodes: vacant-channel buffers", () => {
  it("keeps what is published through node A and hands it over on node B, once", async () => {
    for (const n of [1, 2, 3]) await serverSdk(cluster.nodeA.port, buffering).trigger("kept-a-to-b", `e${n}`, {});
    expect(await waitingOn(cluster.nodeB.port, "kept-a-to-b")).toBe(3);
    const onB = await RawClient.subscribed(cluster.nodeB.port, "kept-a-to-b", buffering.key);
    await until(() => eventsOf(onB).length === 3, "the hand-over on node B");
    const onA = await RawClient.subscribed(cluster.nodeA.port, "kept-a-to-b", buffering.key);
    // The marker: a live event through node A reaches both, after anything either could still get.
    await serverSdk(cluster.nodeA.port, buffering).trigger("kept-a-to-b", "live", {});
    await until(() => eventsOf(onB).includes("live") && eventsOf(onA).includes("live"), "the live event on both nodes");
    expect(eventsOf(onB)).toEqual(["e1", "e2", "e3", "live"]);
    expect(eventsOf(onA)).toEqual(["live"]);
    expect(await waitingOn(cluster.nodeA.port, "kept-a-to-b")).toBe(0);
    onA.close();
    onB.close();
  });

  it("never keeps an event published through node A after a subscriber on node B heard it was in", async () => {
    // Before the fix, on two nodes of two threads each, 24 rounds in 600 kept the marker (a /tmp script);
    // this failed in 9 runs of 10 with two threads, and in 3 of 3 on one thread.
    await keptThenLive({ subscribePort: cluster.nodeB.port, publishPort: cluster.nodeA.port, app: buffering, channelPrefix: "latest-", rounds: 40 });
  });

  it("delivers a stream published through node A while the first subscriber joins on node B without a gap or a duplicate", async () => {
    const channel = "kept-stream-across";
    const published = Array.from({ length: 200 }, (_, n) => `s${n}`);
    const client = await RawClient.connect(cluster.nodeB.port, buffering.key);
    await client.socketId();
    const sdkA = serverSdk(cluster.nodeA.port, buffering);
    const stream = (async () => {
      for (const name of published) await sdkA.trigger(channel, name, {});
    })();
    await sleep(20); // let the stream start, so the subscription lands inside it
    client.send({ event: "pusher:subscribe", data: { channel } });
    await stream;
    await until(() => eventsOf(client).length >= published.length, "every event on node B");
    await sdkA.trigger(channel, "marker", {});
    await until(() => eventsOf(client).includes("marker"), "the marker");
    expect(eventsOf(client)).toEqual([...published, "marker"]);
    client.close();
  });

  it("keeps serving while Redis is away, holds no subscriber up, and hands what was kept before over once when it is back", { timeout: 30_000 }, async () => {
    const durable = await startRedis({ persist: true });
    const node = await startHerald({ apps: [buffering], args: ["--redis", durable.url], env: FAST_TIMINGS_ENV });
    const sdk = serverSdk(node.port, buffering);
    try {
      await sdk.trigger("kept-before", "before", {});
      // The API answers before Redis has the event; a read after it, on the same connection, comes after it.
      expect(await waitingOn(node.port, "kept-before")).toBe(1);
      const present = await RawClient.subscribed(node.port, "kept-present", buffering.key);
      await durable.kill();
      await until(() => node.logs.some((line) => line.msg.includes("is unreachable")), "the outage");
      await sdk.trigger("kept-present", "during", {});
      expect(await present.event("during")).toMatchObject({ channel: "kept-present" });
      // Nothing can be kept or claimed now; the new subscriber's live events are not held for a claim.
      const newcomer = await RawClient.subscribed(node.port, "kept-newcomer", buffering.key);
      await sdk.trigger("kept-newcomer", "live", {});
      expect(await newcomer.event("live", 1000)).toMatchObject({ channel: "kept-newcomer" });

      await durable.start();
      await until(() => node.logs.some((line) => line.msg.includes("is reachable again")), "the reconnect", 10_000);
      const first = await RawClient.subscribed(node.port, "kept-before", buffering.key);
      const second = await RawClient.subscribed(node.port, "kept-before", buffering.key);
      // The marker: a live event, held on this node until the claim's answer from Redis is
      // handed over (which follows subscription_succeeded, so a pong is no marker for it).
      await sdk.trigger("kept-before", "after", {});
      await until(() => eventsOf(first).includes("after") && eventsOf(second).includes("after"), "the live event on both sockets");
      // Once, to the first. On worker threads the two may land on different threads, whose claims
      // can reach the main thread in either order: once, to either (the README says so).
      const heard = [eventsOf(first), eventsOf(second)];
      if (process.env.HERALD_TEST_WORKERS) heard.sort((a, b) => b.length - a.length);
      expect(heard).toEqual([["before", "after"], ["after"]]);
      for (const client of [present, newcomer, first, second]) client.close();
    } finally {
      await node.stop();
      await durable.kill();
    }
  });
});
