/**
 * The console in a real browser (Debian's chromium through playwright-core),
 * against a real Herald driven by pusher-js and the `pusher` SDK: the page itself.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BrowserContext } from "playwright-core";
import { newBrowserContext } from "./helpers/browser.js";
import { connected, nextCall, pusherClient, RawClient, serverSdk, subscribed } from "./helpers/clients.js";
import { logLines, openConsole, OTHER_APP, sendFromCreator, startWithConsole, waitForLine } from "./helpers/console-page.js";
import { DEMO_APP, type Herald } from "./helpers/herald.js";



/** Where the README's screenshot comes from: `HERALD_SCREENSHOT=1 npx vitest run test/console.test.ts`. */
const SCREENSHOT = resolve(import.meta.dirname, "../docs/console.png");

function rssKb(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]);
}

describe("the console, without a token, on this machine", () => {
  let herald: Herald;
  let browser: BrowserContext;
  beforeAll(async () => {
    herald = await startWithConsole();
    browser = await newBrowserContext();
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

    await sendFromCreator(page, "news", "breaking", '{"headline": "Herald ships a console"}');
    expect(await received.promise).toEqual({ headline: "Herald ships a console" });
    await page.getByText(/^Sent \(200/).waitFor();

    // The API's limits apply: a channel name the API refuses is refused here, with its message.
    await sendFromCreator(page, "bad channel", "breaking", '{"headline": "Herald ships a console"}');
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
    await sendFromCreator(page, "presence-chat.1", "announcement", '{"text": "Deploy at 17:00"}');
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

  it("keeps the server's memory bounded while a paused console misses a flood, and says how much it missed", { timeout: 60_000 }, async () => {
    const page = await openConsole(browser, herald);
    await page.getByRole("button", { name: "Pause" }).click();
    await page.getByText("paused: new entries are dropped by the server").waitFor();
    const sdk = serverSdk(herald.port, DEMO_APP);
    const before = rssKb(herald.process.pid!);
    const payload = { blob: "y".repeat(8000) };
    // In batches of ten (each event its own entry): 200 signed requests instead of 2,000.
    for (let round = 0; round < 40; round++) {
      await Promise.all(Array.from({ length: 5 }, () => sdk.triggerBatch(Array.from({ length: 10 }, (_, i) => ({ channel: `flood-${i % 5}`, name: "flood", data: payload })))));
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
      await Promise.all(Array.from({ length: 20 }, (_, j) => sdk.triggerBatch(Array.from({ length: 10 }, (_, i) => ({ channel: "steady", name: `steady-${round * 200 + j * 10 + i}`, data: {} })))));
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

