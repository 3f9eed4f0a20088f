/**
 * Server-side liveness with a 1 s activity timeout and a 3 s pong grace: silent
 * clients are pinged, clients that do not answer are closed with 4201, and a
 * client that only receives is never cut off.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RawClient, serverSdk } from "./helpers/clients.js";
import { startHerald, type AppConfig, type Herald } from "./helpers/herald.js";

const brisk: AppConfig = { id: "brisk", key: "brisk-key", secret: "brisk-secret", activityTimeout: 1 };
let herald: Herald;

beforeAll(async () => {
  // 3 s, not 1: a loaded two-core machine may hear a prompt pong late (though the one failure first
  // blamed on that was this file's ping handler, added too late; see connect()).
  herald = await startHerald({ apps: [brisk], args: ["--pong-timeout", "3"] });
});
afterAll(() => herald.stop());

/**
 * `answersPings`: answers each pusher:ping from the first frame on. The first ping may come
 * with pusher:connection_established (Herald pings a socket silent since the last second of
 * its coarse clock, up to a second before activity_timeout): a handler added once
 * connection_established was read missed it, and the socket was closed with 4201.
 */
async function connect(options: ConstructorParameters<typeof RawClient>[1] = {}, answersPings = false): Promise<RawClient> {
  const client = new RawClient(`ws://127.0.0.1:${herald.port}/app/${brisk.key}?protocol=7`, options);
  if (answersPings) {
    client.ws.on("message", (data) => {
      if (String(data).includes('"pusher:ping"')) client.send({ event: "pusher:pong", data: {} });
    });
  }
  const established = await client.event("pusher:connection_established");
  expect(JSON.parse(established.data as string)).toMatchObject({ activity_timeout: 1 });
  return client;
}

describe("keepalive", () => {
  it("pings a silent client and closes it with 4201 when it does not answer", async () => {
    const deaf = await connect({ autoPong: false });
    await deaf.event("pusher:ping", 4000);
    expect(await deaf.closed(7000)).toBe(4201);
  });

  it("keeps a client that answers pusher:ping, and one whose WebSocket answers control pings", async () => {
    const polite = await connect({ autoPong: false }, true);
    const receiver = await connect(); // sends nothing after subscribing; its WebSocket answers control pings
    receiver.send({ event: "pusher:subscribe", data: { channel: "feed" } });
    await receiver.event("pusher_internal:subscription_succeeded");
    // The marker: a client opened after them that does not answer is closed at its deadline, later than theirs.
    const deaf = await connect({ autoPong: false });
    expect(await deaf.closed(9000)).toBe(4201);
    await Promise.all([polite.caughtUp(), receiver.caughtUp()]);
    expect(polite.closeCode).toBeUndefined();
    expect(receiver.closeCode).toBeUndefined();
    await serverSdk(herald.port, brisk).trigger("feed", "tick", {});
    await receiver.event("tick");
    polite.close();
    receiver.close();
  }, 15_000);
});
