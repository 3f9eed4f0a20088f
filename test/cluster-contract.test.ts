/**
 * One conformance suite for the cluster contract, run against each of its
 * implementations: the single process, two nodes on a real Redis, and two worker
 * threads' sides of one process's hub (over real MessagePorts).
 */
import { AppRegistry } from "../src/apps/app-registry.js";
import { singleNode } from "../src/cluster/local-cluster.js";
import { joinCluster } from "../src/cluster/redis-cluster.js";
import { ThreadHub } from "../src/cluster/thread-hub.js";
import { NodeThreadHub } from "../src/cluster/thread-node-hub.js";
import { ThreadOccupancy } from "../src/cluster/thread-occupancy.js";
import { ThreadSlots } from "../src/cluster/thread-tally.js";
import { createLogger } from "../src/logger.js";
import { CONTRACT_APPS, describeClusterContract, threadSides } from "./helpers/cluster-contract.js";
import { SKIP_REDIS_TESTS, startRedis, type RedisServer } from "./helpers/redis.js";

describeClusterContract("a single process", 1, async () => [singleNode(1024 * 1024)]);

let hub: ThreadHub | undefined;
describeClusterContract(
  "two worker threads on the main thread's hub",
  2,
  async (count) => {
    const threads = new ThreadOccupancy(ThreadOccupancy.buffer(count));
    hub = new ThreadHub(1024 * 1024, threads);
    return threadSides(hub, count, new ThreadSlots(count), threads);
  },
  async () => hub?.stop(),
);

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

  let nodeHub: NodeThreadHub | undefined;
  let nodeRedis: RedisServer | undefined;
  describeClusterContract(
    "two worker threads of one Redis node",
    2,
    async (count) => {
      nodeRedis = await startRedis();
      const log = createLogger("silent");
      const target = { url: nodeRedis.url, sentinels: undefined, sentinelName: "mymaster", clusterNodes: undefined };
      const apps = new AppRegistry(CONTRACT_APPS);
      const slots = new ThreadSlots(count);
      const threads = new ThreadOccupancy(ThreadOccupancy.buffer(count));
      nodeHub = await NodeThreadHub.start((await joinCluster({ target, apps, log, numbers: count })).start, apps, slots, threads, log);
      return threadSides(nodeHub, count, slots, threads, true);
    },
    async () => {
      await nodeHub?.stop();
      await nodeRedis?.kill();
    },
  );
}
