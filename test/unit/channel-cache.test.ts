import { describe, expect, it } from "vitest";
import { CACHE_TTL_MS, ChannelCache, MAX_CACHED_CHANNELS_PER_APP } from "../../src/channels/channel-cache.js";
import { isCacheChannel } from "../../src/protocol/channel-names.js";

describe("ChannelCache", () => {
  it("keeps the last event for 30 minutes", () => {
    const cache = new ChannelCache();
    cache.set("cache-a", "e1", "1", "frame1", 0);
    cache.set("cache-a", "e2", "2", "frame2", 1000);
    expect(cache.get("cache-a", 1000 + CACHE_TTL_MS - 1)).toMatchObject({ event: "e2", frame: "frame2" });
    expect(cache.get("cache-a", 1000 + CACHE_TTL_MS)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it("sweeps expired entries nobody reads", () => {
    const cache = new ChannelCache();
    cache.set("cache-old", "e", "d", "f", 0);
    cache.set("cache-new", "e", "d", "f", CACHE_TTL_MS);
    cache.sweep(CACHE_TTL_MS + 1);
    expect(cache.size).toBe(1);
  });

  it("drops the oldest written entry past the cap", () => {
    const cache = new ChannelCache();
    for (let i = 0; i < MAX_CACHED_CHANNELS_PER_APP; i++) cache.set(`cache-${i}`, "e", "d", "f", 0);
    cache.set("cache-0", "e", "d", "f", 1); // rewritten: now the newest
    cache.set("cache-extra", "e", "d", "f", 2);
    expect(cache.size).toBe(MAX_CACHED_CHANNELS_PER_APP);
    expect(cache.get("cache-0", 3)).toBeDefined();
    expect(cache.get("cache-1", 3)).toBeUndefined();
  });
});

describe("isCacheChannel", () => {
  it.each([
    ["cache-x", true],
    ["private-cache-x", true],
    ["presence-cache-x", true],
    ["private-encrypted-cache-x", true],
    ["cache", false],
    ["my-cache-x", false],
    ["private-x", false],
  ])("%s → %s", (name, expected) => expect(isCacheChannel(name)).toBe(expected));
});
