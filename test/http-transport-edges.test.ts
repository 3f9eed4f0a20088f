/**
 * The HTTP fallback's edges, over raw HTTP: framing, CORS, bad sends, origins,
 * limits, the graceful stop, --advertise-host and --http-transports false.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pusherClient, serverSdk, subscribed } from "./helpers/clients.js";
import { DEMO_APP, startHerald, type AppConfig, type Herald } from "./helpers/herald.js";
import { freePort } from "./helpers/redis-server.js";
import { ErrorCode } from "../src/protocol/error-codes.js";

const guarded: AppConfig = { id: "guarded", key: "guarded-key", secret: "guarded-secret", allowedOrigins: ["https://app.example.com"] };
const small: AppConfig = { id: "small", key: "small-key", secret: "small-secret", maxConnections: 1 };
let herald: Herald;
let metricsPort: number;
beforeAll(async () => {
  metricsPort = await freePort();
  herald = await startHerald({ apps: [DEMO_APP, guarded, small], args: ["--advertise-host", "node-1.example.com", "--metrics-port", String(metricsPort)] });
});
afterAll(() => herald.stop());

let sessionNumber = 0;
const nextSession = () => `${100 + sessionNumber}/s${String(sessionNumber++).padStart(7, "0")}`;
const base = (port: number, key: string, session: string) => `http://127.0.0.1:${port}/pusher/app/${key}/${session}`;

/** One long-polling receive request: the lines of its answer. */
async function poll(port: number, key: string, session: string, headers: Record<string, string> = {}): Promise<{ status: number; lines: string[]; headers: Headers }> {
  const response = await fetch(`${base(port, key, session)}/xhr?protocol=7&client=js&version=8.4.0`, { method: "POST", headers });
  const text = await response.text();
  return { status: response.status, lines: text.split("\n").filter(Boolean), headers: response.headers };
}

/** The Pusher frames of `a[...]` lines. */
const framesOf = (lines: string[]) =>
  lines.filter((line) => line.startsWith("a")).flatMap((line) => (JSON.parse(line.slice(1)) as string[]).map((frame) => JSON.parse(frame) as { event: string; data: unknown }));

