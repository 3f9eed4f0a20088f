/**
 * The console's entries of every kind, its access (off, token) and its view of a
 * cluster, in a real browser.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BrowserContext } from "playwright-core";
import WebSocket from "ws";
import { newBrowserContext } from "./helpers/browser.js";
import { connected, nextCall, pusherClient, serverSdk, signedIn, subscribed } from "./helpers/clients.js";
import { logLines, openConsole, OTHER_APP, sendFromCreator, startWithConsole, waitForLine } from "./helpers/console-page.js";
import { DEMO_APP, type AppConfig, type Herald } from "./helpers/herald.js";
import { SKIP_REDIS_TESTS, startRedis, type RedisServer } from "./helpers/redis.js";
import { startWebhookReceiver, type WebhookReceiver } from "./helpers/webhook-receiver.js";

describe("the console's entries", () => {
  let receiver: WebhookReceiver;
  let herald: Herald;
  let browser: BrowserContext;
  let hooked: AppConfig;
  beforeAll(async () => {
    // The first webhook request fails, the retry succeeds.
    receiver = await startWebhookReceiver((index) => (index === 0 ? 500 : 200));
    hooked = { id: "hooked", key: "hooked-key", secret: "hooked-secret", enableClientMessages: true, maxClientEventsPerSecond: 1, webhooks: [{ url: receiver.url, event_types: ["channel_occupied"] }] };
    herald = await startWithConsole([], [hooked]);
    browser = await newBrowserContext();
  });
  afterAll(async () => {
    await browser?.close();
    await herald?.stop();
    await receiver?.close();
  });

  it("show sign-in, client events, rate limits, cache misses, unsubscribes and webhook requests failed and sent", async () => {
    const page = await openConsole(browser, herald, hooked.id);
    const alice = pusherClient(herald.port, hooked, { signinAs: { id: "alice" } });
    const bob = pusherClient(herald.port, hooked);
    await signedIn(alice);
    await waitForLine(page, "signed in", "user alice");

    await Promise.all([subscribed(alice, "private-room"), subscribed(bob, "private-room")]);
    // Three against an allowance of 1 per second: the windows are whole seconds of a clock the
    // server advances once a second, so one may start between two of them, never between all three.
    for (const who of ["alice", "alice again", "alice a third time"]) alice.channel("private-room").trigger("client-typing", { who });
    await waitForLine(page, "client event", "private-room", "event client-typing");
    expect(await waitForLine(page, "rate limited", "private-room")).toContain("client events over 1 per second");

    await subscribed(bob, "cache-prices");
    await waitForLine(page, "cache miss", "cache-prices");
    bob.unsubscribe("cache-prices");
    await waitForLine(page, "unsubscribed", "cache-prices");

    expect(await waitForLine(page, "webhook failed", receiver.url)).toContain("status 500");
    // The failed request is sent again (other batches may go through at their first attempt meanwhile).
    expect(await waitForLine(page, "webhook sent", receiver.url, "attempt 2")).toContain("status 200");
    for (const client of [alice, bob]) client.disconnect();
    await page.close();
  });
});

describe("the console turned off", () => {
  it("leaves the ops port to /metrics with --console false", async () => {
    const herald = await startWithConsole(["--console", "false"]);
    try {
      expect((await fetch(`http://127.0.0.1:${herald.opsPort}/`)).status).toBe(404);
      expect((await fetch(`http://127.0.0.1:${herald.opsPort}/console/api/apps`)).status).toBe(404);
      expect((await fetch(`http://127.0.0.1:${herald.opsPort}/metrics`)).status).toBe(200);
    } finally {
      await herald.stop();
    }
  });
});

describe("the console with a token", () => {
  const TOKEN = "s3cret-console-token";
  let herald: Herald;
  let browser: BrowserContext;
  beforeAll(async () => {
    herald = await startWithConsole(["--console-token", TOKEN]);
    browser = await newBrowserContext();
  });
  afterAll(async () => {
    await browser?.close();
    await herald?.stop();
  });

  it("refuses a missing or wrong token without naming any app, and accepts the right one as a Bearer", async () => {
    for (const headers of [{}, { Authorization: "Bearer wrong" }, { Authorization: TOKEN }] as Array<Record<string, string>>) {
      const response = await fetch(`http://127.0.0.1:${herald.opsPort}/console/api/apps`, { headers });
      expect(response.status).toBe(401);
      const body = await response.text();
      expect(body).toContain("token");
      expect(body).not.toContain(DEMO_APP.id);
    }
    const wrongApp = await fetch(`http://127.0.0.1:${herald.opsPort}/console/api/apps/${DEMO_APP.id}/channels`, { headers: { Authorization: "Bearer wrong" } });
    expect(wrongApp.status).toBe(401);
    const right = await fetch(`http://127.0.0.1:${herald.opsPort}/console/api/apps`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(right.status).toBe(200);
    expect(await right.json()).toMatchObject({ apps: [{ id: DEMO_APP.id }, { id: OTHER_APP.id }] });
  });

  it("closes a live feed that brings the wrong token", async () => {
    const feed = new WebSocket(`ws://127.0.0.1:${herald.opsPort}/console/api/feed`);
    await new Promise((done) => feed.once("open", done));
    const messages: string[] = [];
    feed.on("message", (data) => messages.push(String(data)));
    const closed = new Promise<number>((done) => feed.once("close", (code) => done(code)));
    feed.send(JSON.stringify({ token: "wrong", app: DEMO_APP.id }));
    expect(await closed).toBe(4401);
    expect(messages.join()).toContain("token");
    expect(messages.join()).not.toContain("hello");
  });

  it("closes a feed that sends anything but a JSON object with 4400, and the server goes on", async () => {
    for (const text of ["null", "[]", "5", '"token"', "{"]) {
      const feed = new WebSocket(`ws://127.0.0.1:${herald.opsPort}/console/api/feed`);
      await new Promise((done) => feed.once("open", done));
      const closed = new Promise<number>((done) => feed.once("close", (code) => done(code)));
      feed.send(text);
      expect(await closed).toBe(4400);
    }
    expect((await fetch(`http://127.0.0.1:${herald.port}/health`)).status).toBe(200);
    expect(herald.process.exitCode).toBeNull();
  });

  // 40 s: with both test suites at once on two cores, chromium's five steps here once took more than 20.
  it("asks for the token in the page, refuses a wrong one and shows the apps once the right one is given", { timeout: 40_000 }, async () => {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${herald.opsPort}/`);
    await page.getByLabel("Token").fill("wrong");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText(/Signing in failed/).waitFor();
    await page.getByLabel("Token").fill(TOKEN);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText("feed live").waitFor();
    expect(await page.getByLabel("App").locator("option").allInnerTexts()).toEqual([DEMO_APP.id, OTHER_APP.id]);
    const client = pusherClient(herald.port, DEMO_APP);
    const socketId = await connected(client);
    await waitForLine(page, "connection opened", socketId);
    client.disconnect();
    await page.close();
  });
});

describe.skipIf(SKIP_REDIS_TESTS)("the console on a cluster", () => {
  let redis: RedisServer;
  let nodeA: Herald;
  let nodeB: Herald;
  let browser: BrowserContext;
  beforeAll(async () => {
    redis = await startRedis();
    nodeA = await startWithConsole(["--redis", redis.url]);
    nodeB = await startWithConsole(["--redis", redis.url]);
    browser = await newBrowserContext();
  });
  afterAll(async () => {
    await browser?.close();
    await Promise.all([nodeA?.stop(), nodeB?.stop()]);
    await redis?.kill();
  });

  it("shows on node A what happens on node B, with its node, and cluster-wide channels", async () => {
    const page = await openConsole(browser, nodeA);
    const nodeBName = String(nodeB.logs.find((line) => line.msg.startsWith("Herald listening"))!.node);
    // Node B hears of the watch within a few seconds; a marker published on B shows it has.
    const sdkB = serverSdk(nodeB.port, DEMO_APP);
    const deadline = Date.now() + 10_000;
    for (let n = 0; ; n++) {
      await sdkB.trigger("marker", `probe-${n}`, {});
      if ((await logLines(page)).some((line) => line.includes(`node ${nodeBName}`))) break;
      if (Date.now() > deadline) throw new Error("node B's entries never reached node A's console");
      await page.waitForTimeout(200);
    }
    const client = pusherClient(nodeB.port, DEMO_APP, { user: { user_id: "grace", user_info: { name: "Grace" } } });
    const socketId = await connected(client);
    await subscribed(client, "presence-cluster");
    const line = await waitForLine(page, "subscribed", "presence-cluster", socketId);
    expect(line).toContain(`node ${nodeBName}`);
    await page.getByLabel("Members of presence-cluster").getByText("grace").waitFor();

    // The event creator on A reaches a client on B.
    const received = nextCall<unknown>();
    client.channel("presence-cluster").bind("hello", received.callback);
    await sendFromCreator(page, "presence-cluster", "hello", '{"from": "A"}');
    expect(await received.promise).toEqual({ from: "A" });
    client.disconnect();
    await page.close();
  });
});

