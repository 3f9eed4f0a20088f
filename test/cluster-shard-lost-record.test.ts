/**
 * A node killed just after the Redis Cluster shard holding its own record of its members
 * restarted empty, before a heartbeat of its could write the record again: the survivor
 * finds what it held among the app's keys, on whichever shard they are. (Apart from
 * cluster-shards.test.ts, so that the two run side by side.)
 */
import { describe, expect, it } from "vitest";
import { nextCall, serverSdk } from "./helpers/clients.js";
import { doomedNode, nodeOf } from "./helpers/doomed-node.js";
import { DEMO_APP } from "./helpers/herald.js";
import { SKIP_REDIS_TESTS, startRedisCluster } from "./helpers/redis.js";
import { generationKey, NODES_KEY, nodeMembersKey } from "../src/cluster/redis-keys.js";

describe.skipIf(SKIP_REDIS_TESTS)("a Redis Cluster that lost a dead node's record", () => {
  it("removes the members of a node that died just after the shard holding its record restarted empty", { timeout: 40_000 }, async () => {
    const redisCluster = await startRedisCluster();
    // The restart must lose only the record: not the app's data, nor the heartbeats.
    const { survivor, doomed, bob, stop } = await doomedNode(redisCluster, [redisCluster.shardOf(generationKey(DEMO_APP.id)), redisCluster.shardOf(NODES_KEY)], "presence-cl-lost");
    try {
      // The doomed node wrote ada into its record before it answered her join.
      const record = nodeMembersKey(nodeOf(doomed));
      expect(redisCluster.cli("smembers", record)).toContain("ada");
      const removed = nextCall<{ id: string }>(15_000);
      bob.channel("presence-cl-lost").bind("pusher:member_removed", removed.callback);
      const ended = new Promise((exited) => doomed.process.once("exit", exited));
      doomed.process.kill("SIGKILL");
      await ended;
      await redisCluster.restartShardOf(record);
      expect(await removed.promise).toMatchObject({ id: "ada" });
      const users = await serverSdk(survivor.port, DEMO_APP).get({ path: "/channels/presence-cl-lost/users" });
      expect(await users.json()).toEqual({ users: [{ id: "bob" }] });
      bob.disconnect();
    } finally {
      await stop();
    }
  });
});