/** A held xhr_streaming request, read a line at a time. */
async function openStream(url: string): Promise<{ line(): Promise<string>; abort(): void }> {
  const controller = new AbortController();
  const response = await fetch(url, { method: "POST", signal: controller.signal });
  const reader = response.body!.getReader();
  let buffered = "";
  return {
    async line() {
      for (;;) {
        const end = buffered.indexOf("\n");
        if (end >= 0) {
          const line = buffered.slice(0, end);
          buffered = buffered.slice(end + 1);
          return line;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error(`the stream ended; unread: ${buffered}`);
        buffered += Buffer.from(value).toString("utf8");
      }
    },
    abort: () => controller.abort(),
  };
}

async function send(port: number, key: string, session: string, body: string): Promise<number> {
  return (await fetch(`${base(port, key, session)}/xhr_send`, { method: "POST", headers: { "Content-Type": "application/json" }, body })).status;
}

describe("the HTTP fallback's edges", () => {
  it("opens with o, pinned to --advertise-host, then connection_established, with CORS and no-cache headers", async () => {
    const session = nextSession();
    const opened = await poll(herald.port, DEMO_APP.key, session, { Origin: "https://anywhere.example" });
    expect(opened.status).toBe(200);
    expect(opened.lines[0]).toBe('o{"hostname":"node-1.example.com"}');
    expect(framesOf(opened.lines)[0]).toMatchObject({ event: "pusher:connection_established" });
    expect(opened.headers.get("access-control-allow-origin")).toBe("https://anywhere.example");
    expect(opened.headers.get("cache-control")).toContain("no-cache");
    const preflight = await fetch(`${base(herald.port, DEMO_APP.key, session)}/xhr_send`, {
      method: "OPTIONS",
      headers: { Origin: "https://anywhere.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-methods")).toContain("POST");
    expect(preflight.headers.get("access-control-allow-headers")).toBe("content-type");
  });

  it("answers sends: 204 with frames handled in order, 400 for a body that is not an array of strings, 404 for an unknown session", async () => {
    const session = nextSession();
    await poll(herald.port, DEMO_APP.key, session);
    const subscribe = JSON.stringify({ event: "pusher:subscribe", data: { channel: "edge-news" } });
    expect(await send(herald.port, DEMO_APP.key, session, JSON.stringify([subscribe, JSON.stringify({ event: "pusher:ping", data: {} })]))).toBe(204);
    const next = await poll(herald.port, DEMO_APP.key, session);
    expect(framesOf(next.lines).map((frame) => frame.event)).toEqual(["pusher_internal:subscription_succeeded", "pusher:pong"]);
    expect(await send(herald.port, DEMO_APP.key, session, '{"event":"pusher:ping"}')).toBe(400);
    expect(await send(herald.port, DEMO_APP.key, session, "[1, 2]")).toBe(400);
    expect(await send(herald.port, DEMO_APP.key, "999/nosuchse", "[]")).toBe(404);
    expect(await send(herald.port, DEMO_APP.key, "../etc", "[]")).toBe(404);
    // A frame the protocol refuses is answered in the session, as on a WebSocket.
    expect(await send(herald.port, DEMO_APP.key, session, JSON.stringify(["{not json"]))).toBe(204);
    expect(framesOf((await poll(herald.port, DEMO_APP.key, session)).lines)).toMatchObject([{ event: "pusher:error", data: { code: ErrorCode.FrameRejected } }]);
  });

  it("refuses an origin outside the app's allowedOrigins with 4009, and an app at its maxConnections with 4004, as c[code,reason]", async () => {
    const refused = await poll(herald.port, guarded.key, nextSession(), { Origin: "https://evil.example" });
    expect(framesOf(refused.lines)).toMatchObject([{ event: "pusher:error", data: { code: 4009 } }]);
    expect(refused.lines.at(-1)).toMatch(/^c\[4009,"Origin not allowed"\]$/);
    const allowed = await poll(herald.port, guarded.key, nextSession(), { Origin: "https://app.example.com" });
    expect(framesOf(allowed.lines)[0]).toMatchObject({ event: "pusher:connection_established" });

    const ws = pusherClient(herald.port, small);
    await subscribed(ws, "fill");
    const full = await poll(herald.port, small.key, nextSession());
    expect(framesOf(full.lines)).toMatchObject([{ event: "pusher:error", data: { code: 4004 } }]);
    expect(full.lines.at(-1)).toMatch(/^c\[4004,/);
    ws.disconnect();
  });

  it("streams: answers the client's empty send with h, and resumes a re-opened stream without a second o", async () => {
    const session = nextSession();
    const url = `${base(herald.port, DEMO_APP.key, session)}/xhr_streaming?protocol=7&client=js&version=8.4.0`;
    const first = await openStream(url);
    expect(await first.line()).toBe('o{"hostname":"node-1.example.com"}');
    expect(framesOf([await first.line()])[0]).toMatchObject({ event: "pusher:connection_established" });
    expect(await send(herald.port, DEMO_APP.key, session, "[]")).toBe(204);
    expect(await first.line()).toBe("h");
    // pusher-js answers each h with an empty send: answering that again would ping-pong for ever.
    expect(await send(herald.port, DEMO_APP.key, session, "[]")).toBe(204);
    expect(await send(herald.port, DEMO_APP.key, session, JSON.stringify([JSON.stringify({ event: "pusher:ping", data: {} })]))).toBe(204);
    expect(framesOf([await first.line()])).toMatchObject([{ event: "pusher:pong" }]);
    expect(await send(herald.port, DEMO_APP.key, session, JSON.stringify([JSON.stringify({ event: "pusher:subscribe", data: { channel: "edge-stream" } })]))).toBe(204);
    expect(framesOf([await first.line()])[0]).toMatchObject({ event: "pusher_internal:subscription_succeeded" });
    // pusher-js aborts and re-opens its stream after 256 KB: the same session goes on.
    first.abort();
    const second = await openStream(url);
    expect(await second.line()).toBe("h"); // open, and no second o
    await serverSdk(herald.port, DEMO_APP).trigger("edge-stream", "after", {});
    expect(framesOf([await second.line()])).toMatchObject([{ event: "after", channel: "edge-stream" }]);
    second.abort();
  });

  it("is served under --path-prefix and --http-transport-path", async () => {
    const server = await startHerald({ args: ["--path-prefix", "/ws", "--http-transport-path", "/fallback"] });
    const client = pusherClient(server.port, DEMO_APP, { transport: "xhr_polling", httpPath: "/ws/fallback" });
    await subscribed(client, "prefixed");
    client.disconnect();
    const at = (path: string) => fetch(`http://127.0.0.1:${server.port}${path}/app/${DEMO_APP.key}/${nextSession()}/xhr`, { method: "POST" });
    expect((await at("/ws/fallback")).status).toBe(200);
    expect((await at("/pusher")).status).toBe(404);
    await server.stop();
  });

  it("counts sessions by transport in /metrics", async () => {
    const session = nextSession();
    await poll(herald.port, DEMO_APP.key, session);
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(Number(/^herald_http_sessions\{app="app-id",transport="xhr_polling"\} (\d+)$/m.exec(text)?.[1])).toBeGreaterThanOrEqual(1);
    expect(Number(/^herald_http_sessions_opened_total\{app="app-id",transport="xhr_polling"\} (\d+)$/m.exec(text)?.[1])).toBeGreaterThanOrEqual(1);
  });
});

describe("the HTTP fallback and the process", () => {
  it("closes sessions with 4200 on a graceful stop", async () => {
    const server = await startHerald();
    const session = nextSession();
    await poll(server.port, DEMO_APP.key, session);
    // Held or arriving after the stop began, the next poll gets the close.
    const held = poll(server.port, DEMO_APP.key, session);
    const stopped = server.stop();
    const answer = await held;
    expect(answer.lines.at(-1)).toMatch(/^c\[4200,/);
    await stopped;
  });

  it("closes a session whose queue passes --max-backpressure-kb with 4100, and counts it", async () => {
    const server = await startHerald({ args: ["--max-backpressure-kb", "16"] });
    const session = nextSession();
    await poll(server.port, DEMO_APP.key, session);
    expect(await send(server.port, DEMO_APP.key, session, JSON.stringify([JSON.stringify({ event: "pusher:subscribe", data: { channel: "firehose" } })]))).toBe(204);
    // Nobody polls: three 9 KB events pass the 16 KB queue. On worker threads they reach the
    // session's thread after the publishes are answered: the session is gone (404) once they have.
    for (let n = 0; n < 3; n++) await serverSdk(server.port, DEMO_APP).trigger("firehose", "chunk", { blob: "z".repeat(9000) });
    await expect.poll(() => send(server.port, DEMO_APP.key, session, "[]")).toBe(404);
    const answer = await poll(server.port, DEMO_APP.key, session);
    expect(answer.lines.at(-1)).toMatch(/^c\[4100,"Too slow/);
    await server.stop();
  });

  it("serves nothing with --http-transports false", async () => {
    const server = await startHerald({ args: ["--http-transports", "false"] });
    expect((await poll(server.port, DEMO_APP.key, nextSession())).status).toBe(404);
    await server.stop();
  });
});
