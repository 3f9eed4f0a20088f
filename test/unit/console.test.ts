import { describe, expect, it } from "vitest";
import { consoleAccess, isLoopback } from "../../src/console/access.js";
import { closeMeaning, payloadFields, PAYLOAD_PREVIEW_CHARS } from "../../src/console/entries.js";
import { FeedValve } from "../../src/console/feed-valve.js";
import { StatsHistory, SAMPLES_KEPT, type AppTotals } from "../../src/console/stats.js";
import { ConsoleTap, REMOTE_WATCH_MS, type ConsoleRelay } from "../../src/console/tap.js";

function recordingRelay() {
  const published: Array<[string, string]> = [];
  const announced: string[][] = [];
  const relay: ConsoleRelay = { publish: (appId, json) => void published.push([appId, json]), announce: (appIds) => void announced.push([...appIds]) };
  return { relay, published, announced };
}

describe("the console tap", () => {
  it("watches nothing until a console comes, and stops when the last one goes", () => {
    const tap = new ConsoleTap("7");
    const seen: string[] = [];
    const console = { deliver: (json: string) => void seen.push(json) };
    expect(tap.watching("a")).toBe(false);
    tap.add("a", console);
    expect(tap.watching("a")).toBe(true);
    expect(tap.watching("b")).toBe(false);
    tap.emit("a", { type: "subscribed", channel: "news", socketId: "1.2" });
    expect(JSON.parse(seen[0]!)).toMatchObject({ type: "subscribed", channel: "news", socketId: "1.2", appId: "a", node: "7", time: expect.any(Number) });
    tap.remove("a", console);
    expect(tap.watching("a")).toBe(false);
  });

  it("sends entries to other nodes only for apps they watch, and forgets a watch that is not repeated", () => {
    const tap = new ConsoleTap("1");
    const { relay, published, announced } = recordingRelay();
    tap.start(relay);
    tap.emit("a", { type: "signin", userId: "u" });
    expect(published).toEqual([]);
    tap.watchedElsewhere(["a"], 1000);
    expect(tap.watching("a")).toBe(true);
    tap.emit("a", { type: "signin", userId: "u" });
    expect(published.map(([appId]) => appId)).toEqual(["a"]);
    tap.tick(1000 + REMOTE_WATCH_MS - 1);
    expect(tap.watching("a")).toBe(true);
    tap.tick(1000 + REMOTE_WATCH_MS + 1);
    expect(tap.watching("a")).toBe(false);
    tap.add("b", { deliver: () => {} });
    tap.tick(5000);
    expect(announced).toEqual([["b"], ["b"]]);
    tap.stop();
  });

  it("hands entries from other nodes to this node's consoles of that app only", () => {
    const tap = new ConsoleTap("1");
    const a: string[] = [];
    const b: string[] = [];
    tap.add("a", { deliver: (json) => void a.push(json) });
    tap.add("b", { deliver: (json) => void b.push(json) });
    tap.received("a", '{"type":"signin"}');
    expect(a).toEqual(['{"type":"signin"}']);
    expect(b).toEqual([]);
  });
});

describe("a console's valve", () => {
  function output(buffered: { bytes: number }) {
    const sent: string[] = [];
    return { sent, output: { open: () => true, bufferedBytes: () => buffered.bytes, send: (text: string) => void sent.push(text) } };
  }

  it("passes entries while the console keeps up, and drops and counts them past the cap", () => {
    const buffered = { bytes: 0 };
    const { sent, output: out } = output(buffered);
    const valve = new FeedValve(out, 1000);
    valve.deliver("a");
    buffered.bytes = 1001;
    for (let i = 0; i < 10_000; i++) valve.deliver("x".repeat(100));
    expect(sent).toEqual(["a"]);
    expect(valve.dropped).toBe(10_000);
    buffered.bytes = 0;
    valve.deliver("b");
    expect(sent).toEqual(["a", "b"]);
  });

  it("drops everything while paused", () => {
    const { sent, output: out } = output({ bytes: 0 });
    const valve = new FeedValve(out, 1000);
    valve.paused = true;
    valve.deliver("a");
    expect(sent).toEqual([]);
    expect(valve.dropped).toBe(1);
  });
});

describe("console access", () => {
  const local = { remoteAddress: "127.0.0.1", authorization: "", proxied: false };
  it("without a token, lets this machine in and no one else", () => {
    expect(consoleAccess(undefined, local)).toEqual({ ok: true });
    expect(consoleAccess(undefined, { ...local, remoteAddress: "0000:0000:0000:0000:0000:0000:0000:0001" })).toEqual({ ok: true });
    expect(consoleAccess(undefined, { ...local, remoteAddress: "10.0.0.5" })).toMatchObject({ ok: false, status: 403, message: expect.stringContaining("--console-token") });
    expect(consoleAccess(undefined, { ...local, proxied: true })).toMatchObject({ ok: false, status: 403 });
  });

  it("with a token, wants it as a Bearer from everyone", () => {
    expect(consoleAccess("t0k", { ...local, remoteAddress: "10.0.0.5", authorization: "Bearer t0k" })).toEqual({ ok: true });
    expect(consoleAccess("t0k", { ...local, authorization: "Bearer t0K" })).toMatchObject({ ok: false, status: 401 });
    expect(consoleAccess("t0k", { ...local, authorization: "t0k" })).toMatchObject({ ok: false, status: 401 });
    expect(consoleAccess("t0k", local)).toMatchObject({ ok: false, status: 401 });
  });

  it.each([
    ["127.0.0.1", true],
    ["127.8.9.10", true],
    ["::1", true],
    ["0000:0000:0000:0000:0000:0000:0000:0001", true],
    ["::ffff:127.0.0.1", true],
    ["0000:0000:0000:0000:0000:ffff:7f00:0001", true],
    ["10.1.2.3", false],
    ["::ffff:10.1.2.3", false],
    ["fe80::1", false],
    ["128.0.0.1", false],
    ["", false],
  ])("reads %s as loopback: %s", (address, loopback) => {
    expect(isLoopback(address)).toBe(loopback);
  });
});

describe("console entries", () => {
  it("cut payloads to a preview and keep their full size", () => {
    expect(payloadFields("é".repeat(5000))).toEqual({ payload: "é".repeat(PAYLOAD_PREVIEW_CHARS), payloadBytes: 10_000 });
    expect(payloadFields("{}")).toEqual({ payload: "{}", payloadBytes: 2 });
  });

  it("say what a close code means", () => {
    expect(closeMeaning(4201)).toContain("ping");
    expect(closeMeaning(4999)).toBe("closed by the application");
  });
});

describe("console stats", () => {
  it("turn totals into rates per second and keep 15 minutes", () => {
    let totals: AppTotals = { connections: 1, messagesReceived: 0, messagesSent: 0, apiRequests: 0, webhookQueue: 0 };
    const stats = new StatsHistory(() => ["a"], () => totals);
    stats.sample(0);
    totals = { connections: 3, messagesReceived: 50, messagesSent: 500, apiRequests: 5, webhookQueue: 2 };
    stats.sample(5000);
    expect(stats.of("a")).toEqual([{ time: 5000, connections: 3, messagesInPerSecond: 10, messagesOutPerSecond: 100, apiRequestsPerSecond: 1, webhookQueue: 2 }]);
    for (let i = 2; i < SAMPLES_KEPT + 10; i++) stats.sample(i * 5000);
    expect(stats.of("a")).toHaveLength(SAMPLES_KEPT);
  });
});
