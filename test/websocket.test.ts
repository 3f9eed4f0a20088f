/**
 * The WebSocket protocol frame by frame, with a raw client for what no library
 * would send and pusher-js where a real client's reaction matters.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hmacSha256Hex } from "../src/protocol/signatures.js";
import { RawClient, pusherClient, serverSdk } from "./helpers/clients.js";
import { DEMO_APP, startHerald, type AppConfig, type Herald } from "./helpers/herald.js";

const quiet: AppConfig = { id: "quiet", key: "quiet-key", secret: "quiet-secret" };
const disabled: AppConfig = { id: "off", key: "off-key", secret: "off-secret", enabled: false };
const small: AppConfig = {
  id: "small",
  key: "small-key",
  secret: "small-secret",
  enableClientMessages: true,
  maxConnections: 2,
  maxEventPayloadInKb: 1,
  maxChannelNameLength: 30,
};
const crowd: AppConfig = { id: "crowd", key: "crowd-key", secret: "crowd-secret", maxPresenceMembersPerChannel: 2, maxPresenceMemberSizeInKb: 0.1 };
const guarded: AppConfig = { id: "guarded", key: "guarded-key", secret: "guarded-secret", allowedOrigins: ["app.example.com", "*.example.org"] };

let herald: Herald;
beforeAll(async () => {
  herald = await startHerald({ apps: [DEMO_APP, quiet, disabled, small, crowd, guarded] });
});
afterAll(() => herald.stop());

async function established(client: RawClient): Promise<string> {
  const frame = await client.event("pusher:connection_established");
  const data = JSON.parse(frame.data as string) as { socket_id: string; activity_timeout: number };
  expect(data.activity_timeout).toBe(120);
  return data.socket_id;
}

function sign(app: AppConfig, socketId: string, channel: string, channelData?: string): string {
  const message = channelData === undefined ? `${socketId}:${channel}` : `${socketId}:${channel}:${channelData}`;
  return `${app.key}:${hmacSha256Hex(app.secret, message)}`;
}

async function connect(app: AppConfig = DEMO_APP): Promise<{ client: RawClient; socketId: string }> {
  const client = await RawClient.connect(herald.port, app.key);
  return { client, socketId: await established(client) };
}

async function join(app: AppConfig, channel: string, userId: string, userInfo: unknown = {}) {
  const { client, socketId } = await connect(app);
  const channelData = JSON.stringify({ user_id: userId, user_info: userInfo });
  client.send({ event: "pusher:subscribe", data: { channel, auth: sign(app, socketId, channel, channelData), channel_data: channelData } });
  return { client, socketId };
}

/** Frames in one TCP write (masked with a zero key, as a client must mask), so that the server reads them in one go. */
function sendInOneWrite(client: RawClient, messages: unknown[]): void {
  const frames = messages.map((message) => {
    const payload = Buffer.from(JSON.stringify(message));
    if (payload.length >= 65536) throw new Error("a frame this helper cannot size");
    const header = payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length]) : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
    return Buffer.concat([header, Buffer.alloc(4), payload]);
  });
  (client.ws as unknown as { _socket: { write(data: Buffer): void } })._socket.write(Buffer.concat(frames));
}

