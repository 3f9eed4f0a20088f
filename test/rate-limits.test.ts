/**
 * Per-app rate limits. Windows are whole seconds, so a burst may straddle two:
 * the assertions allow for up to twice the limit getting through.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hmacSha256Hex } from "../src/protocol/signatures.js";
import { RawClient, sleep } from "./helpers/clients.js";
import { startHerald, type AppConfig, type Herald } from "./helpers/herald.js";
import { signedUrl } from "./helpers/signed-requests.js";

const limited: AppConfig = {
  id: "limited",
  key: "limited-key",
  secret: "limited-secret",
  enableClientMessages: true,
  maxClientEventsPerSecond: 2,
  maxBackendEventsPerSecond: 3,
  maxReadRequestsPerSecond: 2,
};

let herald: Herald;
beforeAll(async () => {
  herald = await startHerald({ apps: [limited] });
});
afterAll(() => herald.stop());

function signed(method: "GET" | "POST", path: string, body = ""): string {
  return signedUrl(`http://127.0.0.1:${herald.port}`, limited, method, path, body);
}

async function member(channel: string): Promise<RawClient> {
  const client = await RawClient.connect(herald.port, limited.key);
  const socket_id = await client.socketId();
  client.send({ event: "pusher:subscribe", data: { channel, auth: `${limited.key}:${hmacSha256Hex(limited.secret, `${socket_id}:${channel}`)}` } });
  await client.event("pusher_internal:subscription_succeeded");
  return client;
}

describe("rate limits", () => {
  it("refuse client events over maxClientEventsPerSecond with 4301 and keep the socket open", async () => {
    const [sender, receiver] = [await member("private-chat"), await member("private-chat")];
    for (let i = 0; i < 10; i++) sender.send({ event: "client-typing", channel: "private-chat", data: { i } });
    // Handled in order: the sender's answers, and what the receiver got, are in before these pongs.
    await sender.caughtUp();
    await receiver.caughtUp();
    const errors = sender.frames.filter((frame) => frame.event === "pusher:error");
    const delivered = receiver.frames.filter((frame) => frame.event === "client-typing");
    expect(delivered.length).toBeGreaterThanOrEqual(2);
    expect(delivered.length).toBeLessThanOrEqual(4);
    expect(errors.length).toBe(10 - delivered.length);
    expect(errors[0]).toMatchObject({ data: { code: 4301, message: expect.stringContaining("2 client events per second") } });
    expect(sender.closeCode).toBeUndefined();
    sender.close();
    receiver.close();
  });

  it("answer publishes over maxBackendEventsPerSecond with 429 and Retry-After, counting batched events", async () => {
    const event = JSON.stringify({ name: "e", channel: "c", data: "{}" });
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 8; i++) {
      const response = await fetch(signed("POST", "/apps/limited/events", event), { method: "POST", body: event });
      statuses.push(response.status);
      if (response.status === 429) {
        retryAfter = response.headers.get("retry-after");
        expect(await response.json()).toEqual({ error: expect.stringContaining("3 events per second") });
      }
    }
    expect(statuses.filter((status) => status === 200).length).toBeLessThanOrEqual(6);
    expect(statuses).toContain(429);
    expect(retryAfter).toBe("1");
    await sleep(1100); // the next second's allowance
    const batch = JSON.stringify({ batch: [1, 2, 3, 4].map((n) => ({ name: "e", channel: "c", data: String(n) })) });
    const tooBig = await fetch(signed("POST", "/apps/limited/batch_events", batch), { method: "POST", body: batch });
    expect(tooBig.status).toBe(429);
  });

  it("answer reads over maxReadRequestsPerSecond with 429, and unsigned reads use none of the allowance", async () => {
    await sleep(1100); // a second's allowance of its own, whatever the test before used
    for (let i = 0; i < 5; i++) expect((await fetch(`http://127.0.0.1:${herald.port}/apps/limited/channels`)).status).toBe(401);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await fetch(signed("GET", "/apps/limited/channels"))).status);
    expect(statuses[0]).toBe(200);
    expect(statuses.filter((status) => status === 200).length).toBeLessThanOrEqual(4);
    expect(statuses).toContain(429);
  });
});
