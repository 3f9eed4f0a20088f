import { describe, expect, it } from "vitest";
import { readEvent } from "../../src/protocol/http-events.js";

const limits = { maxChannelNameLength: 20, maxEventChannelsAtOnce: 2, maxEventNameLength: 30, maxEventPayloadInKb: 1 };
const good = { name: "App\\Events\\OrderShipped", data: "{}", channels: ["orders"] };

describe("readEvent", () => {
  it("accepts Laravel class names as event names and one channel or many", () => {
    expect(readEvent(good, limits)).toEqual({ ok: true, event: { ...good, socketId: undefined, info: new Set() } });
    expect(readEvent({ name: "a.b", data: "x", channel: "c", socket_id: "1.2", info: "user_count, subscription_count" }, limits)).toEqual({
      ok: true,
      event: { name: "a.b", data: "x", channels: ["c"], socketId: "1.2", info: new Set(["user_count", "subscription_count"]) },
    });
  });

  it.each([
    [null, 400, "JSON object"],
    [{ ...good, name: "" }, 400, '"name"'],
    [{ ...good, name: "x".repeat(31) }, 400, "event name is 31"],
    [{ ...good, data: { a: 1 } }, 400, '"data" must be a string'],
    [{ ...good, data: "x".repeat(1025) }, 413, "1025 bytes"],
    [{ name: "e", data: "" }, 400, '"channels"'],
    [{ ...good, channels: [] }, 400, '"channels"'],
    [{ ...good, channels: ["a", "b", "c"] }, 400, "3 channels"],
    [{ ...good, channels: [5] }, 400, "must be a string"],
    [{ ...good, channels: ["bad name"] }, 400, "characters outside"],
    [{ ...good, channels: ["x".repeat(21)] }, 400, "21 characters"],
    [{ ...good, socket_id: "abc" }, 400, "socket_id"],
    [{ ...good, info: ["user_count"] }, 400, '"info"'],
  ])("rejects %j with %i", (body, status, message) => {
    const result = readEvent(body, limits);
    expect(result).toMatchObject({ ok: false, status, message: expect.stringContaining(message) });
  });
});
