/**
 * --workers 2 when a thread dies (an uncaught exception, made by the test-only
 * HERALD_TEST_WORKER_CRASH): its sockets' members are released for the others, on
 * this process and on others of a cluster, and the thread starts again.
 */
import { get } from "node:http";
import { describe, expect, it } from "vitest";
import { RawClient, pusherClient, serverSdk, sleep, subscribed } from "./helpers/clients.js";
import { DEMO_APP, startHerald } from "./helpers/herald.js";
import { SKIP_REDIS_TESTS, startRedis } from "./helpers/redis.js";
import { freePort } from "./helpers/redis-server.js";
import { nodeOf, threadsReached } from "./helpers/threads.js";

/** /health's uptimeSeconds, asked on a connection of its own (so the kernel picks a thread for it). */
function healthOnNewConnection(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    get({ host: "127.0.0.1", port, path: "/health", agent: false }, (response) => {
      let body = "";
      response.on("data", (chunk: Buffer) => (body += String(chunk)));
      response.on("end", () => resolve((JSON.parse(body) as { uptimeSeconds: number }).uptimeSeconds));
    }).on("error", reject);
  });
}

describe("--workers 2, a thread that dies", () => {
  it("survives a thread that throws: its members are removed for the others, and the thread starts again", { timeout: 20_000 }, async () => {
    const metricsPort = await freePort();
    const server = await startHerald({ args: ["--workers", "2", "--metrics-port", String(metricsPort)], env: { HERALD_TEST_WORKER_CRASH: "1" } });
    const started = Date.now();
    const join = async (userId: string) => {
      const client = await RawClient.connect(server.port);
      const socketId = await client.socketId();
      const channelData = JSON.stringify({ user_id: userId });
      const { auth } = serverSdk(server.port, DEMO_APP).authorizeChannel(socketId, "presence-w-crash", { user_id: userId });
      client.send({ event: "pusher:subscribe", data: { channel: "presence-w-crash", auth, channel_data: channelData } });
      await client.event("pusher_internal:subscription_succeeded");
      return { client, socketId, userId };
    };
    const members = [];
    for (let n = 0; n < 12; n++) members.push(await join(`c${n}`));
    const numbers = [...new Set(members.map(({ socketId }) => Number(nodeOf(socketId))))].sort();
    expect(numbers).toHaveLength(2);
    // SIGUSR2 (test-only) makes thread 1, the higher node number, throw.
    const doomed = members.filter(({ socketId }) => Number(nodeOf(socketId)) === numbers[1]);
    const survivors = members.filter(({ socketId }) => Number(nodeOf(socketId)) === numbers[0]);
    const observer = survivors[0]!.client;
    // The process is two seconds old when the thread dies, so the new thread's age differs from it in /health.
    await sleep(2000 - (Date.now() - started));
    const scrape = async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const sample = (text: string, series: string) => Number(text.split("\n").find((line) => line.startsWith(`${series} `))?.split(" ")[1]);
    const openedBefore = sample(await scrape(), 'herald_connections_opened_total{app="app-id"}');
    expect(openedBefore).toBeGreaterThanOrEqual(12);
    server.process.kill("SIGUSR2");
    for (const { client } of doomed) expect(await client.closed(5000)).toBe(4200);
    for (const { userId } of doomed) await observer.next((frame) => frame.event === "pusher_internal:member_removed" && frame.data === JSON.stringify({ user_id: userId }), 5000);
    const users = await serverSdk(server.port, DEMO_APP).get({ path: "/channels/presence-w-crash/users" });
    expect(((await users.json()) as { users: Array<{ id: string }> }).users.map((user) => user.id).sort()).toEqual(survivors.map(({ userId }) => userId).sort());
    expect(server.logs.some((line) => line.msg.includes("a worker thread ended"))).toBe(true);
    // Counters keep what the dead thread had counted (summed, they never go down); gauges do not.
    await expect.poll(scrape, { timeout: 5000 }).toContain('herald_worker_restarts_total{worker="1"} 1');
    const restarted = await scrape();
    expect(sample(restarted, 'herald_connections_opened_total{app="app-id"}')).toBe(openedBefore);
    expect(sample(restarted, 'herald_connections{app="app-id"}')).toBe(survivors.length);
    // Started again: new connections reach both threads once more.
    await expect.poll(() => threadsReached(server.port), { timeout: 10_000 }).toBe(2);
    // Every thread reports the process's uptime, the new one too (each request on a new connection, so both threads answer some).
    const uptimes = await Promise.all(Array.from({ length: 12 }, () => healthOnNewConnection(server.port)));
    expect(uptimes.filter((uptime) => uptime < 2)).toEqual([]);
    // The new thread and the survivor pass each other's events (it met the survivor as it started).
    let newcomer = await join("n0");
    for (let n = 1; Number(nodeOf(newcomer.socketId)) !== numbers[1] && n < 40; n++) {
      newcomer.client.close();
      newcomer = await join(`n${n}`);
    }
    expect(Number(nodeOf(newcomer.socketId))).toBe(numbers[1]);
    newcomer.client.send({ event: "client-ping", channel: "presence-w-crash", data: { from: "new thread" } });
    await observer.next((frame) => frame.event === "client-ping", 5000);
    observer.send({ event: "client-pong", channel: "presence-w-crash", data: { from: "survivor" } });
    await newcomer.client.next((frame) => frame.event === "client-pong", 5000);
    newcomer.client.close();
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(text).toContain('herald_worker_restarts_total{worker="0"} 0\nherald_worker_restarts_total{worker="1"} 1');
    for (const { client } of survivors) client.close();
    await server.stop();
  });

  it("starts the first thread again too, which serves /metrics: the ops port comes back with the restart counted", { timeout: 20_000 }, async () => {
    const metricsPort = await freePort();
    const server = await startHerald({ args: ["--workers", "2", "--metrics-port", String(metricsPort)], env: { HERALD_TEST_WORKER_CRASH: "0" } });
    const scrape = async () => {
      try {
        return await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      } catch {
        return "";
      }
    };
    expect(await scrape()).toContain('herald_worker_restarts_total{worker="0"} 0');
    server.process.kill("SIGUSR2");
    // fetch keeps its connection to the failed thread: the thread closes it as it fails
    // (left open, it would stay silent, and this poll would hang).
    await expect.poll(scrape, { timeout: 10_000, interval: 200 }).toContain('herald_worker_restarts_total{worker="0"} 1');
    // Both threads serve again.
    await expect.poll(() => threadsReached(server.port), { timeout: 10_000 }).toBe(2);
    await server.stop();
  });

  it("logs the thread's failure, not each join it left waiting on the hub", { timeout: 20_000 }, async () => {
    const server = await startHerald({ args: ["--workers", "2"], env: { HERALD_TEST_WORKER_CRASH: "1" } });
    const clients = await Promise.all(Array.from({ length: 12 }, () => RawClient.connect(server.port)));
    const socketIds = await Promise.all(clients.map((client) => client.socketId()));
    const numbers = [...new Set(socketIds.map((socketId) => Number(nodeOf(socketId))))].sort();
    expect(numbers).toHaveLength(2);
    // The sockets on thread 1 (the higher node number) join presence channels without a pause,
    // so that the hub has questions of that thread to answer when it throws.
    const sdk = serverSdk(server.port, DEMO_APP);
    const doomed = clients.map((client, i) => ({ client, socketId: socketIds[i]! })).filter(({ socketId }) => Number(nodeOf(socketId)) === numbers[1]);
    let joins = 0;
    let flooding = true;
    const flood = () => {
      for (const { client, socketId } of doomed) {
        const channel = `presence-w-flood-${joins++}`;
        const { auth, channel_data } = sdk.authorizeChannel(socketId, channel, { user_id: `u${joins}` });
        client.send({ event: "pusher:subscribe", data: { channel, auth, channel_data } });
      }
      if (flooding) setImmediate(flood);
    };
    flood();
    await sleep(200);
    server.process.kill("SIGUSR2");
    // 4200, or 1006 when the close frame is still behind this flood's answers as the failed thread closes its app.
    for (const { client } of doomed) expect([4200, 1006]).toContain(await client.closed(5000));
    flooding = false;
    // The later marker: the thread is back, long after the failed one wrote its last line.
    await expect.poll(() => threadsReached(server.port), { timeout: 10_000 }).toBe(2);
    expect(server.logs.filter((line) => line.msg.includes("this worker thread failed"))).toHaveLength(1);
    expect(server.logs.filter((line) => line.level >= 50 && !/worker thread (failed|ended)/.test(line.msg))).toEqual([]);
    for (const client of clients) client.close();
    await server.stop();
  });
});

