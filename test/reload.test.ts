/** Live reload of apps.json: on a file change and on SIGHUP, without a restart. */
import { writeFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { RawClient, serverSdk, sleep } from "./helpers/clients.js";
import { DEMO_APP, startHerald, writeAppsFile, type AppConfig, type Herald, type LogLine } from "./helpers/herald.js";
import { SKIP_REDIS_TESTS, startRedis, type RedisServer } from "./helpers/redis.js";

const BRAVO: AppConfig = { id: "bravo", key: "bravo-key", secret: "bravo-secret" };
const DELTA: AppConfig = { id: "delta", key: "delta-key", secret: "delta-secret" };
const CHARLIE: AppConfig = { id: "charlie", key: "charlie-key", secret: "charlie-secret" };

async function connectedClient(herald: Herald, key: string): Promise<RawClient> {
  const client = await RawClient.connect(herald.port, key);
  await client.socketId();
  return client;
}

async function waitForLog(herald: Herald, predicate: (line: LogLine) => boolean, timeoutMs = 3000): Promise<LogLine> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const found = herald.logs.find(predicate);
    if (found) return found;
    await sleep(10);
  }
  throw new Error(`no such log line within ${timeoutMs} ms; logs: ${herald.logs.map((line) => line.msg).join(" | ")}`);
}

const reloaded = (line: LogLine) => line.msg.startsWith("apps reloaded from");

describe("live reload of apps.json", () => {
  const running: Herald[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((herald) => herald.stop()));
  });

  async function start(apps: AppConfig[], args: string[] = []): Promise<{ herald: Herald; file: string }> {
    const file = writeAppsFile({ apps });
    const herald = await startHerald({ apps: null, args: ["--apps", file, ...args] });
    running.push(herald);
    return { herald, file };
  }

  it("applies an edited file: new app, removed (4001) and disabled (4003) apps closed, new secret and limits in force", { timeout: 15_000 }, async () => {
    const { herald, file } = await start([DEMO_APP, BRAVO, DELTA]);
    const demo = await RawClient.connect(herald.port, DEMO_APP.key);
    const socketId = await demo.socketId();
    demo.send({ event: "pusher:subscribe", data: { channel: "news" } });
    demo.send({ event: "pusher:subscribe", data: { channel: "private-chat", ...serverSdk(herald.port, DEMO_APP).authorizeChannel(socketId, "private-chat") } });
    await demo.event("pusher_internal:subscription_succeeded");
    await demo.event("pusher_internal:subscription_succeeded");
    const bravo = await connectedClient(herald, BRAVO.key);
    const delta = await connectedClient(herald, DELTA.key);
    await expect(RawClient.connect(herald.port, CHARLIE.key).then((client) => client.closed())).resolves.toBe(4001);

    const rotated = { ...DEMO_APP, secret: "rotated-secret", maxConnections: 1, enableClientMessages: false };
    writeFileSync(file, JSON.stringify({ apps: [rotated, { ...DELTA, enabled: false }, CHARLIE] }));

    expect(await bravo.closed()).toBe(4001);
    expect((await bravo.event("pusher:error")).data).toMatchObject({ code: 4001, message: expect.stringContaining("removed") });
    expect(await delta.closed()).toBe(4003);
    const line = await waitForLog(herald, reloaded);
    expect(line).toMatchObject({ trigger: "file changed", added: ["charlie"], removed: ["bravo"], changed: ["app-id", "delta"], closedSockets: 2 });

    // The new app accepts connections; the unchanged socket of the edited app stays.
    await connectedClient(herald, CHARLIE.key);
    expect(demo.closeCode).toBeUndefined();
    // The old secret no longer signs; the new one does, and reaches the socket that stayed.
    await expect(serverSdk(herald.port, DEMO_APP).trigger("news", "update", {})).rejects.toMatchObject({ status: 401 });
    await serverSdk(herald.port, rotated).trigger("news", "update", { n: 1 });
    expect((await demo.event("update")).data).toBe('{"n":1}');
    // The socket that stayed is under the app's new settings.
    demo.send({ event: "client-typing", channel: "private-chat", data: {} });
    expect((await demo.event("pusher:error")).data).toMatchObject({ message: expect.stringContaining("Client events are disabled") });
    // maxConnections: 1 applies to the next connection.
    expect(await (await RawClient.connect(herald.port, DEMO_APP.key)).closed()).toBe(4004);
  });

  it("keeps the running apps when the new file is invalid, and says why", { timeout: 10_000 }, async () => {
    const { herald, file } = await start([DEMO_APP]);
    writeFileSync(file, '{"apps": [{"id": "x", "key": "y"}]}');
    const line = await waitForLog(herald, (entry) => entry.msg.startsWith("apps not reloaded"));
    expect(line.level).toBe(50);
    expect(line.msg).toMatch(/the 1 running apps stay in force: .*secret/);
    writeFileSync(file, "{ not json");
    await waitForLog(herald, (entry) => entry.msg.includes("not valid JSON"));
    await connectedClient(herald, DEMO_APP.key);
    await serverSdk(herald.port, DEMO_APP).trigger("news", "update", {});
  });

  it("reloads on SIGHUP", { timeout: 10_000 }, async () => {
    const { herald, file } = await start([DEMO_APP]);
    writeFileSync(file, JSON.stringify({ apps: [DEMO_APP, CHARLIE] }));
    // Sent before the watcher's 200 ms settling time is up, so SIGHUP does this reload.
    herald.process.kill("SIGHUP");
    expect(await waitForLog(herald, reloaded)).toMatchObject({ trigger: "SIGHUP", added: ["charlie"] });
    await connectedClient(herald, CHARLIE.key);
  });
});

describe.skipIf(SKIP_REDIS_TESTS)("live reload on a cluster", () => {
  let redis: RedisServer;
  const running: Herald[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((herald) => herald.stop()));
    await redis.kill();
  });

  it("carries an added app's events between nodes", { timeout: 15_000 }, async () => {
    redis = await startRedis();
    const file = writeAppsFile({ apps: [DEMO_APP] });
    const args = ["--apps", file, "--redis", redis.url];
    const [nodeA, nodeB] = await Promise.all([startHerald({ apps: null, args }), startHerald({ apps: null, args })]);
    running.push(nodeA, nodeB);
    writeFileSync(file, JSON.stringify({ apps: [DEMO_APP, CHARLIE] }));
    await Promise.all([nodeA, nodeB].map((node) => waitForLog(node, reloaded)));

    const listener = await connectedClient(nodeB, CHARLIE.key);
    listener.send({ event: "pusher:subscribe", data: { channel: "alerts" } });
    await listener.event("pusher_internal:subscription_succeeded");
    await serverSdk(nodeA.port, CHARLIE).trigger("alerts", "fire", { where: "A" });
    expect((await listener.event("fire")).data).toBe('{"where":"A"}');
  });
});