describe("connection", () => {
  it("sends connection_established with a socket_id and answers pusher:ping", async () => {
    const { client, socketId } = await connect();
    expect(socketId).toMatch(/^\d+\.\d+$/);
    client.send({ event: "pusher:ping", data: {} });
    expect(await client.event("pusher:pong")).toEqual({ event: "pusher:pong", data: {} });
    client.close();
  });

  it("answers WebSocket ping control frames", async () => {
    const { client } = await connect();
    const pong = new Promise<string>((resolve) => client.ws.once("pong", (data) => resolve(String(data))));
    client.ws.ping("hello");
    expect(await pong).toBe("hello");
    client.close();
  });

  it.each([
    ["an unknown key", "no-such-key", "", 4001],
    ["a disabled app", "off-key", "", 4003],
    ["an unsupported protocol", "app-key", "?protocol=5", 4007],
  ])("refuses %s (key %s, query %s) with pusher:error and close %i", async (_, key, query, code) => {
    const client = await RawClient.connect(herald.port, key, query);
    const error = await client.event("pusher:error");
    expect(error.data).toMatchObject({ code, message: expect.any(String) });
    expect(await client.closed()).toBe(code);
  });

  it("accepts a connection without the protocol parameter, as older clients send", async () => {
    const client = await RawClient.connect(herald.port, "app-key", "");
    await established(client);
    client.close();
  });

  it("refuses origins outside allowedOrigins with 4009 and accepts those inside", async () => {
    const stranger = await RawClient.connect(herald.port, "guarded-key", "?protocol=7", { origin: "https://evil.test" });
    expect((await stranger.event("pusher:error")).data).toMatchObject({ code: 4009 });
    expect(await stranger.closed()).toBe(4009);
    for (const origin of ["https://app.example.com", "https://shop.example.org"]) {
      const friend = await RawClient.connect(herald.port, "guarded-key", "?protocol=7", { origin });
      await friend.event("pusher:connection_established");
      friend.close();
    }
  });

  it("refuses connections over the app's maxConnections with 4004, and admits again once one leaves", async () => {
    const first = await connect(small);
    const second = await connect(small);
    const third = await RawClient.connect(herald.port, small.key);
    expect((await third.event("pusher:error")).data).toMatchObject({ code: 4004 });
    expect(await third.closed()).toBe(4004);
    first.client.close();
    await first.client.closed();
    const fourth = await connect(small);
    fourth.client.close();
    second.client.close();
  });

  it("makes pusher-js give up (no reconnect loop) on an unknown key", async () => {
    const client = pusherClient(herald.port, { ...DEMO_APP, key: "wrong-key" });
    const states: string[] = [];
    const errors: unknown[] = [];
    client.connection.bind("state_change", ({ current }: { current: string }) => states.push(current));
    client.connection.bind("error", (error: unknown) => errors.push(error));
    await expect.poll(() => client.connection.state, { timeout: 3000 }).toBe("disconnected");
    // It connected once (before the binding above) and never tried again: pusher-js leaves
    // "disconnected" only when told to connect; a retry would have gone through "unavailable"
    // (4100-4199) or "connecting" (4200-4299) instead.
    expect(states).toEqual(["disconnected"]);
    expect(errors).toContainEqual(expect.objectContaining({ error: expect.objectContaining({ data: expect.objectContaining({ code: 4001 }) }) }));
    client.disconnect();
  });
});