describe.skipIf(SKIP_REDIS_TESTS)("--workers 2 with --redis: the process is one node", () => {
  it("releases a dead thread's members for another process's sockets at once, and starts the thread again", { timeout: 20_000 }, async () => {
    const redis = await startRedis();
    const [crashing, other] = await Promise.all([
      startHerald({ args: ["--workers", "2", "--redis", redis.url], env: { HERALD_TEST_WORKER_CRASH: "1" } }),
      startHerald({ args: ["--redis", redis.url] }),
    ]);
    try {
      const nodeNumber = crashing.logs.find((line) => line.msg.startsWith("Herald listening"))!.node as number;
      const watcher = pusherClient(other.port, DEMO_APP, { user: { user_id: "watcher" } });
      await subscribed(watcher, "presence-w-redis");
      // Members on both threads of the crashing process: thread 1's socket ids carry the node's number + 1.
      const members = [];
      for (let n = 0; members.filter(({ socketId }) => nodeOf(socketId) === String(nodeNumber + 1)).length === 0 && n < 20; n++) {
        const client = await RawClient.connect(crashing.port);
        const socketId = await client.socketId();
        const userId = `r${n}`;
        const { auth, channel_data } = serverSdk(crashing.port, DEMO_APP).authorizeChannel(socketId, "presence-w-redis", { user_id: userId });
        client.send({ event: "pusher:subscribe", data: { channel: "presence-w-redis", auth, channel_data } });
        await client.event("pusher_internal:subscription_succeeded");
        members.push({ client, socketId, userId });
      }
      const doomed = members.filter(({ socketId }) => nodeOf(socketId) === String(nodeNumber + 1));
      expect(doomed.length).toBeGreaterThan(0);
      const removed: string[] = [];
      watcher.channel("presence-w-redis").bind("pusher:member_removed", (member: { id: string }) => removed.push(member.id));
      crashing.process.kill("SIGUSR2");
      for (const { client } of doomed) expect(await client.closed(5000)).toBe(4200);
      // Long before the cluster's silence allowance (10 s): the process releases its thread's members itself.
      await expect.poll(() => removed.sort(), { timeout: 5000 }).toEqual(doomed.map(({ userId }) => userId).sort());
      const users = (await (await serverSdk(other.port, DEMO_APP).get({ path: "/channels/presence-w-redis/users" })).json()) as { users: Array<{ id: string }> };
      const survivors = members.filter((member) => !doomed.includes(member)).map(({ userId }) => userId);
      expect(users.users.map((user) => user.id).sort()).toEqual([...survivors, "watcher"].sort());
      // The new thread 1 takes connections again, with the same number.
      await expect
        .poll(async () => {
          const probe = await RawClient.connect(crashing.port);
          const id = await probe.socketId();
          probe.close();
          return nodeOf(id);
        }, { timeout: 10_000 })
        .toBe(String(nodeNumber + 1));
      for (const { client } of members) client.close();
      watcher.disconnect();
    } finally {
      await Promise.all([crashing.stop(), other.stop()]);
      await redis.kill();
    }
  });
});
