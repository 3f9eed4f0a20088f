/**
 * Redis behind Sentinel, and a Redis Cluster, as the store of a cluster.
 */
import { describe, expect, it } from "vitest";
import { nextCall, pusherClient, serverSdk, subscribed } from "./helpers/clients.js";
import { FAST_TIMINGS_ENV } from "./helpers/fast-timings.js";
import { DEMO_APP, startHerald } from "./helpers/herald.js";
import { SKIP_REDIS_TESTS, startRedis, startRedisCluster, startSentinel } from "./helpers/redis.js";
import { nodeMembersKey } from "../src/cluster/redis-keys.js";

describe.skipIf(SKIP_REDIS_TESTS)("a cluster on other Redis topologies", () => {
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
  it("puts an app's state back when the Redis Cluster shard that holds it restarts empty", { timeout: 30_000 }, async () => {
    const redisCluster = await startRedisCluster();
    const node = await startHerald({ args: ["--redis-cluster", redisCluster.nodes], env: FAST_TIMINGS_ENV });
    try {
      const ada = pusherClient(node.port, DEMO_APP, { user: { user_id: "ada" } });
      await subscribed(ada, "presence-cl-shard");
      const sdk = serverSdk(node.port, DEMO_APP);
      const state = async () => {
        const channels = await sdk.get({ path: "/channels" });
        const users = await sdk.get({ path: "/channels/presence-cl-shard/users" });
        return channels.status === 200 && users.status === 200 ? { channels: Object.keys(((await channels.json()) as { channels: object }).channels), users: await users.json() } : `${channels.status} ${users.status}`;
      };
      const held = { channels: ["presence-cl-shard"], users: { users: [{ id: "ada" }] } };
      await expect.poll(state).toEqual(held);
      // Only that shard: the others, and every connection to them, stay up.
      await redisCluster.restartShardOf(`herald:{${DEMO_APP.id}}:generation`);
      await expect.poll(state, { timeout: 10_000, interval: 100 }).toEqual(held);
      // Polled too: the line can reach the test after the state it tells of.
      await expect.poll(() => node.logs.some((line) => line.msg.startsWith("Redis lost its data"))).toBe(true);
      ada.disconnect();
    } finally {
      await node.stop();
      redisCluster.stop();
    }
  });

  it("writes a node's record of its members back when the Redis Cluster shard that holds it restarts empty, so they are removed when the node dies", { timeout: 40_000 }, async () => {
    const redisCluster = await startRedisCluster();
    const args = ["--redis-cluster", redisCluster.nodes];
    // One after the other, so that the first is node 1: its members' set (slot 12313) is on
    // another shard than the app's data (slot 7244), which therefore stays.
    const doomed = await startHerald({ args, env: FAST_TIMINGS_ENV });
    const survivor = await startHerald({ args, env: FAST_TIMINGS_ENV });
    try {
      const node = doomed.logs.find((line) => line.msg.startsWith("Herald listening"))?.node;
      expect(node).toBe(1);
      const ada = pusherClient(doomed.port, DEMO_APP, { user: { user_id: "ada" } });
      await subscribed(ada, "presence-cl-record");
      const bob = pusherClient(survivor.port, DEMO_APP, { user: { user_id: "bob" } });
      const members = (await subscribed(bob, "presence-cl-record")) as { members: object };
      expect(Object.keys(members.members).sort()).toEqual(["ada", "bob"]);

      await redisCluster.restartShardOf(nodeMembersKey("1"));
      await expect.poll(() => doomed.logs.some((line) => line.msg.startsWith("Redis lost this node's record of its presence members")), { timeout: 10_000 }).toBe(true);
      expect(doomed.logs.filter((line) => line.msg.startsWith("Redis lost its data"))).toEqual([]);
      // The same shard held the live nodes' heartbeats (herald:nodes): the doomed node must be
      // among them again, or nobody would take it for dead (its next beat, within 250 ms).
      await expect.poll(() => redisCluster.cli("zscore", "herald:nodes", "1").trim(), { timeout: 5000 }).not.toBe("");

      const removed = nextCall<{ id: string }>(15_000);
      bob.channel("presence-cl-record").bind("pusher:member_removed", removed.callback);
      doomed.process.kill("SIGKILL");
      expect(await removed.promise).toMatchObject({ id: "ada" });
      const users = await serverSdk(survivor.port, DEMO_APP).get({ path: "/channels/presence-cl-record/users" });
      expect(await users.json()).toEqual({ users: [{ id: "bob" }] });
      bob.disconnect();
      // Neither node's sets stay behind: the dead one's the survivor dropped, and a node
      // that stops takes its marks out, so its emptied sets go.
      const survivorNode = survivor.logs.find((line) => line.msg.startsWith("Herald listening"))?.node;
      await survivor.stop();
      const sets = [node, survivorNode].flatMap((id) => ["channels", "members", "users"].map((kind) => `herald:node:${String(id)}:${kind}`));
      expect(sets.filter((key) => redisCluster.cli("exists", key).trim() !== "0")).toEqual([]);
    } finally {
      await Promise.all([doomed.stop(), survivor.stop()]);
      redisCluster.stop();
    }
  });
});
