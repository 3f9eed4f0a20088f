/**
 * A Redis Cluster whose shards restart empty, one at a time: the app's data, a node's own
 * sets and the nodes' heartbeats each on a shard of their own.
 */
import { describe, expect, it } from "vitest";
import { nextCall, pusherClient, serverSdk, sleep, subscribed } from "./helpers/clients.js";
import { until, webhookEvents } from "./helpers/cluster-nodes.js";
import { doomedNode, nodeOf } from "./helpers/doomed-node.js";
import { FAST_TIMINGS_ENV } from "./helpers/fast-timings.js";
import { DEMO_APP, startHerald, type AppConfig } from "./helpers/herald.js";
import { SKIP_REDIS_TESTS, startRedisCluster } from "./helpers/redis.js";
import { startWebhookReceiver } from "./helpers/webhook-receiver.js";
import { generationKey, NODES_KEY, nodeMembersKey } from "../src/cluster/redis-keys.js";


describe.skipIf(SKIP_REDIS_TESTS)("a Redis Cluster whose shards restart", () => {
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

  it("removes a member who left while the Redis Cluster shard holding its node's record was down and came back empty", { timeout: 40_000 }, async () => {
    const redisCluster = await startRedisCluster();
    const args = ["--redis-cluster", redisCluster.nodes];
    // One after the other, so that the first is node 1.
    const first = await startHerald({ args, env: FAST_TIMINGS_ENV });
    const second = await startHerald({ args, env: FAST_TIMINGS_ENV });
    try {
      const node = nodeOf(first);
      expect(node).toBe("1");
      // Only the node's record is lost: the app's data (and its generation) is on another shard.
      const shard = redisCluster.shardOf(nodeMembersKey("1"));
      expect(shard).not.toBe(redisCluster.shardOf(generationKey(DEMO_APP.id)));
      const ada = pusherClient(first.port, DEMO_APP, { user: { user_id: "ada" } });
      await subscribed(ada, "presence-cl-record");
      const carl = pusherClient(first.port, DEMO_APP, { user: { user_id: "carl" } });
      await subscribed(carl, "presence-cl-record");
      const bob = pusherClient(second.port, DEMO_APP, { user: { user_id: "bob" } });
      const members = (await subscribed(bob, "presence-cl-record")) as { members: object };
      expect(Object.keys(members.members).sort()).toEqual(["ada", "bob", "carl"]);

      await redisCluster.stopShard(shard);
      await until(() => first.logs.some((line) => line.msg.includes("is unreachable")), "the first node to lose the shard");
      // Ada leaves while her node cannot write it: carl, on the same node, hears it at once.
      const heardByCarl = nextCall<{ id: string }>();
      carl.channel("presence-cl-record").bind("pusher:member_removed", heardByCarl.callback);
      const heardByBob = nextCall<{ id: string }>(20_000);
      bob.channel("presence-cl-record").bind("pusher:member_removed", heardByBob.callback);
      ada.disconnect();
      expect(await heardByCarl.promise).toMatchObject({ id: "ada" });
      await redisCluster.startShard(shard);
      // Back, the node finds its record gone, writes it again from what Redis last took of it,
      // and its resync then finds ada there and not on the node: removed, and the other node told.
      expect(await heardByBob.promise).toMatchObject({ id: "ada" });
      await until(() => first.logs.some((line) => line.msg.includes("presence members written to Redis again")), "the first node's resync", 10_000);
      const users = await serverSdk(second.port, DEMO_APP).get({ path: "/channels/presence-cl-record/users" });
      expect(((await users.json()) as { users: Array<{ id: string }> }).users.map(({ id }) => id).sort()).toEqual(["bob", "carl"]);
      bob.disconnect();
      carl.disconnect();
      // Neither node's sets stay behind: a node that stops takes its marks out, so its emptied sets go.
      const secondNode = nodeOf(second);
      await Promise.all([first.stop(), second.stop()]);
      const sets = [node, secondNode].flatMap((id) => ["channels", "members", "users"].map((kind) => `herald:node:${id}:${kind}`));
      expect(sets.filter((key) => redisCluster.cli("exists", key).trim() !== "0")).toEqual([]);
    } finally {
      await Promise.all([first.stop(), second.stop()]);
      redisCluster.stop();
    }
  });

  it("reports a channel occupied once when the Redis Cluster shard holding its app's data restarts empty and a node writes right after", { timeout: 40_000 }, async () => {
    const redisCluster = await startRedisCluster();
    const receiver = await startWebhookReceiver();
    const hooked: AppConfig = { id: "cl-shard-hooked", key: "cl-shard-hooked-key", secret: "cl-shard-hooked-secret", webhooks: [{ url: receiver.url, event_types: ["channel_occupied", "channel_vacated"] }] };
    // Production timings: the app's generation, which says Redis lost the data, is read every 3 s.
    const args = ["--redis-cluster", redisCluster.nodes];
    const [first, second] = await Promise.all([startHerald({ apps: [hooked], args }), startHerald({ apps: [hooked], args })]);
    try {
      const events = () => webhookEvents(receiver, hooked, first.port);
      const ada = pusherClient(first.port, hooked);
      await subscribed(ada, "cl-shard-occupied");
      await until(() => events().length === 1, "channel_occupied");
      await redisCluster.restartShardOf(generationKey(hooked.id));
      // At once, on the other node: a count written into the emptied shard would be the channel's first.
      const bob = pusherClient(second.port, hooked);
      await subscribed(bob, "cl-shard-occupied");
      await until(() => [first, second].every((node) => node.logs.some((line) => line.msg.startsWith("Redis lost its data"))), "both nodes to put their share back", 10_000);
      await until(() => [first, second].every((node) => node.logs.some((line) => line.msg.startsWith("writing this node's channel counts to Redis again"))), "both nodes to write their counts again", 10_000);
      ada.disconnect();
      bob.disconnect();
      await until(() => events().includes("channel_vacated cl-shard-occupied"), "channel_vacated", 10_000);
      expect(events()).toEqual(["channel_occupied cl-shard-occupied", "channel_vacated cl-shard-occupied"]);
    } finally {
      await Promise.all([first.stop(), second.stop()]);
      redisCluster.stop();
      await receiver.close();
    }
  });

  it("takes a node that died just before the Redis Cluster shard holding the heartbeats restarted empty for dead all the same", { timeout: 40_000 }, async () => {
    const redisCluster = await startRedisCluster();
    const heartbeats = redisCluster.shardOf(NODES_KEY);
    // The shard's restart must lose only the heartbeats, not the doomed node's record of its members.
    const { doomed, killAndExpectAdaGone, stop } = await doomedNode(redisCluster, [heartbeats], "presence-cl-beats");
    try {
      // The survivor has read the doomed node's beats (it beats every 250 ms here).
      await expect.poll(() => redisCluster.cli("zscore", NODES_KEY, nodeOf(doomed)).trim()).not.toBe("");
      await sleep(600);

      await killAndExpectAdaGone(() => redisCluster.restartShard(heartbeats));
    } finally {
      await stop();
    }
  });
});
