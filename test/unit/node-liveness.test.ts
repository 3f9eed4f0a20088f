/**
 * A dead node's cleanup that Redis cuts short is tried again at the next heartbeat by the
 * node that claimed it, and by another node when that one stops or dies before it is through.
 */
import { Redis } from "ioredis";
import { describe, expect, it, vi } from "vitest";
import { SKIP_REDIS_TESTS } from "../helpers/redis.js";
import { capturedLog, useRedisConnection } from "../helpers/redis-connection.js";

/** This file's own copy of the module, with short timings (test/setup.ts puts the environment back). */
async function briskLiveness() {
  process.env.HERALD_TEST_TIMINGS = JSON.stringify({ heartbeatMs: 50, deadAfterMs: 200 });
  vi.resetModules();
  const { NodeLiveness } = await import("../../src/cluster/node-liveness.js");
  const { NODES_KEY } = await import("../../src/cluster/redis-keys.js");
  return { NodeLiveness, NODES_KEY };
}

describe.skipIf(SKIP_REDIS_TESTS)("NodeLiveness", () => {
  const connection = useRedisConnection();

  it("tries a dead node's cleanup again at the next heartbeat when it failed", async () => {
    const { NodeLiveness, NODES_KEY } = await briskLiveness();
    const { redis } = connection;
    const { log, lines } = capturedLog();
    await redis.zadd(NODES_KEY, 0, "gone");
    const cleanups: string[] = [];
    const liveness = new NodeLiveness(redis, "alive", async (deadNodeId) => {
      cleanups.push(deadNodeId);
      if (cleanups.length === 1) throw new Error("Connection is closed.");
    }, () => undefined, log);
    liveness.start();
    try {
      await expect.poll(() => cleanups, { timeout: 5000 }).toEqual(["gone", "gone"]);
      expect(lines.map(({ msg }) => msg)).toEqual(["node gone stopped answering; removing its sockets from the cluster's state", "cleaning up after a dead node failed; tried again at the next heartbeat"]);
    } finally {
      await liveness.stop();
    }
  });

  it("hands a dead node it could not clean up after back when it stops, and another node cleans up after it", async () => {
    const { NodeLiveness, NODES_KEY } = await briskLiveness();
    const { redis } = connection;
    const { log } = capturedLog();
    await redis.zadd(NODES_KEY, 0, "gone-too");
    const tried: string[] = [];
    const leaving = new NodeLiveness(redis, "leaving", async (deadNodeId) => {
      tried.push(deadNodeId);
      throw new Error("Connection is closed.");
    }, () => undefined, log);
    leaving.start();
    await expect.poll(() => tried, { timeout: 5000 }).toContain("gone-too");
    await leaving.stop();
    const cleaned: string[] = [];
    const heir = new NodeLiveness(redis, "heir", async (deadNodeId) => void cleaned.push(deadNodeId), () => undefined, log);
    heir.start();
    try {
      await expect.poll(() => cleaned, { timeout: 5000 }).toEqual(["gone-too"]);
      expect(await redis.zrange(NODES_KEY, "0", "-1")).toEqual(["heir"]);
    } finally {
      await heir.stop();
    }
  });
  it("leaves a dead node's cleanup to another node when the node that claimed it dies before it is through", async () => {
    const { NodeLiveness, NODES_KEY } = await briskLiveness();
    const { redis, server } = connection;
    const { log } = capturedLog();
    await redis.zadd(NODES_KEY, 0, "gone-again");
    // The claimer's own connection, cut as it dies; its cleanup never gets through.
    const claimersRedis = new Redis(server.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    claimersRedis.on("error", () => undefined);
    await new Promise((ready) => claimersRedis.once("ready", ready));
    const tried: string[] = [];
    let release = () => {};
    const claimer = new NodeLiveness(claimersRedis, "claimer", async (deadNodeId) => {
      tried.push(deadNodeId);
      await new Promise<void>((released) => (release = released));
    }, () => undefined, log);
    claimer.start();
    await expect.poll(() => tried, { timeout: 5000 }).toEqual(["gone-again"]);
    // Claimed, it stays in the set, beaten for (its beat of 0 replaced).
    expect(Number(await redis.zscore(NODES_KEY, "gone-again"))).toBeGreaterThan(0);
    claimersRedis.disconnect();
    const cleaned: string[] = [];
    const heir = new NodeLiveness(redis, "heir", async (deadNodeId) => void cleaned.push(deadNodeId), () => undefined, log);
    heir.start();
    try {
      await expect.poll(() => [...cleaned].sort(), { timeout: 5000 }).toEqual(["claimer", "gone-again"]);
      expect(await redis.zrange(NODES_KEY, "0", "-1")).toEqual(["heir"]);
      expect(tried).toEqual(["gone-again"]);
    } finally {
      release();
      await Promise.all([heir.stop(), claimer.stop()]);
    }
  });
  it("finds this node taken for dead when a beat finds it out of the set, and not at its first beat", async () => {
    const { NodeLiveness, NODES_KEY } = await briskLiveness();
    const { redis } = connection;
    const { log, lines } = capturedLog();
    let takenForDead = 0;
    const liveness = new NodeLiveness(redis, "stalled", async () => undefined, () => (takenForDead += 1), log);
    liveness.start();
    try {
      await expect.poll(() => redis.zscore(NODES_KEY, "stalled"), { timeout: 5000 }).not.toBe(null);
      // As a survivor's cleanup after it ends.
      await redis.zrem(NODES_KEY, "stalled");
      await expect.poll(() => takenForDead, { timeout: 5000 }).toBe(1);
      // The later marker: beats after the one that put it back (scored 50 ms apart), which find it in the set.
      const back = Number(await redis.zscore(NODES_KEY, "stalled"));
      await expect.poll(async () => Number(await redis.zscore(NODES_KEY, "stalled")), { timeout: 5000 }).toBeGreaterThan(back + 120);
      expect(takenForDead).toBe(1);
      expect(lines.filter(({ msg }) => msg.includes("taken for dead"))).toHaveLength(1);
    } finally {
      await liveness.stop();
    }
  });
});
