import { describe, expect, it } from "vitest";
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
