/** Two nodes on a Redis Cluster, one of them to be killed, with a presence member on each. */
import { expect } from "vitest";
import { nextCall, pusherClient, serverSdk, subscribed } from "./clients.js";
import { FAST_TIMINGS_ENV } from "./fast-timings.js";
import { DEMO_APP, startHerald, type Herald } from "./herald.js";
import type { RedisCluster } from "./redis.js";
import { NODE_NUMBER_KEY, nodeMembersKey } from "../../src/cluster/redis-keys.js";

/** The node number a Herald drew, as its listening line says. */
export const nodeOf = (herald: Herald) => String(herald.logs.find((line) => line.msg.startsWith("Herald listening"))?.node);

/**
 * A survivor with bob, and a doomed node with ada, both in `channel`. The doomed node's record
 * of its members is on none of the shards `avoid`, so that restarting those does not lose it:
 * the node counter is set so that the doomed node draws the first number whose record is
 * elsewhere (a node draws the first of the numbers it takes: two with --workers 2).
 */
export async function doomedNode(redisCluster: RedisCluster, avoid: number[], channel: string) {
  const args = ["--redis-cluster", redisCluster.nodes];
  const survivor = await startHerald({ args, env: FAST_TIMINGS_ENV });
  let number = Number(redisCluster.cli("get", NODE_NUMBER_KEY)) + 1;
  while (avoid.includes(redisCluster.shardOf(nodeMembersKey(String(number))))) number += 1;
  redisCluster.cli("set", NODE_NUMBER_KEY, String(number - 1));
  const doomed = await startHerald({ args, env: FAST_TIMINGS_ENV });
  const stop = async () => {
    await Promise.all([survivor.stop(), doomed.stop()]);
    redisCluster.stop();
  };
  try {
    expect(nodeOf(doomed)).toBe(String(number));
    const ada = pusherClient(doomed.port, DEMO_APP, { user: { user_id: "ada" } });
    await subscribed(ada, channel);
    const bob = pusherClient(survivor.port, DEMO_APP, { user: { user_id: "bob" } });
    const members = (await subscribed(bob, channel)) as { members: object };
    expect(Object.keys(members.members).sort()).toEqual(["ada", "bob"]);
    /** Kills the doomed node, runs `meanwhile` once it has exited, and expects ada gone for bob and the survivor's API. */
    const killAndExpectAdaGone = async (meanwhile: () => Promise<void>) => {
      const removed = nextCall<{ id: string }>(15_000);
      bob.channel(channel).bind("pusher:member_removed", removed.callback);
      const ended = new Promise((exited) => doomed.process.once("exit", exited));
      doomed.process.kill("SIGKILL");
      await ended;
      await meanwhile();
      expect(await removed.promise).toMatchObject({ id: "ada" });
      const users = await serverSdk(survivor.port, DEMO_APP).get({ path: `/channels/${channel}/users` });
      expect(await users.json()).toEqual({ users: [{ id: "bob" }] });
      bob.disconnect();
    };
    return { doomed, killAndExpectAdaGone, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
