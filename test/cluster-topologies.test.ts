/**
 * Redis behind Sentinel, and a Redis Cluster, as the store of a cluster (cluster-shards.test.ts:
 * a Redis Cluster whose shards restart).
 */
import { describe, expect, it } from "vitest";
import { nextCall, pusherClient, serverSdk, subscribed } from "./helpers/clients.js";
import { DEMO_APP, startHerald } from "./helpers/herald.js";
import { SKIP_REDIS_TESTS, startRedis, startRedisCluster, startSentinel } from "./helpers/redis.js";

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
});