describe("subscriptions", () => {
  it("subscribes to public, private and encrypted channels, checking signatures", async () => {
    const { client, socketId } = await connect();
    client.send({ event: "pusher:subscribe", data: { channel: "news", auth: "" } });
    expect(await client.event("pusher_internal:subscription_succeeded")).toMatchObject({ channel: "news", data: "{}" });
    for (const channel of ["private-a", "private-encrypted-b"]) {
      client.send({ event: "pusher:subscribe", data: { channel, auth: sign(DEMO_APP, socketId, channel) } });
      expect(await client.event("pusher_internal:subscription_succeeded")).toMatchObject({ channel });
    }
    client.close();
  });

  it.each([
    ["no auth", ""],
    ["another socket's signature", sign(DEMO_APP, "1.1", "private-x")],
    ["another app's key", sign(quiet, "1.1", "private-x")],
    ["garbage", "garbage"],
  ])("rejects a private subscription with %s as a 401 subscription_error", async (_, auth) => {
    const { client } = await connect();
    client.send({ event: "pusher:subscribe", data: { channel: "private-x", auth } });
    const error = await client.event("pusher:subscription_error");
    expect(error).toMatchObject({ channel: "private-x", data: { type: "AuthError", status: 401 } });
    client.send({ event: "pusher:ping", data: {} });
    await client.event("pusher:pong");
    client.close();
  });

  it("rejects presence auth without channel_data, and with channel_data it was not signed for", async () => {
    const { client, socketId } = await connect();
    client.send({ event: "pusher:subscribe", data: { channel: "presence-r", auth: sign(DEMO_APP, socketId, "presence-r") } });
    expect(await client.event("pusher:subscription_error")).toMatchObject({ data: { status: 401, error: expect.stringContaining("channel_data") } });
    const signed = JSON.stringify({ user_id: "1" });
    client.send({
      event: "pusher:subscribe",
      data: { channel: "presence-r", auth: sign(DEMO_APP, socketId, "presence-r", signed), channel_data: JSON.stringify({ user_id: "2" }) },
    });
    expect(await client.event("pusher:subscription_error")).toMatchObject({ data: { status: 401 } });
    client.close();
  });

  it("rejects invalid and reserved channel names", async () => {
    const { client } = await connect(small);
    for (const channel of ["has space", "x".repeat(31), "", "#reserved"]) {
      client.send({ event: "pusher:subscribe", data: { channel, auth: "" } });
      expect(await client.event("pusher:subscription_error")).toMatchObject({ data: { type: "InvalidChannel", status: 400 } });
    }
    client.close();
  });

  it("unsubscribes and resubscribes", async () => {
    const { client } = await connect();
    const sdk = serverSdk(herald.port, DEMO_APP);
    client.send({ event: "pusher:subscribe", data: { channel: "toggle" } });
    await client.event("pusher_internal:subscription_succeeded");
    client.send({ event: "pusher:subscribe", data: { channel: "toggle" } });
    await client.event("pusher_internal:subscription_succeeded");
    client.send({ event: "pusher:unsubscribe", data: { channel: "toggle" } });
    await client.caughtUp();
    await sdk.trigger("toggle", "missed", {});
    await client.caughtUp();
    expect(client.frames.filter((frame) => frame.event === "missed")).toEqual([]);
    client.send({ event: "pusher:subscribe", data: { channel: "toggle" } });
    await client.event("pusher_internal:subscription_succeeded");
    await sdk.trigger("toggle", "seen", { n: 1 });
    // One subscription, one delivery: the double subscribe did not double it.
    expect(await client.event("seen")).toEqual({ event: "seen", channel: "toggle", data: '{"n":1}' });
    await client.caughtUp();
    expect(client.frames.filter((frame) => frame.event === "seen")).toEqual([]);
    client.close();
  });
});

