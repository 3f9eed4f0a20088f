/**
 * The console in a real browser (Debian's chromium through playwright-core),
 * against a real Herald driven by pusher-js and the `pusher` SDK.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BrowserContext, Page } from "playwright-core";
import WebSocket from "ws";
import { freePort } from "../bench/lib/redis-server.js";
import { launchBrowser } from "./helpers/browser.js";
import { connected, nextCall, pusherClient, RawClient, serverSdk, signedIn, subscribed } from "./helpers/clients.js";
import { DEMO_APP, startHerald, type AppConfig, type Herald } from "./helpers/herald.js";
import { SKIP_REDIS_TESTS, startRedis, type RedisServer } from "./helpers/redis.js";
import { startWebhookReceiver, type WebhookReceiver } from "./helpers/webhook-receiver.js";

const OTHER_APP: AppConfig = { id: "other-app", key: "other-key", secret: "other-secret" };
/** Where the README's screenshot comes from: `HERALD_SCREENSHOT=1 npx vitest run test/console.test.ts`. */
const SCREENSHOT = resolve(import.meta.dirname, "../docs/console.png");

async function startWithConsole(args: string[] = [], apps: AppConfig[] = [DEMO_APP, OTHER_APP], env: Record<string, string> = {}): Promise<Herald> {
  return startHerald({ apps, args: ["--metrics-port", String(await freePort()), ...args], env });
}

