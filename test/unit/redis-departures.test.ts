/**
 * A departure whose hold ends while Redis is away: confirmed once Redis is back, even
 * when Redis came back empty, and not when another node put back what it had emptied.
 * A write carried out whose answer did not come: what it made is reported once.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { MARKER_TTL_MS, RedisDepartures } from "../../src/cluster/redis-departures.js";
import { SKIP_REDIS_TESTS, startRedis, type RedisServer } from "../helpers/redis.js";

describe.skipIf(SKIP_REDIS_TESTS)("RedisDepartures across a Redis that restarts empty", () => {
  let server: RedisServer;
  let redis: Redis;
  beforeAll(async () => {
    server = await startRedis();
    // As Herald's own connection: commands fail at once while Redis is away.
    redis = new Redis(server.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => 50 });
    redis.on("error", () => undefined);
    await new Promise((ready) => redis.once("ready", ready));
  });
  afterAll(async () => {
    redis.disconnect();
    await server.kill();
  });

  it("confirms a departure Redis was away for once, after its marker is set again, unless what it emptied came back", async () => {
    const departures = new RedisDepartures(redis, 100, "n1");
    const reported: string[] = [];
    // As set-count.lua leaves them: each marker names this node, and nothing holds either channel.
    await redis.set("marker:left", "n1");
    await redis.set("marker:back", "n1");
    departures.confirmLater("app", "marker:left", "subs:left", "n1", () => reported.push("left"));
    departures.confirmLater("app", "marker:back", "subs:back", "n1", () => reported.push("back"));
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

  it("does not set again, into a Redis that lost its data, the marker of a departure whose write got no answer", async () => {
    const departures = new RedisDepartures(redis, 100, "n1");
    const reported: string[] = [];
    // The write that would have set its marker failed as Redis went away: it may never have been carried out.
    departures.confirmLater("app", "marker:unanswered", "subs:unanswered", "n1", () => reported.push("unanswered"), false);
    await server.kill();
    await departures.settled();
    await server.start();
    await expect.poll(() => redis.status, { timeout: 5000 }).toBe("ready");
    expect(await departures.restore()).toBe(0);
    departures.retry();
    await departures.settled();
    expect(reported).toEqual([]);
  });

  it("keeps a departure held under a marker when a later write under it gets no answer", async () => {
    const departures = new RedisDepartures(redis, 100, "n1");
    const reported: string[] = [];
    await redis.set("marker:kept", "n1");
    departures.confirmLater("app", "marker:kept", "subs:kept", "n1", () => reported.push("kept"));
    await server.kill();
    // Its confirmation fails; then a resync's write of the same (empty) count fails too, as Redis went away again.
    await departures.settled();
    departures.confirmLater("app", "marker:kept", "subs:kept", "n1", () => reported.push("unanswered"), false);
    await server.start();
    await expect.poll(() => redis.status, { timeout: 5000 }).toBe("ready");
    // Into the empty Redis, the held departure's marker is set again: it is still the one held.
    expect(await departures.restore()).toBe(1);
    departures.retry();
    await departures.settled();
    expect(reported).toEqual(["kept"]);
  });

  it("lets a later departure under the same marker take the place of the earlier", async () => {
    const departures = new RedisDepartures(redis, 100, "n1");
    const reported: string[] = [];
    await redis.set("marker:twice", "n1");
    departures.confirmLater("app", "marker:twice", "subs:twice", "n1", () => reported.push("first"));
    departures.confirmLater("app", "marker:twice", "subs:twice", "n1", () => reported.push("second"));
    await departures.settled();
    expect(reported).toEqual(["second"]);
    expect(await departures.restore()).toBe(0);
  });

  it("confirms a departure again, as stands, when the confirmation was carried out and its answer did not come; only once", async () => {
    const confirm = readFileSync(resolve(import.meta.dirname, "../../src/cluster/scripts/confirm-departure.lua"), "utf8");
    const send = () => redis.eval(confirm, 3, "marker:lost", "subs:lost", "answer:lost", "n1", MARKER_TTL_MS);
    await redis.set("marker:lost", "n1");
    // The first is carried out (its answer, lost to an outage, was 1); the marker is gone.
    expect(await send()).toBe(1);
    expect(await redis.exists("marker:lost")).toBe(0);
    // Sent again once Redis is back: still 1, and then no more.
    expect(await send()).toBe(1);
    expect(await send()).toBe(0);
  });

  it("reports an arrival whose write got no answer once Redis is back, if the write made it", async () => {
    const departures = new RedisDepartures(redis, 100, "n1");
    const reported: string[] = [];
    const made = departures.answerKey("app");
    const notMade = departures.answerKey("app");
    expect(made).not.toBe(notMade);
    // As set-count.lua and presence-join.lua leave an arrival they made under the write's answer key.
    await redis.set(made, "1", "PX", MARKER_TTL_MS);
    departures.unansweredArrival(made, () => reported.push("made"));
    departures.unansweredArrival(notMade, () => reported.push("not made"));
    departures.retry();
    await departures.settled();
    expect(reported).toEqual(["made"]);
    expect(await redis.exists(made)).toBe(0);
    departures.retry();
    await departures.settled();
    expect(reported).toEqual(["made"]);
  });
  it("names every answer key of a node apart, however many parts of it keep them: a confirmation never takes another's outcome for its own", async () => {
    // Occupancy's and presence's, on one node.
    const occupancy = new RedisDepartures(redis, 50, "n9");
    const presence = new RedisDepartures(redis, 50, "n9");
    // An arrival's outcome, kept until its answer is read (as set-count.lua leaves it).
    await redis.set(occupancy.answerKey("app"), "1", "PX", MARKER_TTL_MS);
    // A departure an arrival cancelled within its hold: the arrival deleted its marker.
    const reported: string[] = [];
    presence.confirmLater("app", "marker:cancelled", "nodes:cancelled", "n9", () => reported.push("cancelled"));
    await presence.settled();
    expect(reported).toEqual([]);
  });
});
