/** Operating Herald: /health, /ready and the graceful stop on SIGTERM/SIGINT. */
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RawClient, serverSdk } from "./helpers/clients.js";
import { DEMO_APP, startHerald, type AppConfig, type Herald } from "./helpers/herald.js";
import { startWebhookReceiver, type WebhookReceiver } from "./helpers/webhook-receiver.js";

async function getJson(port: number, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Sends `requests` on one connection, pipelined, and reads until the text ends with `last`. */
async function pipelined(port: number, requests: string[], last: string): Promise<string> {
  const socket = connect(port, "127.0.0.1");
  let text = "";
  const answered = new Promise<void>((resolve, reject) => {
    socket.on("data", (data) => {
      text += data.toString();
      if (text.endsWith(last)) resolve();
    });
    socket.on("close", () => reject(new Error(`closed after ${JSON.stringify(text)}`)));
  });
  socket.write(requests.map((request) => `${request} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`).join(""));
  await answered;
  socket.destroy();
  return text;
}

/** A raw socket subscribed to a public channel, so a stop has a channel to vacate. */
function subscriber(herald: Herald, channel: string): Promise<RawClient> {
  return RawClient.subscribed(herald.port, channel);
}

function exited(herald: Herald): Promise<number | null> {
  return new Promise((resolve) => {
    if (herald.process.exitCode !== null) return resolve(herald.process.exitCode);
    herald.process.once("exit", (code) => resolve(code));
  });
}

describe("/health and /ready", () => {
  let herald: Herald;
  beforeAll(async () => {
    herald = await startHerald({ args: ["--path-prefix", "/pusher"] });
  });
  afterAll(() => herald.stop());

  it("report liveness with uptime, connections and apps", async () => {
    const clients = [await RawClient.connect(herald.port, DEMO_APP.key, undefined, undefined, "/pusher"), await RawClient.connect(herald.port, DEMO_APP.key, undefined, undefined, "/pusher")];
    await Promise.all(clients.map((client) => client.socketId()));
    const { status, body } = await getJson(herald.port, "/health");
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: "ok", connections: 2, apps: 1 });
    expect(typeof body.uptimeSeconds).toBe("number");
    for (const client of clients) client.close();
  });

  it("answer ready while serving, at the root and under the path prefix", async () => {
    for (const path of ["/ready", "/pusher/ready", "/pusher/health"]) {
      expect((await getJson(herald.port, path)).status).toBe(200);
    }
    expect((await getJson(herald.port, "/ready")).body).toEqual({ ready: true });
  });

  it("answer HEAD with a GET's headers and no body, as does the 404 for any other path", async () => {
    // Pipelined on one connection: a body after a HEAD's headers would be read as the next answer.
    const heads = ["HEAD /health", "HEAD /pusher/ready", "HEAD /nope", "HEAD /apps/app-id/events"];
    const text = await pipelined(herald.port, [...heads, "GET /ready"], '{"ready":true}');
    const answers = text.split(/(?=HTTP\/1\.1 )/);
    expect(answers.map((answer) => answer.slice(0, 12))).toEqual(["HTTP/1.1 200", "HTTP/1.1 200", "HTTP/1.1 404", "HTTP/1.1 404", "HTTP/1.1 200"]);
    for (const answer of answers.slice(0, heads.length)) {
      expect(answer.endsWith("\r\n\r\n")).toBe(true);
      // The length the GET's body would have.
      expect(Number(/content-length: (\d+)/i.exec(answer)?.[1])).toBeGreaterThan(10);
    }
    expect(Number(/content-length: (\d+)/i.exec(answers[1]!)?.[1])).toBe('{"ready":true}'.length);
  });
});

describe("a graceful stop", () => {
  let receiver: WebhookReceiver;
  let hooked: AppConfig;
  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    hooked = { ...DEMO_APP, webhooks: [{ url: receiver.url, event_types: ["channel_vacated"] }] };
  });
  afterAll(() => receiver.close());

  it("turns /ready to 503, refuses new sockets, closes the others with 4200, sends due webhooks, then exits 0", { timeout: 15_000 }, async () => {
    const herald = await startHerald({ apps: [hooked] });
    const client = await subscriber(herald, "drain-room");

    const exit = exited(herald);
    herald.process.kill("SIGTERM");
    expect(await client.closed()).toBe(4200);
    expect(await getJson(herald.port, "/ready")).toEqual({ status: 503, body: { ready: false, reason: "draining: the server is shutting down" } });
    await expect(RawClient.connect(herald.port)).rejects.toThrow(/503/);

    expect(await exit).toBe(0);
    // The channel emptied by the stop was reported after its 3 s hold, before the process left.
    const vacated = receiver.received.filter((request) => request.rawBody.includes('"channel_vacated"') && request.rawBody.includes("drain-room"));
    expect(vacated).toHaveLength(1);
    expect(herald.logs.some((line) => line.msg === "stopped")).toBe(true);
  });

  it("exits at once on a second signal", { timeout: 15_000 }, async () => {
    const herald = await startHerald({ apps: [hooked] });
    const client = await subscriber(herald, "impatient-room");
    const exit = exited(herald);
    const started = Date.now();
    herald.process.kill("SIGTERM");
    await client.closed();
    herald.process.kill("SIGINT");
    expect(await exit).toBe(1);
    // Without the second signal the stop would have waited out the 3 s hold.
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it("gives up after --shutdown-grace", { timeout: 15_000 }, async () => {
    const hanging = await startWebhookReceiver(() => 500);
    const herald = await startHerald({ apps: [{ ...DEMO_APP, webhooks: [{ url: hanging.url }] }], args: ["--shutdown-grace", "1"] });
    await subscriber(herald, "slow-room");
    // Its first attempt failed: a retry is pending when the stop begins. (The first waits for its
    // batch, 250 ms, then the POST: more than a poll's default second on a loaded machine.)
    await expect.poll(() => hanging.received.length, { timeout: 5000 }).toBeGreaterThan(0);
    const exit = exited(herald);
    herald.process.kill("SIGTERM");
    expect(await exit).toBe(1);
    expect(herald.logs.some((line) => line.msg.includes("shutdown took longer than 1 s"))).toBe(true);
    await hanging.close();
  });
});

