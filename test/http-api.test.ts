/**
 * The HTTP API through the `pusher` server SDK (what Laravel's driver speaks),
 * and every way a request can be wrong, answered with the status and a message.
 */
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { md5Hex } from "../src/protocol/signatures.js";
import { RawClient, pusherClient, connected, serverSdk, subscribed } from "./helpers/clients.js";
import { DEMO_APP, startHerald, type AppConfig, type Herald } from "./helpers/herald.js";
import { signedUrl as signedRequestUrl, type SignatureTweaks } from "./helpers/signed-requests.js";

const other: AppConfig = { id: "other", key: "other-key", secret: "other-secret" };
const off: AppConfig = { id: "off", key: "off-key", secret: "off-secret", enabled: false };
const strict: AppConfig = { id: "strict", key: "strict-key", secret: "strict-secret", maxEventBatchSize: 2, maxEventPayloadInKb: 1, maxEventChannelsAtOnce: 2 };

let herald: Herald;
beforeAll(async () => {
  herald = await startHerald({ apps: [DEMO_APP, other, off, strict] });
});
afterAll(() => herald.stop());

const base = () => `http://127.0.0.1:${herald.port}`;

/** Signs a request the way the Pusher SDKs do, with overrides for breaking it. */
function signedUrl(app: AppConfig, method: string, path: string, body = "", params: Record<string, string> = {}, tweak: SignatureTweaks = {}): string {
  return signedRequestUrl(base(), app, method, path, body, params, tweak);
}

async function call(method: string, url: string, body?: string) {
  const response = await fetch(url, { method, body, headers: body ? { "content-type": "application/json" } : {} });
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text) as Record<string, unknown> };
}

/** A raw socket subscribed to a public channel. */
async function rawSubscriber(channel: string, app = DEMO_APP): Promise<{ client: RawClient; socketId: string }> {
  const client = await RawClient.connect(herald.port, app.key);
  const socketId = await client.socketId();
  client.send({ event: "pusher:subscribe", data: { channel } });
  await client.event("pusher_internal:subscription_succeeded");
  return { client, socketId };
}

describe("publishing", () => {
  it("delivers trigger() to many channels and answers {} as pusher-http-php needs", async () => {
    const [a, b] = [await rawSubscriber("alpha"), await rawSubscriber("beta")];
    const response = await serverSdk(herald.port, DEMO_APP).trigger(["alpha", "beta"], "App\\Events\\Ping", { n: 1 });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({});
    expect(await a.client.event("App\\Events\\Ping")).toEqual({ event: "App\\Events\\Ping", channel: "alpha", data: '{"n":1}' });
    expect(await b.client.event("App\\Events\\Ping")).toMatchObject({ channel: "beta" });
    a.client.close();
    b.client.close();
  });

  it("excludes the socket_id given (Laravel's toOthers()), wherever that socket is subscribed or not", async () => {
    const [me, you] = [await rawSubscriber("shared"), await rawSubscriber("shared")];
    const elsewhere = await rawSubscriber("unrelated");
    const sdk = serverSdk(herald.port, DEMO_APP);
    await sdk.trigger("shared", "update", { v: 1 }, { socket_id: me.socketId });
    await you.client.event("update");
    // A socket_id that is not in the channel excludes nobody there, whether that
    // socket has other subscriptions or none at all.
    const idle = await RawClient.connect(herald.port);
    const idleSocketId = await idle.socketId();
    for (const [event, socketId] of [["update2", elsewhere.socketId], ["update3", idleSocketId]] as const) {
      await sdk.trigger("shared", event, {}, { socket_id: socketId });
      await me.client.event(event);
      await you.client.event(event);
    }
    await me.client.caughtUp();
    expect(me.client.frames.filter((frame) => frame.event === "update")).toEqual([]);
    for (const { client } of [me, you, elsewhere]) client.close();
    idle.close();
  });

  it("publishes triggerBatch() events, each to its channel", async () => {
    const [a, b] = [await rawSubscriber("batch-a"), await rawSubscriber("batch-b")];
    const response = await serverSdk(herald.port, DEMO_APP).triggerBatch([
      { channel: "batch-a", name: "one", data: "1" },
      { channel: "batch-b", name: "two", data: { x: 2 } },
    ]);
    expect(await response.json()).toEqual({});
    expect(await a.client.event("one")).toMatchObject({ data: "1" });
    expect(await b.client.event("two")).toMatchObject({ data: '{"x":2}' });
    a.client.close();
    b.client.close();
  });

  it("reaches pusher-js subscribers", async () => {
    const client = pusherClient(herald.port, DEMO_APP);
    await connected(client);
    await subscribed(client, "js");
    const received = new Promise((resolve) => client.channel("js").bind("hello", resolve));
    await serverSdk(herald.port, DEMO_APP).trigger("js", "hello", { hi: true });
    expect(await received).toEqual({ hi: true });
    client.disconnect();
  });
});

