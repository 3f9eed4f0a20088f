import { describe, expect, it } from "vitest";
import { ChannelDirectory } from "../../src/channels/channel-directory.js";
import type { Broker, ChannelBuffers, ChannelMessage } from "../../src/cluster/cluster.js";
import { NodeCounters } from "../../src/metrics/counters.js";
import { VacantChannels } from "../../src/server/vacant-channels.js";

describe("a presence join's hold on its channel's frames", () => {
  it("lets the channel's frames go in order once answered, but the joining user's own member_removed from before", () => {
    const vacant = new VacantChannels({
      channels: new ChannelDirectory(),
      counters: new NodeCounters(),
      store: () => ({}) as ChannelBuffers,
      broker: () => ({}) as Broker,
    });
    const delivered: string[] = [];
    const fanout = vacant.holdingFanout((message) => delivered.push(message.frame));
    const frame = (channel: string, text: string): ChannelMessage => ({ appId: "a", channel, frame: text });
    const release = vacant.holdFrames("a", "presence-room", "removed u1");
    fanout(frame("presence-room", "added u2"));
    fanout(frame("presence-room", "removed u1"));
    fanout(frame("other", "elsewhere"));
    fanout(frame("presence-room", "event"));
    expect(delivered).toEqual(["elsewhere"]);
    release();
    release(); // once only
    expect(delivered).toEqual(["elsewhere", "added u2", "event"]);
    // After the join, the user's departure is news again.
    fanout(frame("presence-room", "removed u1"));
    expect(delivered.at(-1)).toBe("removed u1");
  });
});
