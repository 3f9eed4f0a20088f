/**
 * Bad input is normal input: every malformed frame gets a pusher:error (or the
 * subscription_error pusher-js expects), the socket stays usable, and a bystander
 * on the same server keeps receiving events throughout.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RawClient, serverSdk } from "./helpers/clients.js";
import { DEMO_APP, startHerald, type Herald } from "./helpers/herald.js";

let herald: Herald;
let bystander: RawClient;

beforeAll(async () => {
  herald = await startHerald();
  bystander = await RawClient.subscribed(herald.port, "bystander");
});
afterAll(async () => {
  // Whatever the tests threw at the server, the bystander is still served.
  await serverSdk(herald.port, DEMO_APP).trigger("bystander", "still-here", { ok: true });
  expect(await bystander.event("still-here")).toMatchObject({ data: '{"ok":true}' });
  bystander.close();
  expect(herald.process.exitCode).toBeNull();
  await herald.stop();
});

async function fresh(): Promise<RawClient> {
  const client = await RawClient.connect(herald.port);
  await client.event("pusher:connection_established");
  return client;
}

/** The socket still answers after the bad frame. */
async function stillServed(client: RawClient): Promise<void> {
  client.send({ event: "pusher:ping", data: {} });
  await client.event("pusher:pong");
}

describe("malformed WebSocket frames", () => {
  it.each([
    ["non-JSON text", "hello", "not valid JSON"],
    ["a JSON array", "[1,2]", "JSON object"],
    ["JSON null", "null", "JSON object"],
    ["a JSON string", '"pusher:ping"', "JSON object"],
    ["an event that is not a string", '{"event":5}', "no \"event\""],
    ["an unknown event", '{"event":"pusher:dance","data":{}}', "Unknown event"],
    ["subscribe without data", '{"event":"pusher:subscribe"}', "needs data"],
    ["subscribe without a channel", '{"event":"pusher:subscribe","data":{"auth":""}}', "\"channel\" string"],
    ["subscribe with a numeric channel", '{"event":"pusher:subscribe","data":{"channel":42}}', "\"channel\" string"],
    ["subscribe with a numeric auth", '{"event":"pusher:subscribe","data":{"channel":"private-a","auth":1}}', "\"auth\""],
    ["subscribe with object channel_data", '{"event":"pusher:subscribe","data":{"channel":"presence-a","auth":"x","channel_data":{}}}', "channel_data"],
    ["unsubscribe without a channel", '{"event":"pusher:unsubscribe","data":[]}', "pusher:unsubscribe"],
    ["a client event without a channel", '{"event":"client-x","data":{}}', "\"channel\""],
  ])("answers %s with pusher:error 4300 and keeps the socket", async (_, text, message) => {
    const client = await fresh();
    client.send(text);
    expect(await client.event("pusher:error")).toMatchObject({ data: { code: 4300, message: expect.stringContaining(message) } });
    await stillServed(client);
    client.close();
  });

  it("rejects binary frames", async () => {
    const client = await fresh();
    client.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect(await client.event("pusher:error")).toMatchObject({ data: { code: 4300, message: expect.stringContaining("Binary") } });
    await stillServed(client);
    client.close();
  });

  it("rejects presence auth without channel_data as a subscription_error", async () => {
    const client = await fresh();
    client.send({ event: "pusher:subscribe", data: { channel: "presence-x", auth: "app-key:abc" } });
    expect(await client.event("pusher:subscription_error")).toMatchObject({ channel: "presence-x", data: { status: 401 } });
    await stillServed(client);
    client.close();
  });

  it("drops a connection that sends a frame over the 100 KB frame limit, and only that one", async () => {
    const client = await fresh();
    client.send(JSON.stringify({ event: "client-big", channel: "private-a", data: "x".repeat(200 * 1024) }));
    expect(await client.closed()).toBe(1006);
    const other = await fresh();
    await stillServed(other);
    other.close();
  });

  it("survives a burst of garbage from many sockets at once", async () => {
    const clients = await Promise.all(Array.from({ length: 20 }, () => fresh()));
    for (const client of clients) for (let i = 0; i < 50; i++) client.send(i % 2 ? "{" : '{"event":"pusher:subscribe","data":{"channel":[]}}');
    await Promise.all(clients.map((client) => stillServed(client)));
    await Promise.all(clients.map((client) => client.closedByUs()));
  });
});
