/**
 * A departure whose hold ends while Redis is away: confirmed once Redis is back, even
 * when Redis came back empty, and not when another node put back what it had emptied.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisDepartures } from "../../src/cluster/redis-departures.js";
import { SKIP_REDIS_TESTS, startRedis, type RedisServer } from "../helpers/redis.js";

describe.skipIf(SKIP_REDIS_TESTS)("RedisDepartures across a Redis that restarts empty", () => {
  let server: RedisServer;
  let redis: Redis;
  beforeAll(async () => {
    server = await startRedis();
    // As Herald's own connection: commands fail at once while Redis is away.
    redis = new Redis(server.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: () => 50 });
    redis.on("error", () => undefined);
    await new Promise((ready) => redis.once("ready", ready));
  });
  afterAll(async () => {
    redis.disconnect();
    await server.kill();
  });

  it("confirms a departure Redis was away for once, after its marker is set again, unless what it emptied came back", async () => {
    const departures = new RedisDepartures(redis, 100);
    const reported: string[] = [];
    // As set-count.lua leaves them: each marker names this node, and nothing holds either channel.
    await redis.set("marker:left", "n1");
    await redis.set("marker:back", "n1");
    departures.confirmLater("marker:left", "subs:left", "n1", () => reported.push("left"));
    departures.confirmLater("marker:back", "subs:back", "n1", () => reported.push("back"));
    await server.kill();
    // The holds end while Redis is away: their confirmations fail, and settled() does not wait for Redis.
    await departures.settled();
    expect(reported).toEqual([]);

    await server.start();
    await expect.poll(() => redis.status, { timeout: 5000 }).toBe("ready");
    expect(await redis.dbsize()).toBe(0);
    expect(await departures.restore()).toBe(2);
    // Another node puts back its count of "back": that departure no longer stands.
    await redis.hset("subs:back", "n2", "1");
    departures.retry();
    await departures.settled();
    expect(reported).toEqual(["left"]);
    // Confirmed or found cancelled, both are done with.
    departures.retry();
    await departures.settled();
    expect(reported).toEqual(["left"]);
    expect(await departures.restore()).toBe(0);
  });

  it("lets a later departure under the same marker take the place of the earlier", async () => {
    const departures = new RedisDepartures(redis, 100);
    const reported: string[] = [];
    await redis.set("marker:twice", "n1");
    departures.confirmLater("marker:twice", "subs:twice", "n1", () => reported.push("first"));
    departures.confirmLater("marker:twice", "subs:twice", "n1", () => reported.push("second"));
    await departures.settled();
    expect(reported).toEqual(["second"]);
    expect(await departures.restore()).toBe(0);
  });
});