describe("presence", () => {
  it("keeps a socket's frames in order behind a presence join, even when they arrive together", async () => {
    const ada = await join(DEMO_APP, "presence-burst", "1", { name: "Ada" });
    await ada.client.event("pusher_internal:subscription_succeeded");
    const { client: bob, socketId } = await connect(DEMO_APP);
    const channelData = JSON.stringify({ user_id: "2", user_info: { name: "Bob" } });
    const subscribe = { event: "pusher:subscribe", data: { channel: "presence-burst", auth: sign(DEMO_APP, socketId, "presence-burst", channelData), channel_data: channelData } };
    // One write, so one read for the server: the join waits for the end of that turn, the rest behind it.
    sendInOneWrite(bob, [
      subscribe,
      { event: "client-wave", channel: "presence-burst", data: { from: "bob" } },
      subscribe,
      { event: "pusher:unsubscribe", data: { channel: "presence-burst" } },
      { event: "pusher:ping", data: {} },
    ]);
    await bob.event("pusher:pong");
    // The client event was relayed, not refused, and the unsubscribe undid the join. On one thread Bob
    // hears the join's subscription_succeeded, with both members, at the end of the turn; the repeated
    // subscribe's answer, read from the cluster, comes after the unsubscribe, which leaves it unsent.
    // On worker threads the answers come from the main thread, mostly after the unsubscribe too.
    const heard = bob.frames.map((frame) => [frame.event, JSON.parse(frame.data as string)]);
    const succeeded = ["pusher_internal:subscription_succeeded", { presence: { ids: ["1", "2"], hash: { 1: { name: "Ada" }, 2: { name: "Bob" } }, count: 2 } }];
    expect(heard).toEqual(process.env.HERALD_TEST_WORKERS ? heard.map(() => succeeded) : [succeeded]);
    // (On worker threads the client event may overtake member_added, which comes through the main
    // thread: a client event sent before subscription_succeeded is ordered on one thread only.)
    await expect.poll(() => ada.client.frames.map((frame) => frame.event).sort(), { timeout: 3000 }).toEqual(["client-wave", "pusher_internal:member_added", "pusher_internal:member_removed"]);
    expect(ada.client.frames.findIndex((frame) => frame.event === "pusher_internal:member_added")).toBeLessThan(ada.client.frames.findIndex((frame) => frame.event === "pusher_internal:member_removed"));
    const users = await (await serverSdk(herald.port, DEMO_APP).get({ path: "/channels/presence-burst/users" })).json();
    expect(users).toEqual({ users: [{ id: "1" }] });
    bob.close();
    ada.client.close();
  });

  it("gives every member of a storm of joins the whole list: its subscription_succeeded first, then each later member", async () => {
    // Joins that arrive together are answered together (turn-joins.ts; on worker threads, in one message
    // to the main thread and one back): each socket still hears its subscription_succeeded first, then
    // a member_added for each member its list does not have, and none for one it has.
    for (let round = 0; round < 3; round++) {
      const channel = `presence-storm-${round}`;
      const members = await Promise.all(Array.from({ length: 24 }, () => connect()));
      for (const [i, { client, socketId }] of members.entries()) {
        const channelData = JSON.stringify({ user_id: `u${i}`, user_info: { i } });
        client.send({ event: "pusher:subscribe", data: { channel, auth: sign(DEMO_APP, socketId, channel, channelData), channel_data: channelData } });
      }
      const everyone = members.map((_, i) => `u${i}`).sort();
      for (const { client } of members) {
        // As pusher-js keeps its list: what subscription_succeeded says, then each member_added, once.
        await expect.poll(() => {
          const heard = client.frames.filter((frame) => frame.channel === channel).map((frame) => frame.event);
          const joined = client.frames.find((frame) => frame.event === "pusher_internal:subscription_succeeded");
          if (!joined) return [];
          const added = client.frames.filter((frame) => frame.event === "pusher_internal:member_added").map((frame) => (JSON.parse(frame.data as string) as { user_id: string }).user_id);
          expect(heard[0]).toBe("pusher_internal:subscription_succeeded");
          return [...(JSON.parse(joined.data as string) as { presence: { ids: string[] } }).presence.ids, ...added].sort();
        }).toEqual(everyone);
      }
      for (const { client } of members) client.close();
    }
  });

  it("lists members with ids, hash and count, and announces each user once", async () => {
    const ada = await join(DEMO_APP, "presence-lobby", "1", { name: "Ada" });
    const adaJoined = await ada.client.event("pusher_internal:subscription_succeeded");
    expect(JSON.parse(adaJoined.data as string)).toEqual({ presence: { ids: ["1"], hash: { 1: { name: "Ada" } }, count: 1 } });

    const bob = await join(DEMO_APP, "presence-lobby", "2", { name: "Bob" });
    const bobJoined = JSON.parse((await bob.client.event("pusher_internal:subscription_succeeded")).data as string);
    expect(bobJoined.presence.count).toBe(2);
    expect(bobJoined.presence.hash).toEqual({ 1: { name: "Ada" }, 2: { name: "Bob" } });
    expect(await ada.client.event("pusher_internal:member_added")).toMatchObject({
      channel: "presence-lobby",
      data: JSON.stringify({ user_id: "2", user_info: { name: "Bob" } }),
    });

    const bobTab = await join(DEMO_APP, "presence-lobby", "2", { name: "Bob" });
    await bobTab.client.event("pusher_internal:subscription_succeeded");
    await bobTab.client.closedByUs();
    await ada.client.caughtUp();
    expect(ada.client.frames.filter((frame) => frame.event.startsWith("pusher_internal:member"))).toEqual([]);

    // Bob's last tab leaving is announced, once: a departure wrongly announced for the first tab would be a second.
    // (Awaited rather than caught up with: on worker threads a departure reaches Ada's thread through the main
    // thread, so a ping to Ada's thread can come back before it; the first tab's would be here by this one.)
    await bob.client.closedByUs();
    expect(await ada.client.event("pusher_internal:member_removed")).toMatchObject({ data: JSON.stringify({ user_id: "2" }) });
    await ada.client.caughtUp();
    expect(ada.client.frames.filter((frame) => frame.event.startsWith("pusher_internal:member"))).toEqual([]);
    expect(bob.client.frames.filter((frame) => frame.event === "pusher_internal:member_added")).toEqual([]);

    // A user without user_info is listed too, as null (as Pusher and Redis keep it), in a list
    // written again after Bob left: pusher-js's members.each() walks the hash, not the ids.
    const { client: cy, socketId } = await connect(DEMO_APP);
    const channelData = JSON.stringify({ user_id: "3" });
    cy.send({ event: "pusher:subscribe", data: { channel: "presence-lobby", auth: sign(DEMO_APP, socketId, "presence-lobby", channelData), channel_data: channelData } });
    const cyJoined = await cy.event("pusher_internal:subscription_succeeded");
    expect(JSON.parse(cyJoined.data as string)).toEqual({ presence: { ids: ["1", "3"], hash: { 1: { name: "Ada" }, 3: null }, count: 2 } });
    cy.close();
    ada.client.close();
  });

  it.each([
    ["drops without a close handshake", "presence-leave-drop", (client: RawClient) => client.ws.terminate()],
    ["unsubscribes", "presence-leave", (client: RawClient) => client.send({ event: "pusher:unsubscribe", data: { channel: "presence-leave" } })],
  ])("releases presence when a socket %s", async (_, channel, leave) => {
    // A channel per case: the first case's user 1 leaves while the second's user 1 joins, and
    // on worker threads that departure can reach the new socket after its subscription_succeeded.
    const ada = await join(DEMO_APP, channel, "1");
    await ada.client.event("pusher_internal:subscription_succeeded");
    const bob = await join(DEMO_APP, channel, "2");
    await bob.client.event("pusher_internal:subscription_succeeded");
    leave(bob.client);
    expect(await ada.client.event("pusher_internal:member_removed")).toMatchObject({ data: '{"user_id":"2"}' });
    ada.client.close();
    bob.client.close();
  });

  it("enforces maxPresenceMembersPerChannel for new users but not for another tab of a member", async () => {
    const a = await join(crowd, "presence-cap", "a");
    await a.client.event("pusher_internal:subscription_succeeded");
    const b = await join(crowd, "presence-cap", "b");
    await b.client.event("pusher_internal:subscription_succeeded");
    const bTab = await join(crowd, "presence-cap", "b");
    await bTab.client.event("pusher_internal:subscription_succeeded");
    const c = await join(crowd, "presence-cap", "c");
    expect(await c.client.event("pusher:subscription_error")).toMatchObject({
      channel: "presence-cap",
      data: { type: "LimitReached", status: 403, error: expect.stringContaining("2 members") },
    });
    expect(a.client.frames.filter((frame) => frame.event === "pusher_internal:member_added")).toHaveLength(1);
    for (const { client } of [a, b, bTab, c]) client.close();
  });

  it("refuses user_info over maxPresenceMemberSizeInKb", async () => {
    const big = await join(crowd, "presence-big", "w", { bio: "x".repeat(200) });
    expect(await big.client.event("pusher:subscription_error")).toMatchObject({ data: { type: "LimitReached", status: 413 } });
    big.client.close();
  });
});
