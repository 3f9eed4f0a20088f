/**
 * Churn: sockets subscribe to a few presence, private, cache and public channels, sign
 * in, send client events, unsubscribe, and send frames with bad signatures and bad
 * shapes, in a seeded random order, then leave in every way a client can: a close, a
 * dropped connection, a close right behind a presence subscribe. Afterwards the server
 * holds nothing of theirs (no occupied channel, no member, no connection) and a
 * bystander was served throughout. Under `npm run test:workers` the sockets land on
 * both threads, so the hub's release of what they held is checked too; and the same
 * runs over two nodes on Redis, the sockets spread over both.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { channelAuthString, hmacSha256Hex, userAuthString } from "../src/protocol/signatures.js";
import { RawClient, serverSdk, sleep } from "./helpers/clients.js";
import { FAST_TIMINGS_ENV } from "./helpers/cluster-nodes.js";
import { DEMO_APP, startHerald, type Herald } from "./helpers/herald.js";
import { SKIP_REDIS_TESTS, startRedis, type RedisServer } from "./helpers/redis.js";

const APP = { ...DEMO_APP, enableUserAuthentication: true };
const PRESENCE = ["presence-a", "presence-b", "presence-cache-c"];
const CHANNELS = [...PRESENCE, "private-a", "private-cache-b", "cache-a", "public-a", "private-encrypted-a"];
const USERS = ["u1", "u2", "u3", "u4"];

/** A small seeded generator (an LCG): the same frames every run, whatever the timing. */
function randomness(seed: number) {
  let state = seed;
  const next = () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
  const int = (n: number) => Math.floor(next() * n);
  return { int, pick: <T>(items: readonly T[]): T => items[int(items.length)]! };
}

type Random = ReturnType<typeof randomness>;

function subscribe(random: Random, socketId: string, channel: string): unknown {
  if (!channel.startsWith("private-") && !channel.startsWith("presence-")) return { event: "pusher:subscribe", data: { channel } };
  const channelData = channel.startsWith("presence-") ? JSON.stringify({ user_id: random.pick(USERS), user_info: { n: random.int(5) } }) : undefined;
  // One in ten is signed wrongly, and refused.
  const signature = random.int(10) === 0 ? "0".repeat(64) : hmacSha256Hex(APP.secret, channelAuthString(socketId, channel, channelData));
  return { event: "pusher:subscribe", data: { channel, auth: `${APP.key}:${signature}`, channel_data: channelData } };
}

function frame(random: Random, socketId: string): unknown {
  const roll = random.int(20);
  if (roll < 8) return subscribe(random, socketId, random.pick(CHANNELS));
  if (roll < 11) return { event: "pusher:unsubscribe", data: { channel: random.pick(CHANNELS) } };
  if (roll < 13) {
    const userData = JSON.stringify({ id: random.pick(USERS), watchlist: USERS.filter(() => random.int(2) === 0) });
    return { event: "pusher:signin", data: { user_data: userData, auth: `${APP.key}:${hmacSha256Hex(APP.secret, userAuthString(socketId, userData))}` } };
  }
  if (roll < 17) return { event: "client-move", channel: random.pick(CHANNELS), data: { n: random.int(100) } };
  if (roll < 18) return { event: "pusher:subscribe", data: { channel: random.pick(CHANNELS), channel_data: "{" } };
  if (roll < 19) return "{";
  return { event: "pusher:ping", data: {} };
}

/** One socket's life: its frames in bursts, then an end chosen by `random`. */
async function churnOne(port: number, random: Random): Promise<void> {
  const client = await RawClient.connect(port, APP.key);
  const socketId = await client.socketId();
  const { ws } = client;
  const frames = 1 + random.int(30);
  const ending = random.int(4);
  const open = () => ws.readyState === WebSocket.OPEN;
  for (let sent = 0; sent < frames && open(); await new Promise((next) => setImmediate(next))) {
    for (let i = 1 + random.int(6); i > 0 && sent < frames && open(); i--, sent++) client.send(frame(random, socketId));
  }
  if (ending === 0) ws.close();
  else if (ending === 1) ws.terminate();
  else if (ending === 2) {
    client.send(subscribe(random, socketId, "presence-a"));
    ws.terminate();
  } else {
    await sleep(random.int(30));
    ws.close();
  }
  await client.closed();
}

/** What the server (or cluster) still holds, by the HTTP API and /health (each node's connections). */
async function leftOver(nodes: Herald[]): Promise<{ channels: string[]; members: string[][]; connections: unknown[] }> {
  const sdk = serverSdk(nodes[0]!.port, APP);
  const listed = (await (await sdk.get({ path: "/channels" })).json()) as { channels: Record<string, unknown> };
  const members = await Promise.all(
    PRESENCE.map(async (channel) => ((await (await sdk.get({ path: `/channels/${channel}/users` })).json()) as { users: Array<{ id: string }> }).users.map(({ id }) => id)),
  );
  const connections = await Promise.all(nodes.map(async (node) => ((await (await fetch(`http://127.0.0.1:${node.port}/health`)).json()) as { connections: unknown }).connections));
  return { channels: Object.keys(listed.channels), members, connections };
}

/**
 * 320 sockets, eight at a time, over the nodes in turn; then waits (5 s at most) for what
 * they held to go, and holds the nodes to it. A bystander on the first node stays.
 */
async function churnAndCheck(nodes: Herald[], seed: number): Promise<void> {
  const bystander = await RawClient.subscribed(nodes[0]!.port, "bystander");
  const random = randomness(seed);
  let opened = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let i = 0; i < 40; i++) await churnOne(nodes[opened++ % nodes.length]!.port, random);
    }),
  );
  // The closes settle through the threads' hub, or Redis after a departure hold: poll for
  // the end state, then hold the server to it.
  const clean = { channels: ["bystander"], members: PRESENCE.map(() => []), connections: nodes.map((_, index) => (index === 0 ? 1 : 0)) };
  let state = await leftOver(nodes);
  for (const deadline = Date.now() + 5000; Date.now() < deadline && JSON.stringify(state) !== JSON.stringify(clean); state = await leftOver(nodes)) await sleep(100);
  expect(state).toEqual(clean);
  await serverSdk(nodes.at(-1)!.port, APP).trigger("bystander", "still-here", { ok: true });
  expect(await bystander.event("still-here")).toMatchObject({ data: '{"ok":true}' });
  bystander.close();
  for (const node of nodes) {
    expect(node.logs.filter((line) => line.level >= 50)).toEqual([]);
    expect(node.process.exitCode).toBeNull();
  }
}

describe("churn", () => {
  it("leaves no channel, member or connection behind, and the bystander is served", { timeout: 30_000 }, async () => {
    const herald = await startHerald({ apps: [APP] });
    await churnAndCheck([herald], 16);
    await herald.stop();
  });

  describe.skipIf(SKIP_REDIS_TESTS)("over two nodes on Redis", () => {
    let redis: RedisServer;
    beforeAll(async () => {
      redis = await startRedis();
    });
    afterAll(() => redis.kill());

    it("leaves no channel, member or connection behind anywhere", { timeout: 30_000 }, async () => {
      const nodes = await Promise.all([0, 1].map(() => startHerald({ apps: [APP], args: ["--redis", redis.url], env: FAST_TIMINGS_ENV })));
      await churnAndCheck(nodes, 17);
      await Promise.all(nodes.map((node) => node.stop()));
    });
  });
});
