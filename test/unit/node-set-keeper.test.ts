/**
 * A node's own sets in Redis: marked, written again from what the node holds when Redis
 * lost them (and said so), read without the mark, and left to go when the node stops.
 */
import { describe, expect, it } from "vitest";
import { NodeSetKeeper } from "../../src/cluster/node-set-keeper.js";
import { eachNodeEntry, NODE_SET_MARK, nodeEntry } from "../../src/cluster/node-entries.js";
import { SKIP_REDIS_TESTS } from "../helpers/redis.js";
import { capturedLog, useRedisConnection } from "../helpers/redis-connection.js";

describe.skipIf(SKIP_REDIS_TESTS)("NodeSetKeeper", () => {
  const connection = useRedisConnection();
  const { log, lines } = capturedLog<{ msg: string; set?: string; entries?: number }>();

  it("marks the sets, writes a lost one again from what the node holds, and leaves an emptied one to go at stop", async () => {
    const { redis } = connection;
    const held = [nodeEntry("app", "presence-a", "ada"), nodeEntry("app", "presence-a", "bob\nline")];
    const recovery = { writable: true };
    const keeper = new NodeSetKeeper(redis, [{ key: "n:members", of: "presence members", entries: () => held }, { key: "n:users", of: "signed-in users", entries: () => [] }], recovery, log);
    await keeper.check();
    expect((await redis.smembers("n:members")).sort()).toEqual([NODE_SET_MARK, ...held].sort());
    expect(await redis.smembers("n:users")).toEqual([NODE_SET_MARK]);
    expect(lines).toEqual([]);

    // Read without the mark, each entry split as written.
    const visited: string[][] = [];
    await eachNodeEntry(redis, "n:members", 3, async (parts) => visited.push(parts));
    expect(visited.sort()).toEqual([["app", "presence-a", "ada"], ["app", "presence-a", "bob\nline"]]);

    // Lost while Redis is not to be written (an outage's recovery writes it then): left alone,
    // so that the next heartbeat finds it lost (and says so, once).
    await redis.del("n:members");
    recovery.writable = false;
    await keeper.check();
    recovery.writable = true;
    expect(await redis.exists("n:members")).toBe(0);
    await keeper.check();
    expect(await redis.scard("n:members")).toBe(3);
    expect(lines).toMatchObject([{ set: "n:members", entries: 2, msg: "Redis lost this node's record of its presence members: written again, so that they are undone if this node dies" }]);

    await keeper.stop();
    expect((await redis.smembers("n:members")).sort()).toEqual([...held].sort());
    expect(await redis.exists("n:users")).toBe(0);
    await redis.del("n:members");
  });
});
