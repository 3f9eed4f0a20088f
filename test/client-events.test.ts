/** Client events (whispers) under every rule of the protocol. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hmacSha256Hex } from "../src/protocol/signatures.js";
import { RawClient } from "./helpers/clients.js";
import { DEMO_APP, startHerald, type AppConfig, type Herald } from "./helpers/herald.js";

const closedApp: AppConfig = { id: "closed", key: "closed-key", secret: "closed-secret" };
const tight: AppConfig = { id: "tight", key: "tight-key", secret: "tight-secret", enableClientMessages: true, maxEventPayloadInKb: 1, maxEventNameLength: 20 };

let herald: Herald;
beforeAll(async () => {
  herald = await startHerald({ apps: [DEMO_APP, closedApp, tight] });
});
afterAll(() => herald.stop());

async function member(app: AppConfig, channel: string, userId = "u1"): Promise<RawClient> {
  const client = await RawClient.connect(herald.port, app.key);
  const socketId = await client.socketId();
  if (channel.startsWith("presence-")) {
    const channelData = JSON.stringify({ user_id: userId });
    const auth = `${app.key}:${hmacSha256Hex(app.secret, `${socketId}:${channel}:${channelData}`)}`;
    client.send({ event: "pusher:subscribe", data: { channel, auth, channel_data: channelData } });
  } else {
    const auth = channel.startsWith("private-") ? `${app.key}:${hmacSha256Hex(app.secret, `${socketId}:${channel}`)}` : "";
    client.send({ event: "pusher:subscribe", data: { channel, auth } });
  }
  await client.event("pusher_internal:subscription_succeeded");
  return client;
}

async function rejected(client: RawClient, message: string): Promise<void> {
  expect(await client.event("pusher:error")).toMatchObject({ data: { code: 4300, message: expect.stringContaining(message) } });
}

describe("client events", () => {
  it("reach the other subscribers of a private channel, not the sender", async () => {
    const [sender, receiver] = [await member(DEMO_APP, "private-room"), await member(DEMO_APP, "private-room")];
    sender.send({ event: "client-typing", channel: "private-room", data: { who: "a" } });
    expect(await receiver.event("client-typing")).toEqual({ event: "client-typing", channel: "private-room", data: '{"who":"a"}' });
    await sender.caughtUp();
    expect(sender.frames.filter((frame) => frame.event === "client-typing")).toEqual([]);
    sender.close();
    receiver.close();
  });

  it("carry the sender's user_id on presence channels", async () => {
    const [sender, receiver] = [await member(DEMO_APP, "presence-room", "7"), await member(DEMO_APP, "presence-room", "8")];
    sender.send({ event: "client-wave", channel: "presence-room", data: {} });
    expect(await receiver.event("client-wave")).toEqual({ event: "client-wave", channel: "presence-room", data: "{}", user_id: "7" });
    sender.close();
    receiver.close();
  });

  it("are refused when the app has not enabled them", async () => {
    const client = await member(closedApp, "private-room");
    client.send({ event: "client-typing", channel: "private-room", data: {} });
    await rejected(client, "enableClientMessages");
    client.close();
  });

  it("are refused on public and encrypted channels", async () => {
    const client = await member(DEMO_APP, "lobby");
    client.send({ event: "client-typing", channel: "lobby", data: {} });
    await rejected(client, "only allowed on private- and presence-");
    const encrypted = await member(DEMO_APP, "private-encrypted-vault");
    encrypted.send({ event: "client-typing", channel: "private-encrypted-vault", data: {} });
    await rejected(encrypted, "private-encrypted-");
    client.close();
    encrypted.close();
  });

  it("are refused on a channel the sender has not subscribed to", async () => {
    const outsider = await member(DEMO_APP, "private-elsewhere");
    const insider = await member(DEMO_APP, "private-inner");
    outsider.send({ event: "client-sneak", channel: "private-inner", data: {} });
    await rejected(outsider, "Subscribe to private-inner");
    await insider.caughtUp();
    expect(insider.frames.filter((frame) => frame.event === "client-sneak")).toEqual([]);
    outsider.close();
    insider.close();
  });

  it("are refused over the payload and event-name limits, leaving the socket open", async () => {
    const client = await member(tight, "private-room");
    client.send({ event: "client-big", channel: "private-room", data: { text: "x".repeat(2000) } });
    await rejected(client, "this app allows 1 KB");
    client.send({ event: `client-${"x".repeat(20)}`, channel: "private-room", data: {} });
    await rejected(client, "event name");
    client.send({ event: "pusher:ping", data: {} });
    await client.event("pusher:pong");
    client.close();
  });

  it("stay inside their app", async () => {
    const [sender, sameApp] = [await member(tight, "private-shared"), await member(tight, "private-shared")];
    const otherApp = await member(DEMO_APP, "private-shared");
    sender.send({ event: "client-hello", channel: "private-shared", data: {} });
    await sameApp.event("client-hello");
    await otherApp.caughtUp();
    expect(otherApp.frames.filter((frame) => frame.event === "client-hello")).toEqual([]);
    for (const client of [sender, sameApp, otherApp]) client.close();
  });
});