async function openConsole(browser: BrowserContext, herald: Herald, appId = DEMO_APP.id): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${herald.opsPort}/`);
  await page.getByLabel("App").selectOption(appId);
  await page.getByText("feed live").waitFor();
  return page;
}

/** The log's entries as the page shows them, one line of text each. */
function logLines(page: Page): Promise<string[]> {
  return page.locator(".entries > li .line").allInnerTexts();
}

async function waitForLine(page: Page, ...parts: string[]): Promise<string> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const line = (await logLines(page)).find((text) => parts.every((part) => text.includes(part)));
    if (line) return line;
    if (Date.now() > deadline) {
      const header = await page.locator("header").innerText();
      throw new Error(`no log line with ${JSON.stringify(parts)} (${header}); the log shows:\n${(await logLines(page)).join("\n")}`);
    }
    await page.waitForTimeout(25);
  }
}

function rssKb(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]);
}

describe("the console, without a token, on this machine", () => {
  let herald: Herald;
  let browser: BrowserContext;
  beforeAll(async () => {
    herald = await startWithConsole();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await herald?.stop();
  });

  it("lists the apps under App and shows a connection, its subscription and an SDK event with its payload", async () => {
    const page = await openConsole(browser, herald);
    expect(await page.getByLabel("App").locator("option").allInnerTexts()).toEqual([DEMO_APP.id, OTHER_APP.id]);

    const client = pusherClient(herald.port, DEMO_APP);
    const socketId = await connected(client);
    await subscribed(client, "orders");
    await waitForLine(page, "connection opened", socketId, "via ws");
    await waitForLine(page, "subscribed", "orders", socketId);

    await serverSdk(herald.port, DEMO_APP).trigger("orders", "App\\Events\\OrderShipped", { order: 42, note: "x".repeat(3000) });
    const line = await waitForLine(page, "API event", "App\\Events\\OrderShipped");
    expect(line).toContain("channels orders");
    expect(line).toMatch(/\b30\d\d bytes/);
    await page.locator(".entry.api_event").first().getByRole("button", { name: "Payload" }).click();
    const payload = await page.locator(".entry.api_event .payload").first().innerText();
    expect(payload).toContain('"order":42');
    expect(payload).toContain("preview of");

    client.disconnect();
    await waitForLine(page, "connection closed", socketId);
    await page.close();
  });

  it("shows a refused subscription with its reason, and a presence member in Channels", async () => {
    const page = await openConsole(browser, herald);
    const raw = await RawClient.connect(herald.port, DEMO_APP.key);
    await raw.socketId();
    raw.send({ event: "pusher:subscribe", data: { channel: "private-secret", auth: `${DEMO_APP.key}:${"0".repeat(64)}` } });
    await raw.event("pusher:subscription_error");
    const refused = await waitForLine(page, "subscription refused", "private-secret");
    expect(refused).toContain("Invalid signature");
    raw.close();

    const member = pusherClient(herald.port, DEMO_APP, { user: { user_id: "ada", user_info: { name: "Ada Lovelace" } } });
    await subscribed(member, "presence-room");
    await waitForLine(page, "member added", "presence-room", "user ada");
    const members = page.getByLabel("Members of presence-room");
    await members.getByText("ada").waitFor();
    expect(await members.innerText()).toContain('{"name":"Ada Lovelace"}');
    member.disconnect();
    await page.close();
  });

  it("sends an event from the event creator that a pusher-js client receives, through the API's own rules", async () => {
    const page = await openConsole(browser, herald);
    const client = pusherClient(herald.port, DEMO_APP);
    await subscribed(client, "news");
    const received = nextCall<unknown>();
    client.channel("news").bind("breaking", received.callback);

    await page.getByLabel("Channel", { exact: true }).fill("news");
    await page.getByLabel("Event", { exact: true }).fill("breaking");
    await page.getByLabel("Data").fill('{"headline": "Herald ships a console"}');
    await page.getByRole("button", { name: "Send" }).click();
    expect(await received.promise).toEqual({ headline: "Herald ships a console" });
    await page.getByText(/^Sent \(200/).waitFor();

    // The API's limits apply: a channel name the API refuses is refused here, with its message.
    await page.getByLabel("Channel", { exact: true }).fill("bad channel");
    await page.getByRole("button", { name: "Send" }).click();
    await page.getByText(/^400: .*characters outside/).waitFor();

    await page.getByLabel("Channels").getByText("news").waitFor();
    client.disconnect();
    await page.close();
  });

  it("runs without a script error or a Content-Security-Policy violation", async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(error.message));
    page.on("console", (message) => message.type() === "error" && problems.push(message.text()));
    await page.goto(`http://127.0.0.1:${herald.opsPort}/`);
    await page.getByText("feed live").waitFor();
    await page.getByText("Webhook queue").waitFor({ timeout: 10_000 });
    expect(problems).toEqual([]);
    await page.close();
  });

  // The README's picture of a session; slow (it waits for a few stats samples), so only on demand.
  it.runIf(process.env.HERALD_SCREENSHOT === "1")("takes the README's screenshot", async () => {
    const page = await openConsole(browser, herald);
    const sdk = serverSdk(herald.port, DEMO_APP);
    const ada = pusherClient(herald.port, DEMO_APP, { user: { user_id: "1", user_info: { name: "Ada" } } });
    const alan = pusherClient(herald.port, DEMO_APP, { user: { user_id: "2", user_info: { name: "Alan" } } });
    await subscribed(ada, "presence-chat.1");
    await subscribed(alan, "presence-chat.1");
    await subscribed(ada, "private-App.Models.User.1");
    const raw = await RawClient.connect(herald.port, DEMO_APP.key);
    await raw.socketId();
    raw.send({ event: "pusher:subscribe", data: { channel: "private-App.Models.User.2", auth: `${DEMO_APP.key}:${"0".repeat(64)}` } });
    await raw.event("pusher:subscription_error");
    alan.channel("presence-chat.1").trigger("client-typing", { name: "Alan" });
    for (let i = 0; i < 3; i++) {
      await sdk.trigger("private-App.Models.User.1", "Illuminate\\Notifications\\Events\\BroadcastNotificationCreated", { id: `n-${i}`, type: "App\\Notifications\\InvoicePaid", amount: 120 + i });
      await page.waitForTimeout(4000);
    }
    await page.getByLabel("Channel", { exact: true }).fill("presence-chat.1");
    await page.getByLabel("Event", { exact: true }).fill("announcement");
    await page.getByLabel("Data").fill('{"text": "Deploy at 17:00"}');
    await page.getByRole("button", { name: "Send" }).click();
    await page.getByText(/^Sent \(200/).waitFor();
    await waitForLine(page, "API event", "announcement");
    await page.locator(".entry.api_event").nth(1).getByRole("button", { name: "Payload" }).click();
    await page.getByLabel("Members of presence-chat.1").getByText("Alan").waitFor();
    await page.screenshot({ path: SCREENSHOT });
    for (const client of [ada, alan]) client.disconnect();
    raw.close();
    await page.close();
  });

  it("filters by type, channel prefix and text, and clears", async () => {
    const page = await openConsole(browser, herald);
    const sdk = serverSdk(herald.port, DEMO_APP);
    await sdk.trigger("alpha-1", "first", { n: 1 });
    await sdk.trigger("beta-1", "second", { n: 2 });
    await waitForLine(page, "API event", "second");
    await page.getByLabel("Channel prefix").fill("alpha-");
    expect((await logLines(page)).every((line) => line.includes("alpha-"))).toBe(true);
    await page.getByLabel("Channel prefix").fill("");
    await page.getByLabel("Search").fill("second");
    expect(await logLines(page)).toHaveLength(1);
    await page.getByLabel("Search").fill("");
    await page.getByLabel("Type").selectOption("api_event");
    expect((await logLines(page)).length).toBeGreaterThanOrEqual(2);
    await page.getByRole("button", { name: "Clear" }).click();
    expect(await logLines(page)).toHaveLength(0);
    await page.close();
  });

  it("keeps the server's memory bounded while a paused console misses a flood, and says how much it missed", async () => {
    const page = await openConsole(browser, herald);
    await page.getByRole("button", { name: "Pause" }).click();
    await page.getByText("paused: new entries are dropped by the server").waitFor();
    const sdk = serverSdk(herald.port, DEMO_APP);
    const before = rssKb(herald.process.pid!);
    const payload = { blob: "y".repeat(8000) };
    for (let round = 0; round < 40; round++) {
      await Promise.all(Array.from({ length: 50 }, (_, i) => sdk.trigger(`flood-${i % 5}`, "flood", payload)));
    }
    // Every API event of the flood (and whatever else happened meanwhile) was dropped for this console.
    const status = page.getByRole("status").filter({ hasText: "entries shown" });
    const deadline = Date.now() + 10_000;
    while (Number(/(\d+) entries dropped/.exec(await status.innerText())?.[1] ?? 0) < 2000) {
      if (Date.now() > deadline) throw new Error(`the console never said it dropped the flood: ${await status.innerText()}`);
      await page.waitForTimeout(50);
    }
    const grownMb = (rssKb(herald.process.pid!) - before) / 1024;
    // 2,000 entries of 2 KB previews would be 4 MB if they were kept; nothing is.
    expect(grownMb).toBeLessThan(40);
    expect(await logLines(page)).not.toContainEqual(expect.stringContaining("flood"));
    await page.getByRole("button", { name: "Resume" }).click();
    await page.getByText("paused: new entries are dropped by the server").waitFor({ state: "detached" });
    await sdk.trigger("after-flood", "marker", {});
    await waitForLine(page, "API event", "marker");

    // Unpaused, the page keeps the newest 2,000 and says how many older ones it let go. Sent in
    // rounds the page keeps up with: a burst past its 256 KB would be dropped by the server.
    for (let round = 0; round < 11; round++) {
      await Promise.all(Array.from({ length: 200 }, (_, i) => sdk.trigger("steady", `steady-${round * 200 + i}`, {})));
      await page.getByText(`event steady-${round * 200 + 199} `).waitFor();
    }
    await page.getByText(/^2000 of 2000 entries shown.* \d+ older entries dropped \(the page keeps 2000\)/).waitFor({ timeout: 10_000 });
    await page.getByText("Showing the newest 500; filter to find older ones.").waitFor();
    expect(await page.locator(".entries > li").count()).toBe(500);
    await page.close();
  });

  it("refuses requests that came through a proxy, with a sentence naming --console-token", async () => {
    for (const path of ["/", "/console/api/apps"]) {
      const response = await fetch(`http://127.0.0.1:${herald.opsPort}${path}`, { headers: { "X-Forwarded-For": "203.0.113.7" } });
      expect(response.status).toBe(403);
      expect(await response.text()).toContain("--console-token");
    }
  });

  it("sends strict security headers and never an app secret", async () => {
    const page = await fetch(`http://127.0.0.1:${herald.opsPort}/`);
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(page.headers.get("content-security-policy")).not.toContain("unsafe-inline");
    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
    expect(page.headers.get("cache-control")).toBe("no-store");
    const apps = await (await fetch(`http://127.0.0.1:${herald.opsPort}/console/api/apps`)).text();
    expect(apps).toContain(DEMO_APP.id);
    expect(apps).not.toContain(DEMO_APP.secret);
    expect(apps).not.toContain(OTHER_APP.secret);
  });

  it("is never served on the public port", async () => {
    expect((await fetch(`http://127.0.0.1:${herald.port}/console/api/apps`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${herald.port}/`)).status).toBe(404);
  });
});

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
    browser = await launchBrowser();
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
    alice.channel("private-room").trigger("client-typing", { who: "alice" });
    alice.channel("private-room").trigger("client-typing", { who: "alice again" });
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
    browser = await launchBrowser();
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

  it("asks for the token in the page, refuses a wrong one and shows the apps once the right one is given", async () => {
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
    browser = await launchBrowser();
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
    await page.getByLabel("Channel", { exact: true }).fill("presence-cluster");
    await page.getByLabel("Event", { exact: true }).fill("hello");
    await page.getByLabel("Data").fill('{"from": "A"}');
    await page.getByRole("button", { name: "Send" }).click();
    expect(await received.promise).toEqual({ from: "A" });
    client.disconnect();
    await page.close();
  });
});