describe("reading channels", () => {
  it("lists occupied channels, by prefix, with user counts for presence", async () => {
    const client = pusherClient(herald.port, DEMO_APP, { user: { user_id: "u1", user_info: {} } });
    await subscribed(client, "presence-lounge");
    await subscribed(client, "private-desk");
    await subscribed(client, "plaza");
    const sdk = serverSdk(herald.port, DEMO_APP);

    const all = (await (await sdk.get({ path: "/channels" })).json()) as { channels: Record<string, unknown> };
    expect(all.channels).toMatchObject({ "presence-lounge": {}, "private-desk": {}, plaza: {} });
    const presence = await (await sdk.get({ path: "/channels", params: { filter_by_prefix: "presence-", info: "user_count" } })).json();
    expect(presence).toEqual({ channels: { "presence-lounge": { user_count: 1 } } });

    const lounge = await (await sdk.get({ path: "/channels/presence-lounge", params: { info: "user_count,subscription_count" } })).json();
    expect(lounge).toEqual({ occupied: true, user_count: 1, subscription_count: 1 });
    const plaza = await (await sdk.get({ path: "/channels/plaza", params: { info: "subscription_count" } })).json();
    expect(plaza).toEqual({ occupied: true, subscription_count: 1 });
    const empty = await (await sdk.get({ path: "/channels/nobody-here" })).json();
    expect(empty).toEqual({ occupied: false });
    const users = await (await sdk.get({ path: "/channels/presence-lounge/users" })).json();
    expect(users).toEqual({ users: [{ id: "u1" }] });

    client.disconnect();
    await expect.poll(async () => (await (await sdk.get({ path: "/channels" })).json()) as unknown).toEqual({ channels: {} });
  });

  it("answers 400 where counts do not exist", async () => {
    const noUsers = await call("GET", signedUrl(DEMO_APP, "GET", "/apps/app-id/channels/plain/users"));
    expect(noUsers).toMatchObject({ status: 400, body: { error: expect.stringContaining("not a presence channel") } });
    const noCount = await call("GET", signedUrl(DEMO_APP, "GET", "/apps/app-id/channels/plain", "", { info: "user_count" }));
    expect(noCount.status).toBe(400);
    const noPrefix = await call("GET", signedUrl(DEMO_APP, "GET", "/apps/app-id/channels", "", { info: "user_count" }));
    expect(noPrefix).toMatchObject({ status: 400, body: { error: expect.stringContaining("filter_by_prefix=presence-") } });
  });
});

describe("isolation between apps", () => {
  it("never shows one app's channels, members or events to another", async () => {
    const mine = await rawSubscriber("same-name", DEMO_APP);
    const theirs = await rawSubscriber("same-name", other);
    await serverSdk(herald.port, other).trigger("same-name", "theirs-only", {});
    await theirs.client.event("theirs-only");
    const mineList = (await (await serverSdk(herald.port, DEMO_APP).get({ path: "/channels/same-name", params: { info: "subscription_count" } })).json()) as {
      subscription_count: number;
    };
    expect(mineList.subscription_count).toBe(1);
    await mine.client.caughtUp();
    expect(mine.client.frames.filter((frame) => frame.event === "theirs-only")).toEqual([]);
    // Signing for one app's id with another app's credentials fails.
    const crossed = await call("GET", signedUrl(other, "GET", "/apps/app-id/channels"));
    expect(crossed.status).toBe(401);
    mine.client.close();
    theirs.client.close();
  });
});

