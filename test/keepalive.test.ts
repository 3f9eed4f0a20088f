/**
 * Server-side liveness with a 1 s activity timeout and a 3 s pong grace: silent
 * clients are pinged, clients that do not answer are closed with 4201, and a
 * client that only receives is never cut off.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RawClient, serverSdk } from "./helpers/clients.js";
import { startHerald, type AppConfig, type Herald } from "./helpers/herald.js";

const brisk: AppConfig = { id: "brisk", key: "brisk-key", secret: "brisk-secret", activityTimeout: 1 };
let herald: Herald;
/** How long this process's event loop was held up: a client that answers can only answer late when it is. */
const stalls = monitorEventLoopDelay({ resolution: 20 });

beforeAll(async () => {
  // 5 s, not 1: a client that answers at once was heard after more than 1 s on a loaded
  // two-core machine, then (once, in CI, on two worker threads) after more than 3 s.
  herald = await startHerald({ apps: [brisk], args: ["--pong-timeout", "5"] });
  stalls.enable();
});
afterAll(() => herald.stop());

async function connect(options: ConstructorParameters<typeof RawClient>[1] = {}): Promise<RawClient> {
  const client = await RawClient.connect(herald.port, brisk.key, "?protocol=7", options);
  const established = await client.event("pusher:connection_established");
  expect(JSON.parse(established.data as string)).toMatchObject({ activity_timeout: 1 });
  return client;
}

describe("keepalive", () => {
  it("pings a silent client and closes it with 4201 when it does not answer", async () => {
    const deaf = await connect({ autoPong: false });
    await deaf.event("pusher:ping", 4000);
    expect(await deaf.closed(9000)).toBe(4201);
  });

  it("keeps a client that answers pusher:ping, and one whose WebSocket answers control pings", async () => {
    const polite = await connect({ autoPong: false });
    polite.ws.on("message", (data) => {
      if (String(data).includes('"pusher:ping"')) polite.send({ event: "pusher:pong", data: {} });
    });
    const receiver = await connect(); // sends nothing after subscribing; its WebSocket answers control pings
    receiver.send({ event: "pusher:subscribe", data: { channel: "feed" } });
    await receiver.event("pusher_internal:subscription_succeeded");
    // The marker: a client opened after them that does not answer is closed at its deadline, later than theirs.
    const deaf = await connect({ autoPong: false });
    expect(await deaf.closed(11_000)).toBe(4201);
    await Promise.all([polite.caughtUp(), receiver.caughtUp()]).catch((error: Error) => {
      throw new Error(`${error.message}; this process's event loop was held up for ${Math.round(stalls.max / 1e6)} ms at most`);
    });
    expect(polite.closeCode).toBeUndefined();
    expect(receiver.closeCode).toBeUndefined();
    await serverSdk(herald.port, brisk).trigger("feed", "tick", {});
    await receiver.event("tick");
    polite.close();
    receiver.close();
  }, 20_000);
});