describe("server limits and logs", () => {
  it("refuses connections past --max-connections with 4100, whatever the app", async () => {
    const other: AppConfig = { id: "other", key: "other-key", secret: "other-secret" };
    const herald = await startHerald({ apps: [DEMO_APP, other], args: ["--max-connections", "2"] });
    const first = await RawClient.connect(herald.port, DEMO_APP.key);
    const second = await RawClient.connect(herald.port, other.key);
    await Promise.all([first.socketId(), second.socketId()]);
    const third = await RawClient.connect(herald.port, DEMO_APP.key);
    expect(await third.event("pusher:error")).toMatchObject({ data: { code: 4100 } });
    expect(await third.closed()).toBe(4100);
    first.close();
    second.close();
    await herald.stop();
  });

  it("logs the open-file limit at start-up", async () => {
    const herald = await startHerald();
    expect(herald.logs.find((line) => typeof line.openFileLimit === "number")).toBeDefined();
    await herald.stop();
  });

  it("logs connections, frames, refused subscriptions and refused API requests at debug level, never a signature", async () => {
    const herald = await startHerald({ args: ["--log-level", "debug"] });
    const client = await RawClient.connect(herald.port);
    const socketId = await client.socketId();
    const { hmacSha256Hex } = await import("../src/protocol/signatures.js");
    const signature = hmacSha256Hex(DEMO_APP.secret, `${socketId}:private-logged`);
    client.send({ event: "pusher:subscribe", data: { channel: "private-logged", auth: `${DEMO_APP.key}:${signature}` } });
    await client.event("pusher_internal:subscription_succeeded");
    client.send({ event: "pusher:subscribe", data: { channel: "private-forged", auth: `${DEMO_APP.key}:${signature}` } });
    await client.event("pusher:subscription_error");
    await expect(serverSdk(herald.port, { ...DEMO_APP, secret: "guessed" }).trigger("news", "e", {})).rejects.toMatchObject({ status: 401 });
    await client.closedByUs();
    await herald.stop();
    const messages = herald.logs.map((line) => line.msg);
    expect(messages).toEqual(expect.arrayContaining(["connection opened", "frame received", "connection closed"]));
    expect(herald.logs.find((line) => line.msg === "subscription refused")).toMatchObject({ level: 20, channel: "private-forged", status: 401 });
    expect(herald.logs.find((line) => line.msg === "HTTP API request refused")).toMatchObject({ level: 20, endpoint: "/events", status: 401 });
    const frameLine = herald.logs.find((line) => line.msg === "frame received" && String(line.frame).includes("private-logged"));
    expect(frameLine?.frame).toContain('"auth":"[redacted]"');
    const everything = JSON.stringify(herald.logs);
    expect(everything).not.toContain(signature);
    expect(everything).not.toContain(DEMO_APP.secret);
  });
});

describe("server limits as flags", () => {
  it("--max-frame-kb and --max-body-kb bound what a client may send", { timeout: 10_000 }, async () => {
    const herald = await startHerald({ args: ["--max-frame-kb", "2", "--max-body-kb", "4"] });
    try {
      const small = await RawClient.connect(herald.port);
      await small.socketId();
      small.send({ event: "pusher:ping", data: "x".repeat(1500) });
      await small.event("pusher:pong");
      small.send({ event: "pusher:ping", data: "x".repeat(2500) });
      expect(await small.closed()).toBe(1006);

      const sdk = serverSdk(herald.port, DEMO_APP);
      await sdk.trigger("news", "e", "x".repeat(3000));
      // Under the app's own 10 KB payload limit, but over the server's 4 KB body limit.
      await expect(sdk.trigger("news", "e", "x".repeat(6000))).rejects.toMatchObject({ status: 413, body: expect.stringContaining("4096 bytes") });
    } finally {
      await herald.stop();
    }
  });
});
