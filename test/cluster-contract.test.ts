/**
 * One conformance suite for the cluster contract, run against each of its
 * implementations: the single process, and two nodes on a real Redis.
 */
import { AppRegistry } from "../src/apps/app-registry.js";
import { singleNode } from "../src/cluster/local-cluster.js";
import { joinCluster } from "../src/cluster/redis-cluster.js";
import { createLogger } from "../src/logger.js";
import { CONTRACT_APPS, describeClusterContract } from "./helpers/cluster-contract.js";
import { SKIP_REDIS_TESTS, startRedis, type RedisServer } from "./helpers/redis.js";

describeClusterContract("a single process", 1, async () => [singleNode(1024 * 1024)]);

if (!SKIP_REDIS_TESTS) {
  let redis: RedisServer | undefined;
  describeClusterContract(
    "two nodes on Redis",
    2,
    async (count) => {
      redis = await startRedis();
      const log = createLogger("silent");
      const target = { url: redis.url, sentinels: undefined, sentinelName: "mymaster", clusterNodes: undefined };
      const memberships = await Promise.all(Array.from({ length: count }, () => joinCluster({ target, apps: new AppRegistry(CONTRACT_APPS), log })));
      return memberships.map((membership) => membership.start);
    },
    async () => redis?.kill(),
  );
}
