/**
 * A dead node's cleanup that Redis cuts short is tried again at the next heartbeat: the
 * node that took the dead one out of the set is the only one that will.
 */
import { Redis } from "ioredis";
import pino from "pino";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { SKIP_REDIS_TESTS, startRedis, type RedisServer } from "../helpers/redis.js";

describe.skipIf(SKIP_REDIS_TESTS)("NodeLiveness", () => {
  let server: RedisServer;
  let redis: Redis;
  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis(server.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    await new Promise((ready) => redis.once("ready", ready));
  });
  afterAll(async () => {
    redis.disconnect();
    await server.kill();
  });

  it("tries a dead node's cleanup again at the next heartbeat when it failed", async () => {
    // Short timings for this file's own copy of the module (test/setup.ts puts the environment back).
    process.env.HERALD_TEST_TIMINGS = JSON.stringify({ heartbeatMs: 50, deadAfterMs: 200 });
    vi.resetModules();
    const { NodeLiveness } = await import("../../src/cluster/node-liveness.js");
    const { NODES_KEY } = await import("../../src/cluster/redis-keys.js");
    const lines: Array<{ msg: string }> = [];
    const log = pino({ level: "info" }, new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(JSON.parse(chunk.toString())), done()) }));
    await redis.zadd(NODES_KEY, 0, "gone");
    const cleanups: string[] = [];
    const liveness = new NodeLiveness(redis, "alive", async (deadNodeId) => {
      cleanups.push(deadNodeId);
      if (cleanups.length === 1) throw new Error("Connection is closed.");
    }, log);
    liveness.start();
    try {
      await expect.poll(() => cleanups, { timeout: 5000 }).toEqual(["gone", "gone"]);
      expect(lines.map(({ msg }) => msg)).toEqual(["node gone stopped answering; removing its sockets from the cluster's state", "cleaning up after a dead node failed; tried again at the next heartbeat"]);
    } finally {
      await liveness.stop();
    }
  });
});
