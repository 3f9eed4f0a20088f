import { describe, expect, it } from "vitest";
import { parseChannelData, parseClientFrame } from "../../src/protocol/client-frames.js";

describe("parseClientFrame", () => {
  it.each([
    ["not json", "not valid JSON"],
    ["[]", "JSON object"],
    ["null", "JSON object"],
    ["42", "JSON object"],
    ['{"data":{}}', "no \"event\""],
    ['{"event":7}', "no \"event\""],
    ['{"event":"pusher:subscribe"}', "pusher:subscribe needs data"],
    ['{"event":"pusher:subscribe","data":{}}', "\"channel\" string"],
    ['{"event":"pusher:subscribe","data":{"channel":5}}', "\"channel\" string"],
    ['{"event":"pusher:subscribe","data":{"channel":"a","auth":5}}', "\"auth\""],
    ['{"event":"pusher:subscribe","data":{"channel":"a","channel_data":{}}}', "channel_data"],
    ['{"event":"pusher:unsubscribe","data":{}}', "pusher:unsubscribe"],
    ['{"event":"client-x","data":{}}', "\"channel\" string"],
    ['{"event":"something"}', "Unknown event"],
  ])("rejects %s", (text, message) => {
    const parsed = parseClientFrame(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message).toContain(message);
  });

  it("reads subscribe with data as an object or a JSON string", () => {
    const frame = { kind: "subscribe", channel: "private-a", auth: "k:s", channelData: undefined };
    expect(parseClientFrame('{"event":"pusher:subscribe","data":{"channel":"private-a","auth":"k:s"}}')).toEqual({ ok: true, frame });
    expect(parseClientFrame(JSON.stringify({ event: "pusher:subscribe", data: JSON.stringify({ channel: "private-a", auth: "k:s" }) }))).toEqual({
      ok: true,
      frame,
    });
  });

  it("reads a null channel_data as none, as pusher-js does with an auth answer that holds one", () => {
    expect(parseClientFrame('{"event":"pusher:subscribe","data":{"channel":"private-a","auth":"k:s","channel_data":null}}')).toEqual({
      ok: true,
      frame: { kind: "subscribe", channel: "private-a", auth: "k:s", channelData: undefined },
    });
  });

  it("defaults auth to empty for public channels", () => {
    expect(parseClientFrame('{"event":"pusher:subscribe","data":{"channel":"news"}}')).toMatchObject({ ok: true, frame: { auth: "" } });
  });

  it("reads client events with any data", () => {
    expect(parseClientFrame('{"event":"client-typing","channel":"private-a","data":{"x":1}}')).toEqual({
      ok: true,
      frame: { kind: "client-event", event: "client-typing", channel: "private-a", data: { x: 1 } },
    });
  });
});

describe("parseChannelData", () => {
  it("accepts string and numeric user ids", () => {
    expect(parseChannelData('{"user_id":"7","user_info":{"name":"Ada"}}')).toEqual({ ok: true, member: { userId: "7", userInfo: { name: "Ada" } } });
    expect(parseChannelData('{"user_id":7}')).toEqual({ ok: true, member: { userId: "7", userInfo: undefined } });
  });

  it.each(["nope", "[]", "{}", '{"user_id":""}', '{"user_id":true}', JSON.stringify({ user_id: "x".repeat(129) })])("rejects %s", (text) => {
    expect(parseChannelData(text).ok).toBe(false);
  });
});
