import { describe, expect, it } from "vitest";
import { decodeFromThreads, encodeForThreads } from "../../src/cluster/thread-wire.js";
import { decodeWireMessage, encodeChannelMessage, encodeTerminateUser } from "../../src/cluster/wire.js";

describe("the envelope nodes send each other", () => {
  it("carries a channel message with or without an excluded socket, the frame untouched", () => {
    const frame = '{"event":"a\\nb","channel":"news","data":"{\\"x\\":\\"line\\nbreak\\"}"}';
    expect(decodeWireMessage(encodeChannelMessage("7", { appId: "ignored", channel: "news", frame, exceptSocketId: "1.2" }))).toEqual({
      kind: "channel", origin: "7", channel: "news", exceptSocketId: "1.2", frame,
    });
    expect(decodeWireMessage(encodeChannelMessage("7", { appId: "ignored", channel: "news", frame }))).toMatchObject({ exceptSocketId: undefined, frame });
  });

  it("carries a user to terminate, whatever the id holds", () => {
    expect(decodeWireMessage(encodeTerminateUser("3", "odd\nid"))).toEqual({ kind: "terminate-user", origin: "3", userId: "odd\nid" });
  });

  it.each(["", "m", "m\n7", "m\n7\nnews", "x\n7\nnews\n\n{}"])("ignores %j", (text) => {
    expect(decodeWireMessage(text)).toBeNull();
  });
});

describe("a channel message as it crosses threads", () => {
  it.each([
    { appId: "1", channel: "news", frame: '{"event":"a","channel":"news","data":"{}"}', exceptSocketId: "1.2" },
    // An app id may hold anything, a newline and digits first among them; a frame, newlines.
    { appId: "12\nodd 3", channel: "private-x", frame: '{"event":"a\nb","data":"line\nbreak"}', exceptSocketId: undefined },
    { appId: "", channel: "c", frame: "", exceptSocketId: undefined },
  ])("arrives as it was sent: app $appId", (message) => {
    expect(decodeFromThreads(encodeForThreads(message))).toEqual(message);
  });
});
