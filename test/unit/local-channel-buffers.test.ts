/** The single process's vacant-channel buffers: bounds, expiry and what each drop is reported as. */
import { describe, expect, it } from "vitest";
import { parseApps } from "../../src/apps/apps-file.js";
import { ChannelDirectory } from "../../src/channels/channel-directory.js";
import { LocalChannelBuffers } from "../../src/cluster/local-channel-buffers.js";
import { MAX_BUFFERED_CHANNELS_PER_APP } from "../../src/cluster/cluster.js";

const [app, other] = parseApps({ apps: [{ id: "a", key: "ka", secret: "s" }, { id: "b", key: "kb", secret: "s" }] }, "a unit test").apps as [
  ReturnType<typeof parseApps>["apps"][number],
  ReturnType<typeof parseApps>["apps"][number],
];
const rule = { channelPrefix: "", ttlSeconds: 60, maxEvents: 5 };

function buffers(maxBytes = 1024 * 1024) {
  let now = 1_000_000;
  const dropped: string[] = [];
  const channels = new ChannelDirectory();
  const store = new LocalChannelBuffers((appId, channel) => channels.forApp(appId).subscriptionCount(channel) > 0, (appId, reason, count) => dropped.push(`${reason} ${appId} ${count}`), maxBytes, () => now);
  return { store, channels, dropped, advance: (ms: number) => (now += ms) };
}

describe("a single process's vacant-channel buffers", () => {
  it("keep for vacant channels only, per app, and hand everything over once", () => {
    const { store, channels, dropped } = buffers();
    channels.forApp(app.id).subscribe("busy");
    expect(store.keepIfVacant(app, "busy", rule, "x")).toBe(false);
    expect(store.keepIfVacant(app, "quiet", rule, "one")).toBe(true);
    expect(store.keepIfVacant(app, "quiet", rule, "two")).toBe(true);
    expect(store.claim(other, "quiet")).toEqual([]);
    expect(store.claim(app, "quiet")).toEqual(["one", "two"]);
    expect(store.claim(app, "quiet")).toEqual([]);
    expect(dropped).toEqual([]);
    store.stop();
  });

  it("drop the oldest past maxEvents, and expired events when found or swept", async () => {
    const { store, dropped, advance } = buffers();
    for (let n = 0; n < 7; n++) store.keepIfVacant(app, "c", rule, `e${n}`);
    expect(dropped).toEqual(["max_events a 1", "max_events a 1"]);
    expect(await store.waiting(app.id, "c")).toBe(5);
    advance(59_000);
    store.keepIfVacant(app, "c", { ...rule, ttlSeconds: 10 }, "late"); // over maxEvents again: e2 goes
    advance(1_500);
    expect(store.claim(app, "c")).toEqual(["late"]);
    expect(dropped).toEqual(["max_events a 1", "max_events a 1", "max_events a 1", "expired a 4"]);
    store.keepIfVacant(app, "d", rule, "forgotten");
    advance(61_000);
    store.sweep();
    expect(dropped).toContain("expired a 1");
    expect(await store.waiting(app.id, "d")).toBe(0);
    store.stop();
  });

  it("hold at most the channel cap per app, dropping the least recently written buffer", () => {
    const { store, dropped } = buffers(1024 * 1024 * 1024);
    for (let n = 0; n < MAX_BUFFERED_CHANNELS_PER_APP; n++) store.keepIfVacant(app, `ch-${n}`, rule, "e");
    store.keepIfVacant(app, "ch-0", rule, "again"); // ch-0 is now the most recently written
    store.keepIfVacant(app, "one-more", rule, "e");
    expect(dropped).toEqual(["channel_cap a 1"]);
    expect(store.claim(app, "ch-1")).toEqual([]);
    expect(store.claim(app, "ch-0")).toEqual(["e", "again"]);
    store.stop();
  });

  it("stay within the process's byte budget, dropping the least recently written buffer of any app", () => {
    const frame = "x".repeat(1000);
    const { store, dropped } = buffers(10_000);
    for (let n = 0; n < 4; n++) store.keepIfVacant(app, "first", rule, frame);
    for (let n = 0; n < 4; n++) store.keepIfVacant(other, "second", rule, frame);
    expect(dropped).toEqual(["memory a 4"]);
    expect(store.claim(app, "first")).toEqual([]);
    expect(store.claim(other, "second")).toHaveLength(4);
    store.stop();
  });
});