describe("bad requests", () => {
  const body = JSON.stringify({ name: "e", channels: ["c"], data: "{}" });
  const path = "/apps/app-id/events";

  it("accepts a correctly signed request made by hand", async () => {
    expect(await call("POST", signedUrl(DEMO_APP, "POST", path, body), body)).toEqual({ status: 200, body: {} });
  });

  it.each([
    ["no signature at all", () => `${base()}${path}`, 401, "auth_key"],
    ["a wrong secret", () => signedUrl(DEMO_APP, "POST", path, body, {}, { secret: "nope" }), 401, "auth_signature"],
    ["a stale timestamp", () => signedUrl(DEMO_APP, "POST", path, body, {}, { timestamp: Math.floor(Date.now() / 1000) - 3600 }), 401, "clock"],
    ["a wrong body_md5", () => signedUrl(DEMO_APP, "POST", path, body, {}, { bodyMd5: md5Hex("other") }), 401, "body_md5"],
  ])("answers %s with %i", async (_, url, status, message) => {
    const response = await call("POST", url(), body);
    expect(response).toMatchObject({ status, body: { error: expect.stringContaining(message) } });
  });

  it.each([
    ["garbage JSON", "{nope", 400, "not valid JSON"],
    ["data that is not a string", JSON.stringify({ name: "e", channels: ["c"], data: { a: 1 } }), 400, "must be a string"],
    ["a payload over maxEventPayloadInKb", JSON.stringify({ name: "e", channels: ["c"], data: "x".repeat(1100) }), 413, "1 KB"],
    ["too many channels", JSON.stringify({ name: "e", channels: ["a", "b", "c"], data: "" }), 400, "3 channels"],
    ["an invalid channel name", JSON.stringify({ name: "e", channels: ["no spaces"], data: "" }), 400, "characters outside"],
    ["a malformed socket_id", JSON.stringify({ name: "e", channels: ["c"], data: "", socket_id: "me" }), 400, "socket_id"],
  ])("answers an event with %s with %i", async (_, eventBody, status, message) => {
    const response = await call("POST", signedUrl(strict, "POST", "/apps/strict/events", eventBody), eventBody);
    expect(response).toMatchObject({ status, body: { error: expect.stringContaining(message) } });
  });

  it("answers a batch over maxEventBatchSize with 400 and publishes none of it", async () => {
    const batch = JSON.stringify({ batch: [1, 2, 3].map((n) => ({ name: "e", channel: "c", data: String(n) })) });
    const response = await call("POST", signedUrl(strict, "POST", "/apps/strict/batch_events", batch), batch);
    expect(response).toMatchObject({ status: 400, body: { error: expect.stringContaining("3 events") } });
    const invalid = JSON.stringify({ batch: [{ name: "e", channel: "c", data: "1" }, { name: "e", data: "2" }] });
    const second = await call("POST", signedUrl(strict, "POST", "/apps/strict/batch_events", invalid), invalid);
    expect(second).toMatchObject({ status: 400, body: { error: expect.stringContaining("batch[1]") } });
  });

  it("answers an oversized body with 413 before reading it all", async () => {
    const huge = JSON.stringify({ name: "e", channels: ["c"], data: "x".repeat(2 * 1024 * 1024) });
    const url = new URL(signedUrl(DEMO_APP, "POST", path, huge));
    // Announce the whole body, send only its first 300 KB and read the answer: the 413 comes before the rest.
    const socket = connect(Number(url.port), "127.0.0.1");
    const answer = new Promise<string>((resolveAnswer) => {
      let text = "";
      socket.on("data", (chunk) => (text += String(chunk)));
      socket.on("close", () => resolveAnswer(text));
      socket.on("error", () => undefined);
    });
    socket.write(`POST ${url.pathname}${url.search} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${huge.length}\r\n\r\n`);
    socket.write(huge.slice(0, 300 * 1024));
    const text = await answer;
    expect(text).toMatch(/^HTTP\/1\.1 413 /);
    expect(text).toContain("larger than");
    expect((await call("POST", signedUrl(DEMO_APP, "POST", path, body), body)).status).toBe(200);
  });

  it("answers unknown apps and paths with 404, and disabled apps with 403", async () => {
    expect(await call("GET", signedUrl(DEMO_APP, "GET", "/apps/no-such-app/channels"))).toMatchObject({ status: 404, body: { error: expect.stringContaining("no-such-app") } });
    expect(await call("GET", `${base()}/nothing/here`)).toMatchObject({ status: 404, body: { error: expect.stringContaining("No route") } });
    expect(await call("GET", `${base()}/apps/app-id/events`)).toMatchObject({ status: 404 });
    expect(await call("GET", signedUrl(off, "GET", "/apps/off/channels"))).toMatchObject({ status: 403, body: { error: expect.stringContaining("disabled") } });
  });
});
