/**
 * A node killed just after the Redis Cluster shard holding its own record of its members
 * restarted empty, before a heartbeat of its could write the record again: the survivor
 * finds what it held among the app's keys, on whichever shard they are. (Apart from
 * cluster-shards.test.ts, so that the two run side by side.)
 */
import { describe, expect, it } from "vitest";
import { doomedNode, nodeOf } from "./helpers/doomed-node.js";
import { DEMO_APP } from "./helpers/herald.js";
import { SKIP_REDIS_TESTS, startRedisCluster } from "./helpers/redis.js";
import { generationKey, NODES_KEY, nodeMembersKey } from "../src/cluster/redis-keys.js";

describe.skipIf(SKIP_REDIS_TESTS)("a Redis Cluster that lost a dead node's record", () => {
  it("removes the members of a node that died just after the shard holding its record restarted empty", { timeout: 40_000 }, async () => {
    const redisCluster = await startRedisCluster();
    // The restart must lose only the record: not the app's data, nor the heartbeats.
    const { doomed, killAndExpectAdaGone, stop } = await doomedNode(redisCluster, [redisCluster.shardOf(generationKey(DEMO_APP.id)), redisCluster.shardOf(NODES_KEY)], "presence-cl-lost");
    try {
      // The doomed node wrote ada into its record before it answered her join.
      const record = nodeMembersKey(nodeOf(doomed));
      expect(redisCluster.cli("smembers", record)).toContain("ada");
      await killAndExpectAdaGone(() => redisCluster.restartShardOf(record));
    } finally {
      await stop();
    }
  });
});
