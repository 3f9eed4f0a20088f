/**
 * A page in Debian's chromium, behind a proxy that refuses WebSocket upgrades (as
 * some corporate proxies do): pusher-js under Echo falls back to HTTP on its own,
 * and the page gets events and whispers.
 */
import { readFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import type { BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newBrowserContext } from "./helpers/browser.js";
import { nextCall, pusherClient, serverSdk, subscribed } from "./helpers/clients.js";
import { DEMO_APP, startHerald, type Herald } from "./helpers/herald.js";

const modules = resolve(import.meta.dirname, "../node_modules");
const PUSHER_JS = readFileSync(`${modules}/pusher-js/dist/web/pusher.js`);
const ECHO_JS = readFileSync(`${modules}/laravel-echo/dist/echo.iife.js`);

/** The app's page: Echo with the fallback allowed, as the README shows it. */
const page = (port: number) => `<!doctype html><meta charset="utf-8"><title>fallback</title>
<script src="/pusher.js"></script><script src="/echo.js"></script>
<script>
  window.heard = [];
  window.echo = new Echo.default({
    broadcaster: "pusher", key: "${DEMO_APP.key}", cluster: "mt1",
    wsHost: "127.0.0.1", wsPort: ${port}, forceTLS: false, disableStats: true,
    enabledTransports: ["ws", "xhr_streaming", "xhr_polling"],
    httpHost: "127.0.0.1", httpPort: ${port}, httpPath: "/pusher",
  });
  echo.channel("fallback-news").listen(".headline", (data) => heard.push("headline:" + data.title));
  window.chat = echo.private("fallback-chat").listenForWhisper("typing", (data) => heard.push("whisper:" + data.name));
</script>`;

let herald: Herald;
let proxy: Server;
let proxyPort: number;
let browser: BrowserContext;

beforeAll(async () => {
  herald = await startHerald();
  // Serves the page and the app's /broadcasting/auth, forwards everything else to
  // Herald unbuffered, and refuses every WebSocket upgrade.
  proxy = createServer((req, res) => {
    if (req.url === "/") return void res.writeHead(200, { "Content-Type": "text/html" }).end(page(proxyPort));
    if (req.url === "/pusher.js" || req.url === "/echo.js") {
      return void res.writeHead(200, { "Content-Type": "text/javascript" }).end(req.url === "/echo.js" ? ECHO_JS : PUSHER_JS);
    }
    if (req.url === "/broadcasting/auth") {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString()));
      req.on("end", () => {
        const form = new URLSearchParams(body);
        const auth = serverSdk(herald.port, DEMO_APP).authorizeChannel(form.get("socket_id")!, form.get("channel_name")!);
        res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(auth));
      });
      return;
    }
    const upstream = request({ host: "127.0.0.1", port: herald.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  proxy.on("upgrade", (_req, socket) => socket.end("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"));
  await new Promise<void>((listening) => proxy.listen(0, "127.0.0.1", listening));
  proxyPort = (proxy.address() as AddressInfo).port;
  browser = await newBrowserContext();
});

afterAll(async () => {
  await browser?.close();
  proxy?.closeAllConnections();
  proxy?.close();
  await herald?.stop();
});

describe("a page whose WebSocket is refused by a proxy", () => {
  it("falls back to HTTP on its own, and gets events and whispers", { timeout: 60_000 }, async () => {
    const tab = await browser.newPage();
    await tab.goto(`http://127.0.0.1:${proxyPort}/`);
    // pusher-js starts the HTTP fallback 5 s after the WebSocket attempt without TLS.
    await tab.waitForFunction(() => (window as unknown as { echo: { connector: { pusher: { connection: { state: string } } } } }).echo.connector.pusher.connection.state === "connected", undefined, { timeout: 30_000 });
    const transport = await tab.evaluate(() => (window as unknown as { echo: { connector: { pusher: { connection: { connection: { transport: { name: string } } } } } } }).echo.connector.pusher.connection.connection.transport.name);
    expect(["xhr_streaming", "xhr_polling"]).toContain(transport);
    await tab.waitForFunction(() => {
      const channels = (window as unknown as { echo: { connector: { pusher: { channel(name: string): { subscribed: boolean } | undefined } } } }).echo.connector.pusher;
      return channels.channel("fallback-news")?.subscribed === true && channels.channel("private-fallback-chat")?.subscribed === true;
    });

    await serverSdk(herald.port, DEMO_APP).trigger("fallback-news", "headline", { title: "over HTTP" });
    // A colleague on a WebSocket whispers to the page, and hears the page whisper back.
    const colleague = pusherClient(herald.port, DEMO_APP);
    await subscribed(colleague, "private-fallback-chat");
    const back = nextCall<{ name: string }>(10_000);
    colleague.channel("private-fallback-chat").bind("client-typing", back.callback);
    colleague.channel("private-fallback-chat").trigger("client-typing", { name: "Colleague" });
    await tab.waitForFunction(() => (window as unknown as { heard: string[] }).heard.length >= 2, undefined, { timeout: 10_000 });
    expect((await tab.evaluate(() => (window as unknown as { heard: string[] }).heard)).sort()).toEqual(["headline:over HTTP", "whisper:Colleague"]);
    await tab.evaluate(() => (window as unknown as { chat: { whisper(event: string, data: unknown): void } }).chat.whisper("typing", { name: "Page" }));
    expect(await back.promise).toEqual({ name: "Page" });
    colleague.disconnect();
    await tab.close();
  });
});
